/* The staff console: a unit's open cases by nearest deadline with a live countdown, a case page
   with its clocks, history and the actions the signed-in user may take now (the service says
   which, the OpenAPI document says what each needs), and the unit's statistics as charts. */
"use strict";
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("token");
let user = null;
let apiDoc = null;
let cases = [];
let signIn = {};

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
  if (!saved || saved.state !== params.get("state")) { $("signin-error").textContent = "That sign-in was not started here; try again."; return; }
  const answer = await fetch(signIn.token_url, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", client_id: signIn.client_id, code: params.get("code"),
      redirect_uri: consoleUrl(), code_verifier: saved.verifier }).toString() });
  const tokens = await answer.json().catch(() => ({}));
  if (!answer.ok || !tokens.id_token) { $("signin-error").textContent = "Sign-in failed; try again."; return; }
  token = tokens.id_token;
  sessionStorage.setItem("token", token);
}

function claims(jwt) {
  try { return JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))); } catch { return null; }
}

async function api(path, options = {}) {
  const answer = await fetch(path, { ...options, headers: { ...(options.headers || {}), Authorization: `Bearer ${token}` } });
  if (answer.status === 401) { signOut(); throw new Error("signed out"); }
  const body = await answer.json().catch(() => ({}));
  return { status: answer.status, body, etag: answer.headers.get("ETag") };
}

function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function left(deadline) {
  const ms = new Date(deadline) - Date.now();
  const sign = ms < 0 ? "overdue " : "";
  let s = Math.abs(Math.floor(ms / 1000));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  return `${sign}${d ? d + "d " : ""}${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
}

function nearest(c) {
  const running = Object.entries(c.deadlines).filter(([, d]) => !d.stopped_at)
    .sort((a, b) => new Date(a[1].deadline) - new Date(b[1].deadline));
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

async function show() {
  user = token ? claims(token) : null;
  $("signin").hidden = !!user;
  $("hosted-signin").hidden = !signIn.authorize_url;
  $("app").hidden = !user;
  $("who").textContent = user ? `${user.name} · ${(user["cognito:groups"] || []).join(", ")} · ${user["custom:unit_id"]}` : "";
  if (!user) { $("token").focus(); return; }
  if (!$("unit").options.length) await loadUnits();
  route();
}

async function loadUnits() {
  const { status, body } = await api("units");
  if (status !== 200) return;
  for (const unit of body.items) $("unit").appendChild(el("option", `${unit.name} (${unit.unit_id})`, { value: unit.unit_id }));
  $("unit").value = user["custom:unit_id"];
}

function route() {
  const hash = location.hash;
  $("cases-view").hidden = hash !== "" && hash !== "#";
  $("case-view").hidden = !hash.startsWith("#case/");
  $("reports-view").hidden = hash !== "#reports";
  $("app-error").textContent = "";
  if (hash.startsWith("#case/")) openCase(decodeURIComponent(hash.slice(6)));
  else if (hash === "#reports") loadReports();
  else loadCases();
}

async function loadCases() {
  const unit = $("unit").value;
  cases = [];
  let cursor = null;
  do {
    const { status, body } = await api(`cases?unit_id=${encodeURIComponent(unit)}&limit=100${cursor ? "&cursor=" + cursor : ""}`);
    if (status !== 200) { $("app-error").textContent = body.message || `error ${status}`; return; }
    cases.push(...body.items.filter((c) => c.status !== "closed"));
    cursor = body.next_cursor;
  } while (cursor);
  cases.sort((a, b) => {
    const x = nearest(a), y = nearest(b);
    return (x ? new Date(x[1].deadline) : Infinity) - (y ? new Date(y[1].deadline) : Infinity);
  });
  const rows = $("case-rows");
  rows.replaceChildren();
  for (const c of cases) {
    const next = nearest(c);
    const breached = Object.values(c.deadlines).some((d) => d.state === "breached");
    const row = el("tr", null, { class: breached ? "breached" : "", "data-case": c.case_id });
    const link = el("a", c.case_id, { href: `#case/${encodeURIComponent(c.case_id)}` });
    const first = el("td", null, { "data-label": "Case" }); first.appendChild(link);
    if (breached) first.appendChild(el("span", " BREACHED", { class: "state-breached" }));
    row.append(first, el("td", c.type, { "data-label": "Type" }), el("td", c.status, { "data-label": "Status" }),
      el("td", next ? `${next[0]}: ${new Date(next[1].deadline).toLocaleString()}` : "—", { "data-label": "Next deadline" }),
      el("td", next ? left(next[1].deadline) : "—", { "data-label": "Time left", "data-deadline": next ? next[1].deadline : "" }));
    rows.appendChild(row);
  }
  $("no-cases").hidden = cases.length > 0;
}

function tick() {  // the live countdown
  document.querySelectorAll("[data-deadline]").forEach((cell) => {
    if (cell.dataset.deadline) cell.textContent = left(cell.dataset.deadline);
  });
}

async function openCase(caseId) {
  const { status, body } = await api(`cases/${encodeURIComponent(caseId)}`);
  if (status !== 200) { $("app-error").textContent = body.message || `error ${status}`; return; }
  renderCase(body);
}

function renderCase(c) {
  $("case-title").textContent = `${c.case_id} · ${c.type} · ${c.status}`;
  const fields = $("case-fields");
  fields.replaceChildren();
  const list = el("dl");
  const facts = { Unit: c.unit_id, Channel: c.channel, Received: new Date(c.received_at).toLocaleString(),
                  Customer: c.customer.name, "What happened": c.five_w.what, Cause: c.cause ? c.cause.category : "—",
                  Expectation: c.expectation || "—", Handler: c.handler || "—", Version: c.version };
  for (const [k, v] of Object.entries(facts)) list.append(el("dt", k), el("dd", String(v)));
  fields.appendChild(list);
  const clocks = $("clock-rows");
  clocks.replaceChildren();
  for (const [name, d] of Object.entries(c.deadlines)) {
    const row = el("tr", null, { class: d.state === "breached" ? "breached" : "" });
    row.append(el("td", name), el("td", new Date(d.deadline).toLocaleString()),
      el("td", d.state, { class: `state-${d.state}` }),
      el("td", d.stopped_at ? "—" : left(d.deadline), { "data-deadline": d.stopped_at ? "" : d.deadline }));
    clocks.appendChild(row);
  }
  const sent = el("ul");
  for (const e of c.escalations) sent.appendChild(el("li", `${e.clock} · ${e.level} → ${e.target_unit_id} (${e.state})`));
  if (c.escalations.length) clocks.parentElement.after(sent);
  const timeline = $("history");
  timeline.replaceChildren();
  for (const e of c.history) {
    const item = el("li");
    item.append(el("strong", `${e.action}`), el("span", ` · ${new Date(e.at).toLocaleString()} · ${e.actor} · ${e.from_status || "—"} → ${e.to_status}`));
    if (e.note) item.append(el("div", e.note, { class: "hint" }));
    timeline.appendChild(item);
  }
  renderActions(c);
}

function resolveRef(schema) {
  if (schema && schema.$ref) return apiDoc.components.schemas[schema.$ref.split("/").pop()];
  if (schema && schema.anyOf) return resolveRef(schema.anyOf.find((s) => s.type !== "null"));
  return schema;
}

function input(name, schema, required) {
  const s = resolveRef(schema);
  const id = `f-${name}`;
  const wrap = el("div");
  const label = el("label", name.replace(/_/g, " ") + (required ? " (required)" : ""), { for: id });
  let control;
  if (s.enum) {
    control = el("select", null, { id, name });
    if (!required) control.appendChild(el("option", "—", { value: "" }));
    for (const v of s.enum) control.appendChild(el("option", v, { value: v }));
  } else if (s.type === "boolean") {
    control = el("select", null, { id, name, "data-type": "boolean" });
    control.append(el("option", "yes", { value: "true" }), el("option", "no", { value: "false" }));
  } else if (s.type === "integer") {
    control = el("input", null, { id, name, type: "number", "data-type": "integer", min: s.minimum ?? "", max: s.maximum ?? "" });
  } else if (s.type === "array") {
    control = el("select", null, { id, name, multiple: "", "data-type": "array" });
    for (const v of resolveRef(s.items).enum || []) control.appendChild(el("option", v, { value: v }));
  } else if (s.format === "date") {
    control = el("input", null, { id, name, type: "date" });
  } else {
    control = el(s.maxLength > 200 ? "textarea" : "input", null, { id, name });
  }
  if (required) control.setAttribute("required", "");
  wrap.append(label, control, el("p", null, { class: "error", id: `err-${name}` }));
  return wrap;
}

function renderActions(c) {
  const box = $("actions");
  box.replaceChildren();
  for (const action of c.available_actions || []) {
    const op = apiDoc.paths[`/cases/{case_id}/${action}`].post;
    const schema = resolveRef(op.requestBody.content["application/json"].schema);
    const details = el("details");
    details.appendChild(el("summary", action.replace(/-/g, " ")));
    const f = el("form", null, { "data-action": action });
    for (const [name, prop] of Object.entries(schema.properties)) {
      if (name === "version") continue;
      f.appendChild(input(name, prop, (schema.required || []).includes(name)));
    }
    f.appendChild(el("button", action.replace(/-/g, " "), { type: "submit" }));
    f.addEventListener("submit", (event) => { event.preventDefault(); act(c, action, f); });
    details.appendChild(f);
    box.appendChild(details);
  }
}

async function act(c, action, f) {
  const data = {};
  for (const control of f.querySelectorAll("[name]")) {
    if (control.dataset.type === "array") data[control.name] = [...control.selectedOptions].map((o) => o.value);
    else if (control.value === "") continue;
    else if (control.dataset.type === "boolean") data[control.name] = control.value === "true";
    else if (control.dataset.type === "integer") data[control.name] = Number(control.value);
    else data[control.name] = control.value;
  }
  f.querySelectorAll(".error").forEach((e) => { e.textContent = ""; });
  $("action-error").textContent = "";
  const { status, body } = await api(`cases/${encodeURIComponent(c.case_id)}/${action}`, {
    method: "POST", headers: { "Content-Type": "application/json", "If-Match": `"${c.version}"` }, body: JSON.stringify(data) });
  if (status === 200) {
    $("action-done").textContent = `${action.replace(/-/g, " ")}: done (version ${body.version}).`;
    renderCase(body);
    return;
  }
  for (const [path, message] of Object.entries(body.fields || {})) {
    const box = f.querySelector(`#err-${CSS.escape(path.split(".")[0])}`);
    if (box) box.textContent = message;
  }
  $("action-error").textContent = body.message || `error ${status}`;
  $("action-error").focus();
}

function bars(title, values, asPercent = false) {
  const section = el("section");
  section.appendChild(el("h3", title));
  const max = Math.max(1, ...Object.values(values));
  const entries = Object.entries(values);
  if (!entries.length) section.appendChild(el("p", "nothing yet", { class: "hint" }));
  for (const [label, v] of entries) {
    const row = el("div", null, { class: "bar" });
    const track = el("span", null, { "aria-hidden": "true" });
    track.appendChild(el("span", null, { class: "fill", style: `width:${(asPercent ? v : v / max) * 100}%` }));
    row.append(el("span", label), track, el("span", asPercent ? `${Math.round(v * 100)}%` : String(v)));
    section.appendChild(row);
  }
  return section;
}

async function loadReports() {
  const today = new Date();
  const from = new Date(today.getFullYear(), today.getMonth(), 1);
  const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  const { status, body } = await api(`reports/statistics?unit_id=${encodeURIComponent($("unit").value)}&from=${iso(from)}&to=${iso(today)}`);
  const charts = $("charts");
  charts.replaceChildren();
  if (status !== 200) { $("app-error").textContent = status === 403 ? "Statistics are for managers." : body.message; return; }
  const s = body.summary;
  const onTime = Object.fromEntries(Object.entries(s.clocks).map(([k, v]) => [k, v.on_time_rate]));
  charts.append(bars(`Received (${s.received})`, s.by_type), bars("By cause", s.by_cause), bars("By channel", s.by_channel),
    bars("On time", onTime, true), bars("Findings", s.by_finding), bars("Satisfaction (1–5)", s.satisfaction.by_score));
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const candidate = $("token").value.trim();
  if (!claims(candidate)) { $("signin-error").textContent = "That is not an ID token."; return; }
  token = candidate;
  sessionStorage.setItem("token", token);
  show();
});
$("tab-cases").addEventListener("click", () => { location.hash = ""; route(); });
$("tab-reports").addEventListener("click", () => { location.hash = "#reports"; });
$("sign-out").addEventListener("click", signOut);
$("unit").addEventListener("change", route);
window.addEventListener("hashchange", route);
setInterval(tick, 1000);
$("signin-button").addEventListener("click", startSignIn);
Promise.all([fetch("openapi.json").then((r) => r.json()), fetch("public/sign-in").then((r) => r.json())])
  .then(async ([doc, config]) => { apiDoc = doc; signIn = config; await finishSignIn(); show(); });
