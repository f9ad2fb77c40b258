/* Texts of the pages in Chinese and English (a page may add its own in PAGE_TEXTS, loaded
   before this file); the language is remembered per browser and defaults from its languages. */
"use strict";
const TEXTS = {
  zh: {
    title: "客户投诉与建议", intro: "请告诉我们发生了什么。我们会给您一个案件编号,并告诉您最迟何时答复。",
    about: "您的来信", type: "类型", type_complaint: "投诉", type_inquiry: "咨询", type_suggestion: "建议", type_praise: "表扬",
    channel: "渠道", channel_hint: "网页表单", unit: "门店或部门", choose: "请选择", contact: "联系方式",
    name: "姓名", phone: "电话", phone_hint: "例如 138 0000 1234",
    email: "电子邮箱(可选)", email_hint: "填写后,我们会把回执和答复发到这个邮箱。",
    consent: "我同意就此事通过电子邮件与我联系(回执、答复、满意度调查)",
    answer: "我们的答复", survey_title: "您对处理结果满意吗?", survey_rating: "评分(1 = 很不满意,5 = 很满意)",
    survey_comment: "意见(可选)", survey_submit: "提交评价", survey_thanks: "感谢您的评价:{rating}/5",
    survey_done: "此案件已评价,谢谢。", survey_failed: "评价未能提交,请稍后再试。", survey_choose: "请选择 1–5 分", happened: "发生了什么",
    five_w_hint: "请尽量写清:何时、何地、何人、发生了什么、经过如何。", what: "发生了什么(必填)",
    when: "何时", where: "何地", who: "涉及何人", how: "经过", cause: "原因", cause_product: "商品原因",
    cause_service: "服务原因", cause_equipment: "设备与环境原因", expectation: "您希望我们怎么做", submit: "提交",
    praised: "您想表扬哪位员工?(姓名或描述,如“2号收银台戴眼镜的收银员”)",
    receipt_title: "已收到,谢谢您", case_number: "案件编号", reply_by: "最迟答复时间", tracking: "查看进度:",
    reply_late: "已晚于我们给您的时间,我们会尽快答复,抱歉", reply_date_follows: "答复时间确定后告知您",
    tracking_hint: "请保存此链接,它是查看进度的唯一方式。",
    required: "必填", phone_invalid: "请填写有效的电话号码(5–24 位数字,可含空格、括号、连字符)",
    too_long: "太长了", cause_required: "投诉请选择原因", unit_required: "请选择门店或部门",
    server_invalid: "有些内容需要修改,见下方提示。", server_busy: "系统繁忙,请稍后再试;您的内容尚未提交。",
    status_title: "案件进度", status: "状态", deadlines: "期限", not_found: "没有找到这个案件,请检查链接。",
    received: "已收到", accepted: "已受理", assigned: "处理中", investigating: "调查中", resolved: "已处理", closed: "已结案",
    clock_acceptance: "受理", clock_answer: "答复", clock_handling: "处理", clock_reply: "答复建议", clock_rectification: "整改",
    state_running: "进行中", state_met: "按时完成", state_breached: "已超时", state_stopped: "已停止",
  },
  en: {
    title: "Complaints and suggestions", intro: "Tell us what happened. You will get a case number and the date by which we will answer.",
    about: "Your message", type: "Type", type_complaint: "Complaint", type_inquiry: "Question", type_suggestion: "Suggestion",
    type_praise: "Praise", channel: "Channel", channel_hint: "Web form", unit: "Store or department", choose: "Please choose",
    contact: "How to reach you", name: "Name", phone: "Phone", phone_hint: "e.g. 138 0000 1234",
    email: "Email (optional)", email_hint: "If you give one, your receipt and our answer are sent there.",
    consent: "I agree to be contacted about this by email (receipt, answer, satisfaction survey)",
    answer: "Our answer", survey_title: "Are you satisfied with how we handled it?",
    survey_rating: "Rating (1 = very dissatisfied, 5 = very satisfied)", survey_comment: "Comment (optional)",
    survey_submit: "Send rating", survey_thanks: "Thank you for your rating: {rating}/5",
    survey_done: "This case has been rated; thank you.", survey_failed: "The rating was not sent; please try again shortly.",
    survey_choose: "Choose 1 to 5", happened: "What happened",
    five_w_hint: "If you can: when, where, who, what happened and how.", what: "What happened (required)",
    when: "When", where: "Where", who: "Who was involved", how: "How it happened", cause: "Cause",
    cause_product: "Product", cause_service: "Service", cause_equipment: "Equipment and environment",
    expectation: "What would you like us to do", submit: "Send", receipt_title: "Received, thank you",
    praised: "Whom would you like to praise? (who it was, or a description such as “the cashier with glasses at till 2”)",
    case_number: "Case number", reply_by: "We will answer by", tracking: "Follow your case:",
    reply_late: "As soon as we can: we are past the date we gave you, and sorry for it",
    reply_date_follows: "We will tell you when to expect a reply",
    tracking_hint: "Keep this link: it is the only way to see your case's progress.",
    required: "Required", phone_invalid: "Enter a valid phone number (5–24 digits; spaces, brackets and dashes allowed)",
    too_long: "Too long", cause_required: "A complaint needs a cause", unit_required: "Choose a store or department",
    server_invalid: "Some answers need a change; see below.", server_busy: "The service is busy; nothing was sent, please try again shortly.",
    status_title: "Your case", status: "Status", deadlines: "Deadlines", not_found: "No case for this link; please check it.",
    received: "Received", accepted: "Accepted", assigned: "Being handled", investigating: "Being investigated",
    resolved: "Handled", closed: "Closed",
    clock_acceptance: "acceptance", clock_answer: "answer", clock_handling: "handling", clock_reply: "reply",
    clock_rectification: "rectification", state_running: "running", state_met: "met", state_breached: "overdue",
    state_stopped: "stopped",
  },
};
if (typeof PAGE_TEXTS !== "undefined") for (const l of Object.keys(TEXTS)) Object.assign(TEXTS[l], PAGE_TEXTS[l]);
function browserLanguage() {
  for (const wanted of navigator.languages || [navigator.language || ""]) {
    if (wanted.toLowerCase().startsWith("zh")) return "zh";
    if (wanted.toLowerCase().startsWith("en")) return "en";
  }
  return "zh";
}
let lang = ["zh", "en"].includes(localStorage.getItem("lang")) ? localStorage.getItem("lang") : browserLanguage();
function t(key, vars) {
  const text = (TEXTS[lang] && TEXTS[lang][key]) ?? TEXTS.en[key] ?? key;
  return vars ? text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole)) : text;
}
function applyTexts() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-label]").forEach((el) => { el.setAttribute("aria-label", t(el.dataset.i18nLabel)); });
  document.title = t("title");
  document.querySelectorAll("[data-lang]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.lang === lang)));
}
function setLanguage(next) { lang = next; localStorage.setItem("lang", next); applyTexts(); document.dispatchEvent(new Event("languagechange")); }
document.querySelectorAll("[data-lang]").forEach((b) => b.addEventListener("click", () => setLanguage(b.dataset.lang)));
applyTexts();
