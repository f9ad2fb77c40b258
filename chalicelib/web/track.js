/* The complainant's status page: the tracking token stays in the URL fragment (never in a server
   log) and is sent only to the tracking API. Once the case is answered it shows the answer and
   asks for a 1–5 rating and a comment (one rating per case; it closes the case). */
"use strict";
let current = null;
async function showStatus() {
  const box = document.getElementById("status");
  const token = location.hash.slice(1);
  const answer = token ? await fetch("public/track/" + encodeURIComponent(token)) : null;
  if (!answer || !answer.ok) { box.textContent = t("not_found"); document.getElementById("survey").hidden = true; return; }
  render(await answer.json());
}
function render(c) {
  current = c;
  const box = document.getElementById("status");
  // In the offset the service wrote (the unit's own), with the offset shown; a marker if unreadable.
  const when = (iso) => formatInstant(iso, undefined, lang) ?? (lang === "zh" ? "⚠ 时间无法识别" : "⚠ unreadable time");
  box.replaceChildren();
  const add = (label, text) => { const p = document.createElement("p"); p.innerHTML = "<strong></strong> <span></span>";
    p.firstChild.textContent = label + ":"; p.lastChild.textContent = text; box.appendChild(p); return p; };
  add(t("case_number"), c.case_number);
  add(t("status"), t(c.status));
  // no date that has gone by is shown as a promise, and a suggestion says its date will follow
  const late = c.reply_by && !c.answer && new Date(c.reply_by) < new Date();
  add(t("reply_by"), late ? t("reply_late") : c.reply_by ? when(c.reply_by)
    : c.type === "suggestion" && !c.answer ? t("reply_date_follows") : "—");
  for (const [name, d] of Object.entries(c.deadlines)) add(`${t("deadlines")} · ${t(`clock_${name}`)}`, `${when(d.deadline)} (${t(`state_${d.state}`)})`);
  if (c.answer) add(t("answer"), c.answer).id = "answer";
  const survey = c.survey || { open: false };
  document.getElementById("survey").hidden = !survey.open;
  const result = document.getElementById("survey-result");
  result.textContent = survey.rating ? t("survey_thanks", { rating: survey.rating }) : "";
}
async function rate(event) {
  event.preventDefault();
  const chosen = document.querySelector("input[name=satisfaction]:checked");
  const comment = document.getElementById("comment").value.trim();
  for (const id of ["err-satisfaction", "err-comment"]) document.getElementById(id).textContent = "";
  if (!chosen) { document.getElementById("err-satisfaction").textContent = t("survey_choose"); return; }
  const token = location.hash.slice(1);
  const sent = await fetch(`public/track/${encodeURIComponent(token)}/rating`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ satisfaction: Number(chosen.value), ...(comment ? { comment } : {}) }) });
  const body = await sent.json().catch(() => ({}));
  if (sent.ok) { render(body); return; }
  if (sent.status === 400 && body.fields) {
    for (const [field, reason] of Object.entries(body.fields)) {
      const slot = document.getElementById(`err-${field}`);
      if (slot) slot.textContent = reason;
    }
    return;
  }
  document.getElementById("survey-result").textContent = sent.status === 409 ? t("survey_done") : t("survey_failed");
  if (sent.status === 409) document.getElementById("survey").hidden = true;
}
document.getElementById("survey").addEventListener("submit", rate);
document.getElementById("survey").addEventListener("change", (event) => {  // a choice answers "choose 1 to 5"
  if (event.target.name === "satisfaction") document.getElementById("err-satisfaction").textContent = "";
});
document.addEventListener("languagechange", () => (current ? render(current) : showStatus()));
window.addEventListener("hashchange", showStatus);
showStatus();
