/* The complainant's status page: the tracking token stays in the URL fragment (never in a server
   log) and is sent only to the tracking API. */
"use strict";
async function showStatus() {
  const box = document.getElementById("status");
  const token = location.hash.slice(1);
  const answer = token ? await fetch("public/track/" + encodeURIComponent(token)) : null;
  if (!answer || !answer.ok) { box.textContent = t("not_found"); return; }
  const c = await answer.json();
  // In the offset the service wrote (the unit's own), with the offset shown; a marker if unreadable.
  const when = (iso) => formatInstant(iso, undefined, lang) ?? (lang === "zh" ? "⚠ 时间无法识别" : "⚠ unreadable time");
  box.replaceChildren();
  const add = (label, text) => { const p = document.createElement("p"); p.innerHTML = "<strong></strong> <span></span>";
    p.firstChild.textContent = label + ":"; p.lastChild.textContent = text; box.appendChild(p); };
  add(t("case_number"), c.case_number);
  add(t("status"), t(c.status));
  add(t("reply_by"), c.reply_by ? when(c.reply_by) : "—");
  for (const [name, d] of Object.entries(c.deadlines)) add(`${t("deadlines")} · ${t(`clock_${name}`)}`, `${when(d.deadline)} (${t(`state_${d.state}`)})`);
}
document.addEventListener("languagechange", showStatus);
window.addEventListener("hashchange", showStatus);
showStatus();
