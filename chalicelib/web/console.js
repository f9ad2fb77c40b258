/* The staff console: a unit's open cases by nearest deadline with a live countdown, a case page
   with its clocks, history and the actions the signed-in user may take now (the service says
   which, the OpenAPI document says what each needs; console-texts.js says what people call them),
   the unit's daily register with its CSV, and the unit's trends as charts. Every time is shown in
   the case's unit's time zone with its offset (times.js), every text in the chosen language. */
"use strict";
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("token");
let user = null;
let apiDoc = null;
let units = {};  // unit_id → unit (name, time_zone)
let signIn = {};
let current = null;  // the case on the case page
const TREND_WEEKS = 8;

const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const consoleUrl = () => location.origin + location.pathname;

async function startSignIn() {  // Cognito's hosted page: authorization code with PKCE
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem("pkce", JSON.stringify({ verifier, state }));
  const url = new URL(signIn.authorize_url);
  url.search = new URLSearchParams({ response_type: "code", client_id: signIn.client_id, redirect_uri: consoleUrl(),
    scope: "openid profile email", code_challenge_method: "S256", code_challenge: challenge, state }).toString();
  location.assign(url.toString());
}

async function finishSignIn() {  // back from the hosted page with ?code=…&state=…
  const params = new URLSearchParams(location.search);
  if (!params.has("code") || !signIn.token_url) return;
  const saved = JSON.parse(sessionStorage.getItem("pkce") || "null");
  sessionStorage.removeItem("pkce");
  history.replaceState(null, "", location.pathname);
  if (!saved || saved.state !== params.get("state")) { $("signin-error").textContent = t("signin_not_started"); return; }
  const answer = await fetch(signIn.token_url, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", client_id: signIn.client_id, code: params.get("code"),
      redirect_uri: consoleUrl(), code_verifier: saved.verifier }).toString() });
  const tokens = await answer.json().catch(() => ({}));
  if (!answer.ok || !tokens.id_token) { $("signin-error").textContent = t("signin_failed"); return; }
  token = tokens.id_token;
  sessionStorage.setItem("token", token);
}

function claims(jwt) {
  try { return JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))); } catch { return null; }
}

async function api(path, options = {}) {
  let answer;
  try {
    answer = await fetch(path, { ...options, headers: { ...(options.headers || {}), Authorization: `Bearer ${token}` } });
  } catch {
    return { status: 0, body: { error: "network" }, etag: null, text: "" };
  }
  if (answer.status === 401) { signOut(); throw new Error("signed out"); }
  const text = await answer.text();
  let body = {};
  try { body = JSON.parse(text); } catch { body = {}; }
  return { status: answer.status, body, etag: answer.headers.get("ETag"), text };
}

function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

// The service's names in the reader's language (the raw name when there is no translation).
function named(prefix, value) {
  if (value === null || value === undefined || value === "") return t("optional_none");
  for (const key of [`${prefix}_${value}`, `${prefix}_${String(value).replace(/-/g, "_")}`]) {
    if (key in TEXTS.en) return t(key);
  }
  return String(value);
}
const actionName = (action) => named("action", action);
const zoneOf = (unitId) => (units[unitId] || {}).time_zone;

function errorText(status, body) {
  /* A person's sentence for a failed call in the chosen language. The service explains in English
     (which field, which status): shown as it is in English, after the sentence in Chinese. */
  if (status === 0) return t("err_network");
  const code = body && body.error;
  const known = code && `err_${code}` in TEXTS.en ? t(`err_${code}`) : t("err_generic", { status });
  const detail = body && body.message;
  if (!detail) return known;
  return lang === "zh" ? `${known}(${t("service_says")}${detail})` : detail;
}

function showTime(text, unitId) { return timeNode(text, zoneOf(unitId), lang); }

function countdownCell(deadline, attrs = {}) {
  const cell = el("td", null, attrs);
  cell.dataset.deadline = deadline || "";
  fillCountdown(cell);
  return cell;
}

function fillCountdown(cell) {
  if (!cell.dataset.deadline) { cell.textContent = t("optional_none"); return; }
  const left = countdown(cell.dataset.deadline, lang);
  if (!left) { cell.replaceChildren(unreadable(cell.dataset.deadline, lang)); return; }
  cell.textContent = left.text;
  cell.classList.toggle("overdue", left.overdue);
}

function tick() {  // the live countdown
  document.querySelectorAll("[data-deadline]").forEach(fillCountdown);
}

function nearest(c) {
  const running = Object.entries(c.deadlines || {}).filter(([, d]) => !d.stopped_at)
    .map(([name, d]) => [name, d, parseInstant(d.deadline)])
    .sort((a, b) => (a[2] ? a[2].date : Infinity) - (b[2] ? b[2].date : Infinity));
  return running[0] || null;
}

function signOut() {
  sessionStorage.removeItem("token");
  token = null;
  if (signIn.logout_url) {
    location.assign(`${signIn.logout_url}?${new URLSearchParams({ client_id: signIn.client_id, logout_uri: consoleUrl() })}`);
    return;
  }
  show();
}

function showWho() {
  const roles = user ? (user["cognito:groups"] || []).map((r) => named("role", r)).join(", ") : "";
  const unit = user && units[user["custom:unit_id"]];
  $("who").textContent = user ? `${user.name} · ${roles} · ${unit ? unit.name : user["custom:unit_id"]}` : "";
}

async function show() {
  user = token ? claims(token) : null;
  $("signin").hidden = !!user;
  $("hosted-signin").hidden = !signIn.authorize_url;
  $("app").hidden = !user;
  showWho();
  if (!user) { $("token").focus(); return; }
  if (!$("unit").options.length) await loadUnits();
  route();
}

async function loadUnits() {
  const { status, body } = await api("units");
  if (status !== 200) return;
  units = Object.fromEntries(body.items.map((u) => [u.unit_id, u]));
  showWho();
  for (const unit of body.items) $("unit").appendChild(el("option", `${unit.name} (${unit.unit_id})`, { value: unit.unit_id }));
  $("unit").value = user["custom:unit_id"];
}

function route() {
  const hash = location.hash;
  const view = hash.startsWith("#case/") ? "case" : hash === "#register" ? "register" : hash === "#reports" ? "reports"
    : hash === "#inbox" ? "inbox" : hash === "#new" ? "new" : "cases";
  $("cases-view").hidden = view !== "cases";
  $("case-view").hidden = view !== "case";
  $("register-view").hidden = view !== "register";
  $("reports-view").hidden = view !== "reports";
  $("inbox-view").hidden = view !== "inbox";
  $("new-view").hidden = view !== "new";
  $("tab-new").hidden = !mayCall("post", "/cases");  // each tab only for the roles its route allows
  $("tab-register").hidden = !mayCall("get", "/reports/daily-register");
  $("tab-reports").hidden = !mayCall("get", "/reports/statistics");
  for (const [id, name] of [["tab-cases", "cases"], ["tab-register", "register"], ["tab-reports", "reports"],
                            ["tab-inbox", "inbox"], ["tab-new", "new"]]) {
    if (name === view) $(id).setAttribute("aria-current", "page"); else $(id).removeAttribute("aria-current");
  }
  $("app-error").textContent = "";
  if (view === "case") openCase(decodeURIComponent(hash.slice(6)));
  else if (view === "register") loadRegister();
  else if (view === "reports") loadReports();
  else if (view === "inbox") loadInbox();
  else if (view === "new") {
    if (mayCall("post", "/cases")) renderIntake();
    else { $("intake-form").replaceChildren(); $("new-error").textContent = t("new_not_allowed"); }
  }
  else loadCases();
}

async function loadCases() {
  const unit = $("unit").value;
  const cases = [];
  let cursor = null;
  do {
    const { status, body } = await api(`cases?unit_id=${encodeURIComponent(unit)}&limit=100${cursor ? "&cursor=" + cursor : ""}`);
    if (status !== 200) { $("app-error").textContent = errorText(status, body); return; }
    cases.push(...body.items.filter((c) => c.status !== "closed"));
    cursor = body.next_cursor;
  } while (cursor);
  const at = (c) => { const n = nearest(c); return n && n[2] ? n[2].date.getTime() : Infinity; };
  cases.sort((a, b) => at(a) - at(b));
  const rows = $("case-rows");
  rows.replaceChildren();
  for (const c of cases) {
    const next = nearest(c);
    const breached = Object.values(c.deadlines || {}).some((d) => d.state === "breached");
    const row = el("tr", null, { class: breached ? "breached" : "", "data-case": c.case_id });
    const first = el("td", null, { "data-label": t("col_case") });
    first.appendChild(el("a", c.case_id, { href: `#case/${encodeURIComponent(c.case_id)}` }));
    if (breached) first.append(" ", el("span", t("breached_badge"), { class: "state-breached" }));
    if (c.risk && !c.risk.cleared_at) first.append(" ", riskBadge(c.risk.phrases));
    const deadline = el("td", null, { "data-label": t("col_next") });
    if (next) deadline.append(`${named("clock", next[0])}${t("sep")}`, showTime(next[1].deadline, c.unit_id));
    else deadline.textContent = t("optional_none");
    row.append(first, el("td", named("type", c.type), { "data-label": t("col_type") }),
      el("td", named("status", c.status), { "data-label": t("col_status") }), deadline,
      countdownCell(next ? next[1].deadline : "", { "data-label": t("col_left") }));
    rows.appendChild(row);
  }
  $("no-cases").hidden = cases.length > 0;
}

function riskBadge(phrases) {  // escalation-risk language found at intake, while the flag stands
  return el("span", t("risk_badge"), { class: "badge-risk", title: phrases.join(" · ") });
}

function riskFact(risk) {
  if (!risk) return t("optional_none");
  const shown = el("span", risk.phrases.join(" · "));
  if (risk.cleared_at) shown.append(` (${t("risk_cleared", { by: risk.cleared_by || "", reason: risk.cleared_reason || "" })})`);
  else shown.prepend(riskBadge(risk.phrases), " ");
  return shown;
}

function earlierFact(c) {  // the customer's earlier cases the service lets this reader see
  if (!(c.earlier_cases || []).length) return t("earlier_none");
  const list = el("ul", null, { class: "earlier" });
  for (const e of c.earlier_cases) {
    const item = el("li");
    item.append(el("a", e.case_id, { href: `#case/${encodeURIComponent(e.case_id)}` }), " · ",
      showTime(e.received_at, e.unit_id), ` · ${named("type", e.type)} · ${named("status", e.status)}`);
    list.appendChild(item);
  }
  return list;
}

async function openCase(caseId) {
  const { status, body } = await api(`cases/${encodeURIComponent(caseId)}`);
  if (status !== 200) { $("app-error").textContent = errorText(status, body); return; }
  $("action-done").textContent = "";
  $("action-error").textContent = "";
  renderCase(body);
}

function renderCase(c) {
  current = c;
  $("case-title").textContent = `${c.case_id} · ${named("type", c.type)} · ${named("status", c.status)}`;
  const list = el("dl", null, { class: "facts" });
  const unit = units[c.unit_id];
  const facts = [["fact_unit", unit ? unit.name : c.unit_id], ["fact_channel", named("channel", c.channel)],
    ["fact_received", showTime(c.received_at, c.unit_id)], ["fact_receiver", c.receiver || t("optional_none")],
    ["fact_customer", c.customer ? c.customer.name : t("optional_none")],
    ["fact_phone", c.customer ? c.customer.phone : t("optional_none")],
    ["fact_customer_value", (c.customer && c.customer.value) || t("optional_none")],
    ["fact_earlier", earlierFact(c)], ["fact_risk", riskFact(c.risk)],
    ["fact_what", c.five_w ? c.five_w.what : t("optional_none")],
    ["fact_cause", c.cause ? named("cause", c.cause.category) + (c.cause.detail ? ` · ${c.cause.detail}` : "") : t("optional_none")],
    ["fact_expectation", c.expectation || t("optional_none")], ["fact_handler", c.handler || t("optional_none")],
    ...careFacts(c), ["fact_version", String(c.version)]];
  for (const [key, value] of facts) {
    const dd = el("dd");
    if (value instanceof Node) dd.appendChild(value); else dd.textContent = String(value);
    list.append(el("dt", t(key)), dd);
  }
  $("case-fields").replaceChildren(list);
  const clocks = $("clock-rows");
  clocks.replaceChildren();
  for (const [name, d] of Object.entries(c.deadlines || {})) {
    const row = el("tr", null, { class: d.state === "breached" ? "breached" : "" });
    const when = el("td", null, { "data-label": t("col_deadline") });
    when.appendChild(showTime(d.deadline, c.unit_id));
    row.append(el("td", named("clock", name), { "data-label": t("col_clock") }), when,
      el("td", named("state", d.state), { class: `state-${d.state}`, "data-label": t("col_state") }),
      countdownCell(d.stopped_at ? "" : d.deadline, { "data-label": t("col_left") }));
    clocks.appendChild(row);
  }
  if (!Object.keys(c.deadlines || {}).length) {
    clocks.appendChild(el("tr")).appendChild(el("td", t("no_deadlines"), { colspan: "4", class: "hint" }));
  }
  const sent = $("escalations");
  sent.replaceChildren();
  for (const e of c.escalations || []) {
    const item = el("li", t("escalation_line", { clock: named("clock", e.clock), level: named("level", e.level),
      unit: (units[e.target_unit_id] || {}).name || e.target_unit_id || t("optional_none"), state: named("esc", e.state) }));
    if (e.sent_at || e.created_at) item.append(" · ", showTime(e.sent_at || e.created_at, c.unit_id));
    sent.appendChild(item);
  }
  if (!(c.escalations || []).length) sent.appendChild(el("li", t("no_escalations"), { class: "hint" }));
  const told = $("customer-messages");
  told.replaceChildren();
  for (const m of c.customer_messages || []) {
    const item = el("li", t("customer_message_line", { kind: t(`customer_kind_${m.kind}`), medium: named("medium", m.medium),
      to: m.to, language: named("language", m.language), state: named("state", m.state) }));
    item.append(" · ", showTime(m.sent_at || m.created_at, c.unit_id));
    item.appendChild(el("p", m.text, { class: "hint message-text" }));  // what the customer read, on a phone too
    told.appendChild(item);
  }
  if (!(c.customer_messages || []).length) told.appendChild(el("li", t("no_customer_messages"), { class: "hint" }));
  const timeline = $("history");
  timeline.replaceChildren();
  for (const e of c.history || []) {
    const item = el("li");
    const line = el("span");
    line.append(" · ", showTime(e.at, c.unit_id), ` · ${e.actor} · ${named("status", e.from_status)} → ${named("status", e.to_status)}`);
    item.append(el("strong", actionName(e.action)), line);
    if (e.note) item.append(el("div", e.note, { class: "hint" }));
    timeline.appendChild(item);
  }
  renderActions(c);
}

function careFacts(c) {
  /* Praise, a suggestion's decision, outcome and reply, and a complaint's follow-up, where the case has them. */
  const facts = [];
  if (c.praise) {
    const names = (c.praise.staff || []).map((p) => p.name).join(", ");
    facts.push(["fact_praised", [names, c.praise.description].filter(Boolean).join(" · ") || t("optional_none")]);
  }
  if (c.suggestion_decision) {
    const d = c.suggestion_decision;
    facts.push(["fact_decision", d.decided_by ? t("by_whom", { what: d.text, who: d.decided_by }) : d.text]);
  }
  if (c.suggestion_outcome) {
    facts.push(["fact_outcome", t("by_whom", { what: named("outcome", c.suggestion_outcome.outcome), who: c.suggestion_outcome.decided_by })]);
  }
  if (c.customer_reply) facts.push(["fact_reply", c.customer_reply.text]);
  if (c.follow_up) {
    const f = c.follow_up;
    const parts = [t(f.reached ? "follow_up_reached" : "follow_up_not_reached")];
    if (f.satisfied !== null && f.satisfied !== undefined) parts.push(t(f.satisfied ? "follow_up_satisfied" : "follow_up_unsatisfied"));
    if (f.offer) parts.push(t("follow_up_offer", { offer: f.offer, accepted: t(f.offer_accepted ? "offer_accepted" : "offer_declined") }));
    if (f.comment) parts.push(f.comment);
    facts.push(["fact_follow_up", parts.join(" · ")]);
  }
  return facts;
}

function resolveRef(schema) {
  if (schema && schema.$ref) return apiDoc.components.schemas[schema.$ref.split("/").pop()];
  if (schema && schema.anyOf) return resolveRef(schema.anyOf.find((s) => s.type !== "null"));
  return schema;
}

function fieldLabel(action, name) {
  const special = `field_${name}_${action.replace(/-/g, "_")}`;
  return TEXTS.en[special] ? t(special) : named("field", name);
}

function choicesFor(name, c) {
  /* Fields whose values the console knows better than a text box: units, the case's clocks, levels. */
  if (name === "unit_id") return Object.values(units).map((u) => [u.unit_id, u.name]);
  if (name === "to_unit_id") return Object.values(units).filter((u) => u.unit_id !== c.unit_id).map((u) => [u.unit_id, u.name]);
  if (name === "clock") return Object.keys(c.deadlines || {}).map((k) => [k, named("clock", k)]);
  if (name === "level") return [...new Set((c.escalations || []).map((e) => e.level))].map((l) => [l, named("level", l)]);
  return null;
}

const ENUM_PREFIX = { kind: "kind", remedies: "remedy", category: "cause", outcome: "outcome",
  "cause.category": "cause", "customer.language": "language" };

function input(action, name, schema, required, c) {
  const s = resolveRef(schema);
  const id = `f-${action}-${name}`;
  const wrap = el("div");
  const label = el("label", fieldLabel(action, name) + (required ? t("required") : ""), { for: id });
  const choices = choicesFor(name, c);
  let control;
  if (choices || s.enum) {
    control = el("select", null, { id, name });
    control.appendChild(el("option", t("optional_none"), { value: "" }));  // nothing chosen by accident
    for (const [value, text] of choices || s.enum.map((v) => [v, named(ENUM_PREFIX[name] || name, v)])) {
      control.appendChild(el("option", text, { value }));
    }
  } else if (s.type === "boolean") {
    control = el("select", null, { id, name, "data-type": "boolean" });
    if (!required) control.appendChild(el("option", t("optional_none"), { value: "" }));  // not asked, not answered
    control.append(el("option", t("yes"), { value: "true" }), el("option", t("no"), { value: "false" }));
  } else if (s.type === "array" && !(resolveRef(s.items) || {}).enum) {
    control = el("textarea", null, { id, name, "data-type": "lines", rows: "3" });  // one name a line
  } else if (s.type === "integer") {
    control = el("input", null, { id, name, type: "number", "data-type": "integer", min: s.minimum ?? "", max: s.maximum ?? "" });
  } else if (s.type === "array") {
    control = el("select", null, { id, name, multiple: "", "data-type": "array" });
    for (const v of resolveRef(s.items).enum || []) control.appendChild(el("option", named(ENUM_PREFIX[name] || name, v), { value: v }));
  } else if (s.format === "date") {
    control = el("input", null, { id, name, type: "date" });
  } else if (s.format === "date-time") {  // the unit's wall clock; its offset is added on sending
    control = el("input", null, { id, name, type: "datetime-local", "data-type": "local-time" });
  } else if (/(^|\.)(email|phone)$/.test(name)) {  // the phone's own keyboard for numbers and addresses
    control = el("input", null, { id, name, type: name.endsWith("email") ? "email" : "tel", autocomplete: "off" });
  } else {
    control = el(s.maxLength > 200 ? "textarea" : "input", null, { id, name });
  }
  if (required) control.setAttribute("required", "");
  control.setAttribute("aria-describedby", `err-${action}-${name}`);
  wrap.append(label, control, el("p", null, { class: "error", id: `err-${action}-${name}`, "data-field": name }));
  return wrap;
}

function renderActions(c) {
  const box = $("actions");
  box.replaceChildren();
  for (const action of c.available_actions || []) {
    const path = apiDoc.paths[`/cases/{case_id}/${action}`];
    if (!path) continue;
    const schema = resolveRef(path.post.requestBody.content["application/json"].schema);
    const details = el("details");
    details.appendChild(el("summary", actionName(action)));
    const f = el("form", null, { "data-action": action, novalidate: "" });
    const required = schema.required || [];
    const names = Object.keys(schema.properties).filter((n) => n !== "version");
    names.sort((a, b) => (a === "note") - (b === "note") || required.includes(b) - required.includes(a));
    for (const name of names) f.appendChild(input(action, name, schema.properties[name], required.includes(name), c));
    f.appendChild(el("button", actionName(action), { type: "submit" }));
    f.addEventListener("submit", (event) => { event.preventDefault(); act(c, action, f); });
    details.appendChild(f);
    box.appendChild(details);
  }
  if (!box.children.length) box.appendChild(el("p", t("no_actions"), { class: "hint" }));
}

async function act(c, action, f) {
  const data = formData(f);
  clearFieldErrors(f);
  $("action-error").textContent = "";
  $("action-done").textContent = "";
  const { status, body } = await api(`cases/${encodeURIComponent(c.case_id)}/${action}`, {
    method: "POST", headers: { "Content-Type": "application/json", "If-Match": `"${c.version}"` }, body: JSON.stringify(data) });
  if (status === 200) {
    renderCase(body);
    $("action-done").textContent = t("done", { action: actionName(action), version: body.version });
    return;
  }
  showFieldErrors(f, body.fields);
  $("action-error").textContent = errorText(status, body);
  if (status === 409 && body.error === "stale_version") { await openCase(c.case_id); $("action-error").textContent = errorText(status, body); }
  $("action-error").focus();
}

// ---- a new case: what store staff take at the counter, from a letter or on the phone ---------

function mayCall(method, path) {  // the OpenAPI document names the roles of each staff route
  const operation = ((apiDoc && apiDoc.paths[path]) || {})[method];
  const groups = (user && user["cognito:groups"]) || [];
  return !!operation && (operation["x-roles"] || []).some((role) => groups.includes(role));
}

const INTAKE_ORDER = ["type", "channel", "unit_id", "received_at", "customer", "five_w", "cause", "expectation",
  "praised"];

function intakeLabel(name) {
  const key = `field_${name.replace(/\./g, "_")}_intake`;
  return TEXTS.en[key] ? t(key) : named("field", name.replace(/\./g, "_"));
}

function renderIntake() {
  /* The form is built from the OpenAPI document's intake schema, as the action forms are: a
     field the service adds appears here without a console change. */
  const f = $("intake-form");
  if (f.dataset.shownIn === lang && f.children.length) return;
  const typed = Object.fromEntries([...f.querySelectorAll("[name]")].map((c) => [c.name, c.value]));  // kept
  f.replaceChildren();
  f.dataset.shownIn = lang;  // not data-lang: i18n.js takes those for the language buttons
  f.dataset.key = f.dataset.key || crypto.randomUUID();  // one case, however often it is sent
  const schema = resolveRef(apiDoc.paths["/cases"].post.requestBody.content["application/json"].schema);
  const required = schema.required || [];
  const names = Object.keys(schema.properties).filter((n) => n !== "receiver");
  names.sort((a, b) => (INTAKE_ORDER.indexOf(a) + 1 || 99) - (INTAKE_ORDER.indexOf(b) + 1 || 99));
  for (const name of names) {
    const inner = resolveRef(schema.properties[name]);
    if (!inner.properties) {
      f.appendChild(labelled(input("intake", name, schema.properties[name], required.includes(name), {}), name));
      continue;
    }
    const group = el("fieldset");
    group.append(el("legend", intakeLabel(name)), el("p", null, { class: "error", "data-field": name }));
    const needed = required.includes(name) ? inner.required || [] : [];
    for (const [sub, spec] of Object.entries(inner.properties)) {
      group.appendChild(labelled(input("intake", `${name}.${sub}`, spec, needed.includes(sub), {}), `${name}.${sub}`));
    }
    f.appendChild(group);
  }
  const mine = territory(user["custom:unit_id"]);  // staff register for their unit and the units below it
  for (const option of [...$("f-intake-unit_id").options]) if (option.value && !mine.has(option.value)) option.remove();
  for (const option of [...$("f-intake-channel").options]) if (option.value === "web") option.remove();  // the public form's
  $("f-intake-unit_id").value = user["custom:unit_id"];
  for (const control of f.querySelectorAll("[name]")) {
    if (control.name in typed && control.dataset.type !== "array") control.value = typed[control.name];
  }
  f.appendChild(el("button", t("new_submit"), { type: "submit" }));
  f.onsubmit = (event) => { event.preventDefault(); register(f); };
}

function territory(top) {
  /* A unit and every unit below it, as the service judges a user's territory. */
  const below = new Set([top]);
  for (let grown = true; grown;) {
    grown = false;
    for (const u of Object.values(units)) if (u.parent_id && below.has(u.parent_id) && !below.has(u.unit_id)) { below.add(u.unit_id); grown = true; }
  }
  return below;
}

function labelled(wrap, name) {  // the intake's own words for a field (the customer's phone, the 5W)
  const label = wrap.querySelector("label");
  label.textContent = intakeLabel(name) + (wrap.querySelector("[required]") ? t("required") : "");
  return wrap;
}

function formData(f) {
  /* A form (an action's, the new case's) as the service reads it: `customer.phone` becomes
     {"customer": {"phone": …}}; blank fields are left out. */
  const data = {};
  const put = (path, value) => {
    const parts = path.split(".");
    let into = data;
    for (const part of parts.slice(0, -1)) into = into[part] = into[part] || {};
    into[parts[parts.length - 1]] = value;
  };
  for (const control of f.querySelectorAll("[name]")) {
    const type = control.dataset.type;
    if (type === "array") put(control.name, [...control.selectedOptions].map((o) => o.value));
    else if (type === "lines") {
      const lines = control.value.split(/[\n,，、]/).map((v) => v.trim()).filter(Boolean);
      if (lines.length) put(control.name, lines);
    } else if (control.value === "") continue;
    else if (type === "boolean") put(control.name, control.value === "true");
    else if (type === "integer") put(control.name, Number(control.value));
    else if (type === "local-time") put(control.name, withOffset(control.value, zoneOf(f.querySelector("[name=unit_id]").value)));
    else put(control.name, control.value);
  }
  return data;
}

function clearFieldErrors(f) {
  f.querySelectorAll(".error").forEach((e) => { e.textContent = ""; });
  f.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
}

function showFieldErrors(f, fields) {
  /* Each refused field's reason beside it: the field itself, else its group (`customer`). */
  for (const [path, message] of Object.entries(fields || {})) {
    const parts = path.split(".");
    const field = [path, parts.slice(0, 2).join("."), parts[0]].find((p) => f.querySelector(`[data-field="${CSS.escape(p)}"]`));
    if (!field) continue;
    f.querySelector(`[data-field="${CSS.escape(field)}"]`).textContent =
      lang === "zh" ? t("field_problem_detail", { detail: message }) : message;
    const control = f.querySelector(`[name="${CSS.escape(field)}"]`);
    if (control) control.setAttribute("aria-invalid", "true");
  }
}

async function register(f) {
  clearFieldErrors(f);
  $("new-error").textContent = "";
  const { status, body } = await api("cases", { method: "POST", body: JSON.stringify(formData(f)),
    headers: { "Content-Type": "application/json", "Idempotency-Key": f.dataset.key } });
  if (status === 201) {
    f.replaceChildren();
    delete f.dataset.key;  // the next case is another one
    location.hash = `#case/${encodeURIComponent(body.case_id)}`;
    return;
  }
  showFieldErrors(f, body.fields);
  $("new-error").textContent = errorText(status, body);
  $("new-error").focus();
}

// ---- the manager's inbox: what was sent to me, newest first, one click to acknowledge ------

async function loadInbox() {
  const { status, body } = await api("inbox");
  const rows = $("inbox-rows");
  rows.replaceChildren();
  if (status !== 200) { $("app-error").textContent = errorText(status, body); return; }
  $("inbox-empty").hidden = body.items.length > 0;
  for (const message of body.items) {
    const item = el("li", "", { class: "inbox-message" });
    const head = el("p", "");
    head.append(showTime(message.at, user["custom:unit_id"]), ` · ${named("medium", message.medium)} · `,
                el("span", named("state", message.state), { class: `state-${message.state}` }));
    item.appendChild(head);
    item.appendChild(el("p", message.text.split("\n")[0], { class: "hint" }));
    const list = el("ul", "");
    for (const esc of message.escalations || []) {
      const line = el("li", "", { "data-case": esc.case_id });
      line.append(el("a", esc.case_id, { href: `#case/${encodeURIComponent(esc.case_id)}` }),
                  ` · ${esc.unit_name} · ${named("clock", esc.clock)} · ${named("level", esc.level)} `);
      const ack = el("button", t("inbox_ack"), { type: "button", class: "secondary" });
      ack.addEventListener("click", () => acknowledge(esc, ack));
      line.appendChild(ack);
      list.appendChild(line);
    }
    item.appendChild(list);
    rows.appendChild(item);
  }
}

async function acknowledge(esc, button) {
  /* One click: the case's current version, then the acknowledgement as the signed-in manager. */
  const read = await api(`cases/${encodeURIComponent(esc.case_id)}`);
  if (read.status !== 200) { $("app-error").textContent = errorText(read.status, read.body); return; }
  const { status, body } = await api(`cases/${encodeURIComponent(esc.case_id)}/acknowledge`, {
    method: "POST", headers: { "Content-Type": "application/json", "If-Match": `"${read.body.version}"` },
    body: JSON.stringify({ clock: esc.clock, level: esc.level }) });
  if (status !== 200) { $("app-error").textContent = errorText(status, body); return; }
  button.textContent = t("inbox_acked");
  button.disabled = true;
  $("inbox-done").textContent = t("inbox_done", { case: esc.case_id, level: named("level", esc.level) });
}

// ---- the daily register -------------------------------------------------------------------

function unitToday(unitId) {
  /* Today's date at the unit (YYYY-MM-DD). */
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: zoneOf(unitId) || undefined, year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date());
  return parts;
}

function registerQuery() {
  const unit = $("unit").value;
  if (!$("register-date").value) $("register-date").value = unitToday(unit);
  return `reports/daily-register?unit_id=${encodeURIComponent(unit)}&date=${encodeURIComponent($("register-date").value)}`;
}

async function loadRegister() {
  const { status, body } = await api(registerQuery());
  const rows = $("register-rows");
  rows.replaceChildren();
  $("register-summary").textContent = "";
  if (status !== 200) {
    $("app-error").textContent = status === 403 ? t("err_reports_role") : errorText(status, body);
    $("register-empty").hidden = true;
    if (status === 403) $("register-view").hidden = true;  // no empty table or download for a role without it
    return;
  }
  const unit = body.unit_id;
  $("register-summary").textContent = t("register_summary", { open: body.open, today: body.due_today.length,
    tomorrow: body.due_tomorrow.length, breached: body.breached.length, feedback: (body.awaiting_feedback || []).length });
  const groups = (body.units || []).filter((g) => g.case_ids.length);
  let group = null;
  for (const entry of body.cases) {
    if (groups.length > 1 && entry.unit_id !== group) {  // a county's or branch's register, unit by unit
      group = entry.unit_id;
      const head = el("tr", null, { class: "unit-group" });
      head.appendChild(el("th", `${(units[group] || {}).name || group} (${groups.find((g) => g.unit_id === group).open})`,
        { colspan: "8", scope: "colgroup" }));
      rows.appendChild(head);
    }
    const row = el("tr", null, { class: entry.breached.length ? "breached" : "", "data-case": entry.case_id });
    const first = el("td", null, { "data-label": t("col_case"), class: "nowrap" });
    first.appendChild(el("a", entry.case_id, { href: `#case/${encodeURIComponent(entry.case_id)}` }));
    if (entry.breached.length) first.append(" ", el("span", t("breached_badge"), { class: "state-breached" }));
    else if (body.due_today.includes(entry.case_id)) first.append(" ", el("span", t("due_today"), { class: "badge-due" }));
    else if (body.due_tomorrow.includes(entry.case_id)) first.append(" ", el("span", t("due_tomorrow"), { class: "badge-soon" }));
    if (entry.risk) first.append(" ", riskBadge(entry.risk.split("; ")));
    else if ((body.awaiting_feedback || []).includes(entry.case_id)) first.append(" ", el("span", t("awaiting_feedback"), { class: "badge-soon" }));
    const received = el("td", null, { "data-label": t("col_received") });
    received.appendChild(showTime(entry.received_at, entry.unit_id || unit));
    const next = el("td", null, { "data-label": t("col_next") });
    if (entry.next_deadline) next.append(`${named("clock", entry.next_clock)}${t("sep")}`, showTime(entry.next_deadline, entry.unit_id || unit));
    else next.textContent = t("optional_none");
    const contact = el("td", null, { "data-label": t("col_contact") });
    if (entry.phone) {
      contact.append(`${entry.customer || ""} `, el("a", entry.phone, { href: `tel:${entry.phone.replace(/[^0-9+]/g, "")}` }));
    } else contact.textContent = t("optional_none");
    if (entry.earlier_cases) contact.append(" ", el("span", t("repeat_count", { n: entry.earlier_cases }), { class: "badge-soon" }));
    if (entry.customer_value) contact.append(" ", el("span", entry.customer_value, { class: "hint" }));
    row.append(first, el("td", named("type", entry.type), { "data-label": t("col_type") }),
      el("td", named("status", entry.status), { "data-label": t("col_status") }), received, next,
      el("td", entry.handler || t("optional_none"), { "data-label": t("col_handler") }), contact,
      el("td", entry.what, { "data-label": t("col_what"), class: "long" }));
    rows.appendChild(row);
  }
  $("register-empty").hidden = body.cases.length > 0;
}

async function downloadRegister() {
  /* The CSV needs the bearer token, so it is fetched here and handed to the browser as a file. */
  const { status, body, text } = await api(`${registerQuery()}&format=csv`);
  if (status !== 200) { $("app-error").textContent = status === 403 ? t("err_reports_role") : errorText(status, body); return; }
  const name = `register-${$("unit").value}-${$("register-date").value}.csv`;
  const link = el("a", null, { href: URL.createObjectURL(new Blob(["\ufeff" + text], { type: "text/csv;charset=utf-8" })),
    download: name });
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  $("register-summary").textContent = t("register_csv_done", { name });
}

// ---- trends -------------------------------------------------------------------------------

const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;

function lastWeeks(count, unitId) {
  /* The Monday-to-Sunday weeks ending with the unit's current week, oldest first. */
  const [y, m, d] = unitToday(unitId).split("-").map(Number);
  const today = new Date(y, m - 1, d);
  const monday = new Date(today);
  monday.setDate(today.getDate() - ((today.getDay() + 6) % 7));
  const weeks = [];
  for (let i = count - 1; i >= 0; i--) {
    const from = new Date(monday); from.setDate(monday.getDate() - 7 * i);
    const to = new Date(from); to.setDate(from.getDate() + 6);
    weeks.push({ from: iso(from), to: iso(to) });
  }
  return weeks;
}

const PALETTE = ["#0b5cad", "#c2410c", "#15803d", "#7c3aed", "#b91c1c", "#0e7490"];
const DASHES = ["", "6 3", "2 3", "8 3 2 3", "1 2", "4 4"];
const SVG = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function weekLabel(week) {
  return formatDay(week.from, undefined, lang) || week.from;
}

function lineChart(id, title, weeks, series, { max = null, percent = false } = {}) {
  /* A line per series over the weeks as plain SVG, and the same numbers as a table. `series` is
     [{name, values: [number|null per week]}]. */
  const figure = el("figure", null, { class: "chart", id });
  const caption = el("figcaption", title, { id: `${id}-title` });
  figure.appendChild(caption);
  const all = series.flatMap((s) => s.values).filter((v) => v !== null && v !== undefined);
  if (!all.length) { figure.appendChild(el("p", t("no_data"), { class: "hint" })); return figure; }
  const top = max ?? Math.max(2, 2 * Math.ceil(Math.max(...all) / 2));  // counts: whole-number ticks
  const W = 320, H = 180, L = 34, R = 18, T = 10, B = 28;
  const x = (i) => L + (weeks.length === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (weeks.length - 1));
  const y = (v) => T + (H - T - B) * (1 - v / top);
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${id}-title`, class: "chart-svg" });
  for (const tickValue of [0, top / 2, top]) {
    svg.appendChild(svgEl("line", { x1: L, x2: W - R, y1: y(tickValue), y2: y(tickValue), class: "grid" }));
    const shown = percent ? `${Math.round(tickValue * 100)}%` : (Number.isInteger(tickValue) ? tickValue : tickValue.toFixed(1));
    svg.appendChild(svgEl("text", { x: L - 4, y: y(tickValue) + 4, "text-anchor": "end", class: "axis" }, String(shown)));
  }
  weeks.forEach((week, i) => {
    if (i % 2 === (weeks.length - 1) % 2) {
      svg.appendChild(svgEl("text", { x: x(i), y: H - 8, "text-anchor": "middle", class: "axis" }, week.from.slice(5)));
    }
  });
  series.forEach((s, n) => {
    const color = PALETTE[n % PALETTE.length];
    const points = s.values.map((v, i) => (v === null || v === undefined ? null : [x(i), y(v)]));
    let path = "";
    points.forEach((p, i) => { if (p) path += `${path && points[i - 1] ? "L" : "M"}${p[0].toFixed(1)},${p[1].toFixed(1)} `; });
    svg.appendChild(svgEl("path", { d: path.trim(), fill: "none", stroke: color, "stroke-width": 2,
      "stroke-dasharray": DASHES[n % DASHES.length], "data-series": s.name }));
    for (const p of points) if (p) svg.appendChild(svgEl("circle", { cx: p[0], cy: p[1], r: 3, fill: color }));
  });
  figure.appendChild(svg);
  const legend = el("ul", null, { class: "legend", "aria-hidden": "true" });
  series.forEach((s, n) => {
    const item = el("li");
    item.appendChild(el("span", null, { class: "swatch", style: `border-top: 3px ${DASHES[n % DASHES.length] ? "dashed" : "solid"} ${PALETTE[n % PALETTE.length]}` }));
    item.append(s.label);
    legend.appendChild(item);
  });
  figure.appendChild(legend);
  const details = el("details");
  details.appendChild(el("summary", t("chart_numbers")));
  const table = el("table", null, { class: "numbers" });
  table.appendChild(el("caption", title, { class: "sr-only" }));
  const head = el("tr");
  head.appendChild(el("th", t("week"), { scope: "col" }));
  for (const s of series) head.appendChild(el("th", s.label, { scope: "col" }));
  table.appendChild(el("thead")).appendChild(head);
  const tbody = el("tbody");
  weeks.forEach((week, i) => {
    const row = el("tr");
    row.appendChild(el("th", weekLabel(week), { scope: "row" }));
    for (const s of series) {
      const v = s.values[i];
      row.appendChild(el("td", v === null || v === undefined ? t("optional_none") : percent ? `${Math.round(v * 100)}%` : String(s.format ? s.format(v, i) : v)));
    }
    tbody.appendChild(row);
  });
  table.appendChild(tbody);
  details.appendChild(table);
  figure.appendChild(details);
  return figure;
}

let reportsRequest = 0;

async function loadReports() {
  const unit = $("unit").value;
  const request = ++reportsRequest;
  const weeks = lastWeeks(TREND_WEEKS, unit);
  $("reports-title").textContent = t("reports_title", { weeks: TREND_WEEKS });
  const charts = $("charts");
  charts.replaceChildren(el("p", t("loading"), { class: "hint" }));
  $("reports-total").textContent = "";
  const answers = await Promise.all(weeks.map((w) =>
    api(`reports/statistics?unit_id=${encodeURIComponent(unit)}&from=${w.from}&to=${w.to}`)));
  if (request !== reportsRequest) return;  // a newer request (unit or language change) owns the view
  const failed = answers.find((a) => a.status !== 200);
  charts.replaceChildren();
  if (failed) {
    $("app-error").textContent = failed.status === 403 ? t("err_reports_role") : errorText(failed.status, failed.body);
    if (failed.status === 403) $("reports-view").hidden = true;
    return;
  }
  const summaries = answers.map((a) => a.body.summary);
  const causes = [...new Set(summaries.flatMap((s) => Object.keys(s.by_cause || {})))].sort();
  const clocks = [...new Set(summaries.flatMap((s) => Object.keys(s.clocks || {})))].sort();
  const received = summaries.reduce((n, s) => n + (s.received || 0), 0);
  const resolved = summaries.reduce((n, s) => n + (s.resolved || 0), 0);
  $("reports-total").textContent = t("this_period", { received, resolved });
  charts.append(
    lineChart("chart-received", t("chart_received"), weeks,
      causes.map((c) => ({ name: c, label: named("cause", c), values: summaries.map((s) => (s.by_cause || {})[c] || 0) }))),
    lineChart("chart-on-time", t("chart_on_time"), weeks,
      clocks.map((c) => ({ name: c, label: named("clock", c),
        values: summaries.map((s) => ((s.clocks || {})[c] ? s.clocks[c].on_time_rate : null)) })), { max: 1, percent: true }),
    lineChart("chart-satisfaction", t("chart_satisfaction"), weeks, [
      { name: "average", label: t("average"), values: summaries.map((s) => (s.satisfaction || {}).average ?? null),
        format: (v, i) => `${v} (${t("responses")} ${summaries[i].satisfaction.responses})` }], { max: 5 }));
}

// ---- wiring -------------------------------------------------------------------------------

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const candidate = $("token").value.trim();
  if (!claims(candidate)) { $("signin-error").textContent = t("not_a_token"); return; }
  token = candidate;
  sessionStorage.setItem("token", token);
  show();
});
$("sign-out").addEventListener("click", signOut);
$("unit").addEventListener("change", () => { $("register-date").value = ""; route(); });
$("register-date").addEventListener("change", loadRegister);
$("register-download").addEventListener("click", downloadRegister);
window.addEventListener("hashchange", route);
document.addEventListener("languagechange", () => { showWho(); if (user) route(); });
setInterval(tick, 1000);
$("signin-button").addEventListener("click", startSignIn);
Promise.all([fetch("openapi.json").then((r) => r.json()), fetch("public/sign-in").then((r) => r.json())])
  .then(async ([doc, config]) => { apiDoc = doc; signIn = config; await finishSignIn(); show(); });
