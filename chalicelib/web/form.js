/* The public intake form: checks what it can before sending, shows the service's own field
   errors next to their fields, and shows the receipt (case number, answer-by date, tracking link). */
"use strict";
const form = document.getElementById("intake");
const PHONE = /^\+?[0-9][0-9 ()\-]{4,22}[0-9]$/;
let lastReceipt = null;
const zones = {};  // unit_id → its time zone: the receipt's date is the unit's

async function loadUnits() {
  const select = document.getElementById("unit_id");
  const answer = await fetch("public/units");
  if (!answer.ok) return;
  for (const unit of (await answer.json()).items) {
    const option = document.createElement("option");
    option.value = unit.unit_id;
    option.textContent = unit.name;
    zones[unit.unit_id] = unit.time_zone;
    select.appendChild(option);
  }
}

function fieldError(path, message) {
  const box = document.getElementById("err-" + path);
  const input = form.querySelector(`[name="${path}"]`) || (path === "cause" ? document.getElementById("cause") : null);
  if (input) input.setAttribute("aria-invalid", message ? "true" : "false");
  if (box) { box.textContent = message || ""; return true; }
  return false;
}

function clearErrors() {
  form.querySelectorAll(".error").forEach((el) => { el.textContent = ""; });
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.setAttribute("aria-invalid", "false"));
  document.getElementById("form-error").textContent = "";
}

function value(id) { return document.getElementById(id).value.trim(); }

function body() {
  const fiveW = { what: value("what") };
  for (const part of ["when", "where", "who", "how"]) if (value(part)) fiveW[part] = value(part);
  const data = { type: value("type"), unit_id: value("unit_id"),
                 customer: { name: value("name"), phone: value("phone"),
                   ...(value("email") ? { email: value("email") } : {}),
                   contact_consent: document.getElementById("consent").checked, language: lang }, five_w: fiveW };
  if (value("cause")) data.cause = { category: value("cause") };
  if (value("expectation")) data.expectation = value("expectation");
  if (data.type === "praise" && value("praised")) data.praised = { description: value("praised") };
  return data;
}

function check(data) {
  const problems = {};
  if (!data.unit_id) problems.unit_id = t("unit_required");
  if (!data.customer.name) problems["customer.name"] = t("required");
  if (!PHONE.test(data.customer.phone)) problems["customer.phone"] = t("phone_invalid");
  if (!data.five_w.what) problems["five_w.what"] = t("required");
  if (data.type === "complaint" && !data.cause) problems.cause = t("cause_required");
  return problems;
}

function showProblems(problems, general) {
  let first = null;
  for (const [path, message] of Object.entries(problems)) {
    const shown = fieldError(path, message) || fieldError(path.split(".")[0], message);
    if (!shown) document.getElementById("form-error").textContent += `${path}: ${message} `;
    first = first || form.querySelector(`[aria-invalid="true"]`);
  }
  if (general) document.getElementById("form-error").textContent = general + " " + document.getElementById("form-error").textContent;
  (first || document.getElementById("form-error")).focus();
}

function showReceipt(receipt) {
  lastReceipt = receipt;
  document.getElementById("case-number").textContent = receipt.case_number;
  const replyBy = document.getElementById("reply-by");
  replyBy.replaceChildren(receipt.reply_by ? timeNode(receipt.reply_by, zones[document.getElementById("unit_id").value], lang) : "—");
  document.getElementById("next-steps").textContent = receipt.next_steps[lang] || receipt.next_steps.en;
  const link = document.getElementById("tracking-link");
  link.href = "track#" + receipt.tracking_token;
  link.textContent = new URL(link.href, location.href).href;
  form.hidden = true;
  const section = document.getElementById("receipt");
  section.hidden = false;
  section.focus();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  const data = body();
  const problems = check(data);
  if (Object.keys(problems).length) { showProblems(problems); return; }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const answer = await fetch("public/cases", { method: "POST", headers: { "Content-Type": "application/json" },
                                                 body: JSON.stringify(data) });
    const reply = await answer.json().catch(() => ({}));
    if (answer.status === 201) showReceipt(reply);
    else if (answer.status === 400) showProblems(reply.fields || {}, t("server_invalid"));
    else showProblems({}, t("server_busy") + (reply.message ? ` (${reply.message})` : ""));
  } catch (error) {
    showProblems({}, t("server_busy"));
  } finally {
    button.disabled = false;
  }
});
// Whom a customer praises is asked only on a praise (rulebook §1: it is recorded against them).
document.getElementById("type").addEventListener("change", (event) => {
  document.getElementById("praised-field").hidden = event.target.value !== "praise";
});
document.addEventListener("languagechange", () => { if (lastReceipt) showReceipt(lastReceipt); });
document.getElementById("form-error").tabIndex = -1;
loadUnits();
