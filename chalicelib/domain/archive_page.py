"""The archived case file as a page an auditor reads or prints (rulebook §7): every value of the
case document under a Chinese and English label, no scripts, no outside resources. It walks the
document rather than a list of keys, so a field added to the document cannot go missing here."""

from __future__ import annotations

import html
import re
from contextvars import ContextVar
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

# The case's unit's time zone while a page is rendered: every moment is shown in it, with its offset.
_zone: ContextVar[str | None] = ContextVar("archive_page_zone", default=None)
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

# Field and section labels, Chinese first (the customers' and staff's language), then English.
LABELS: dict[str, str] = {
    "case_id": "案件编号 Case number", "version": "版本 Version", "type": "类型 Type",
    "channel": "渠道 Channel", "unit_id": "单位 Unit", "status": "状态 Status",
    "customer": "客户 Customer", "name": "姓名 Name", "phone": "电话 Phone",
    # what the customer agreed to and was sent
    "email": "电子邮箱 Email", "contact_consent": "同意联系 Agreed to be contacted",
    "customer_message": "给客户的答复 Message to the customer",
    "source": "来源 Source", "customer_messages": "发给客户的消息 Messages to the customer",
    "message_id": "消息编号 Message", "to": "发往 To",
    "subject": "主题 Subject",
    "five_w": "投诉内容(5W) What happened", "when": "时间 When", "where": "地点 Where", "who": "人员 Who",
    "what": "经过 What", "how": "方式 How", "cause": "投诉原因 Cause", "category": "类别 Category",
    "detail": "说明 Detail", "expectation": "客户期望 Customer's expectation",
    "received_at": "投诉时间 Received", "receiver": "受理人 Received by", "handler": "处理人 Handler",
    "finding": "调查结论 Finding", "kind": "种类 Kind", "corrective_plan": "整改方案 Corrective plan",
    "reported_to": "上报 Reported to", "investigator": "调查人 Investigator", "recorded_at": "记录时间 Recorded",
    "resolution": "处理结果 Resolution", "result": "结果 Result", "remedies": "补救措施 Remedies",
    "resolved_by": "处理人 Resolved by", "resolved_at": "处理时间 Resolved",
    "feedback": "客户反馈 Customer feedback", "satisfied": "是否满意 Satisfied",
    "satisfaction": "满意度(1–5) Satisfaction (1–5)", "comment": "意见 Comment",
    "closed_reason": "结案原因 Reason closed", "closed_at": "结案时间 Closed",
    "important": "重要记录 Important record", "reason": "原因 Reason", "by": "人员 By", "at": "时间 At",
    "root_cause": "根本原因 Root cause", "code": "代码 Code", "corrective_action": "纠正措施 Corrective action",
    "recorded_by": "记录人 Recorded by",
    "rectification": "限期整改(抽查) Rectification ordered by a spot check", "spot_check_id": "抽查编号 Spot check",
    "ordered_by": "责令人 Ordered by", "ordered_at": "责令时间 Ordered", "completed_by": "完成人 Completed by",
    "completed_at": "完成时间 Completed",
    "spot_checks": "抽查验证 Spot checks", "matches": "结果相符 Result matches",
    "legal_hold": "法律保全 Legal hold", "on": "保全中 On hold",
    "archive": "归档 Archive", "special": "特殊延期 Special extension", "approver": "批准人 Approver",
    "approved_at": "批准时间 Approved", "reply_promised_by": "承诺答复日期 Reply promised by",
    "acknowledgements": "升级确认 Acknowledgements", "clock": "时限 Clock", "level": "级别 Level",
    "forwarded_from": "转自 Forwarded from", "created_at": "创建时间 Created", "updated_at": "更新时间 Updated",
    "deadlines": "时限 Deadlines", "deadline": "截止时间(单位当地) Deadline (unit-local)",
    "state": "状态 State", "stopped_at": "停止时间 Stopped", "provisional": "暂定 Provisional",
    "deadline_version": "时限版本 Deadline version",
    "history": "处理记录 History", "seq": "序号 No.", "actor": "操作人 By", "action": "操作 Action",
    "from_status": "原状态 From", "to_status": "新状态 To", "changes": "变更 Changes", "note": "备注 Note",
    "before": "变更前 Before", "after": "变更后 After",
    "escalations": "升级通知 Escalations", "target_unit_id": "通知单位 Sent to",
    "sent_at": "发送时间 Sent", "attempts": "尝试次数 Attempts",
    "case_version": "案件版本 Case version", "json_key": "JSON 文件 JSON file",
    "json_version_id": "JSON 版本 JSON version",
    "json_sha256": "JSON SHA-256", "html_key": "HTML 文件 HTML file", "html_version_id": "HTML 版本 HTML version",
    "html_sha256": "HTML SHA-256", "retain_until": "保存至 Retained until", "archived_at": "归档时间 Archived",
    "hot_copy_expires_at": "在线副本到期 Hot copy expires",
    "addendum": "补充归档 Addendum", "sequence": "补充序号 Addendum number",
    "previous_sha256": "前一文件 SHA-256 Previous file's SHA-256", "previous_key": "前一文件 Previous file",
    "previous_version_id": "前一文件版本 Previous file's version",
    "available_actions": "可执行操作 Available actions", "format": "格式 Format",
    # people of the staff directory and what they were sent
    "actor_id": "操作人编号 Staff id", "receiver_id": "受理人编号 Receiver's staff id",
    "handler_id": "处理人编号 Handler's staff id", "by_id": "人员编号 Staff id",
    "approver_id": "批准人编号 Approver's staff id", "requested_by": "申请人 Requested by",
    "requested_by_id": "申请人编号 Requester's staff id", "requested_at": "申请时间 Requested",
    "special_request": "特殊延期申请 Special extension requested",
    "recipients": "通知对象(员工编号) Recipients (staff ids)", "covers": "同一通知含 Also stands for",
    "taken_with": "同时通知(发现较晚) Told at the same time (noticed late)",
    "deliveries": "送达 Deliveries", "staff_id": "员工编号 Staff id", "medium": "方式 Channel",
    "language": "语言 Language", "segments": "短信条数 SMS segments", "fallback_from": "替代 Fallback from",
    "error": "原因 Reason", "digest_of": "合并条数 Cases in the message",
    "escalation_key": "升级通知编号 Escalation", "text": "内容 Text", "provider_id": "服务商编号 Provider's id",
    # praise, suggestion outcomes and follow-up care
    "praise": "表扬 Praise", "staff": "被表扬员工 Staff praised", "description": "描述 Description",
    "suggestion_decision": "领导决定 Leader's decision", "decided_by": "决定人 Decided by",
    "decided_by_id": "决定人编号 Decided by (staff id)", "suggestion_outcome": "建议采纳情况 Suggestion outcome",
    "outcome": "结果 Outcome", "customer_reply": "给客户的答复 Reply to the customer",
    "recorded_by_id": "记录人编号 Recorded by (staff id)", "follow_up": "跟踪回访 Follow-up contact",
    "reached": "是否联系上 Reached", "offer": "增值服务 Extra service offered",
    "offer_accepted": "是否接受 Offer accepted", "on_time": "是否按时 On time",
    # escalation-risk language and the customer's value
    "risk": "升级风险用语 Escalation-risk language", "phrases": "命中用语 Phrases found",
    "flagged_at": "标记时间 Flagged", "cleared_reason": "解除原因 Why cleared", "cleared_by": "解除人 Cleared by",
    "cleared_by_id": "解除人编号 Cleared by (staff id)", "cleared_at": "解除时间 Cleared",
    "value": "客户价值 Customer value",
}

# Values that have a name of their own in Chinese (case types, channels, statuses, findings,
# remedies, clock states and names).
VALUE_LABELS: dict[str, str] = {
    "inquiry": "咨询", "suggestion": "建议", "complaint": "投诉", "praise": "表扬",
    "hotline": "电话", "web": "网上", "letter": "信件", "in_store": "现场", "media": "媒体",
    "regulator": "行政部门", "forwarded": "转办",
    "received": "已登记", "accepted": "已受理", "assigned": "已分派", "investigating": "调查中",
    "resolved": "已处理", "closed": "已结案",
    "violation": "违规或工作失职", "ordinary_mistake": "一般工作失误、服务欠缺", "customer_issue": "客户自身原因",
    "product": "商品原因", "service": "服务原因", "equipment_environment": "设备与环境原因",
    "return": "退货", "exchange": "换货", "price_adjustment": "调价", "service_change": "改进服务",
    "compensation": "赔偿", "apology": "道歉", "explanation": "解释",
    "running": "进行中", "met": "按时完成", "breached": "已超时", "stopped": "已停止",
    "acceptance": "受理", "answer": "答复", "handling": "处理", "reply": "建议答复", "rectification": "整改",
    "notice": "媒体/行政通报", "risk": "升级风险通报",
    "sending": "发送中", "pending": "待重发", "sent": "已发送", "unconfirmed": "未确认",
    "adopted": "采纳", "partly_adopted": "部分采纳", "not_adopted": "未采纳", "follow_up": "跟踪回访",
    # what was done (history actions) and what was sent
    "receive": "登记", "accept": "受理", "assign": "分派", "record-finding": "记录调查结论", "resolve": "处理",
    "record-feedback": "记录客户反馈", "close": "结案", "reopen": "重新打开", "forward": "转办",
    "mark-important": "标记为重要记录", "mark-special": "特殊情况延期", "request-special": "申请特殊情况延期",
    "promise-reply": "承诺答复日期", "record-suggestion-reply": "记录采纳结果并答复", "record-praise": "记录表扬",
    "record-follow-up": "记录跟踪回访", "acknowledge": "确认收到升级", "record-root-cause": "记录根本原因",
    "complete-rectification": "完成整改", "order-rectification": "下达限期整改", "clear-risk-flag": "解除风险标记",
    "archive-addendum": "补充归档", "legal-hold": "法律保全",
    "receipt": "回执", "survey-reminder": "评价提醒", "reply-promised": "告知答复时间",
    "sms": "短信", "email": "电子邮件", "queued": "排队中", "delivered": "已送达", "failed": "失败",
    "bounced": "退信", "customer": "客户本人", "phone": "电话",
}

# The page's sections: a title and the document's top-level keys shown in it. Keys of the
# document not named here are shown under "Other", so nothing is ever left out.
SECTIONS: list[tuple[str, list[str]]] = [
    ("概要 Summary", ["case_id", "version", "type", "channel", "unit_id", "status", "received_at", "receiver",
                     "handler", "reply_promised_by", "forwarded_from", "closed_at", "closed_reason",
                     "created_at", "updated_at"]),
    ("客户与投诉内容 Customer and complaint", ["customer", "five_w", "cause", "expectation", "risk"]),
    ("时限 Deadlines", ["deadlines"]),
    ("调查与处理 Finding and resolution", ["finding", "resolution", "feedback", "follow_up"]),
    ("表扬与建议 Praise and suggestion", ["praise", "suggestion_decision", "suggestion_outcome",
                                         "customer_reply"]),
    ("根本原因与整改 Root cause and rectification", ["root_cause", "rectification", "spot_checks"]),
    ("特殊延期与重要记录 Extension and importance", ["special", "important"]),
    ("升级 Escalations", ["escalations", "acknowledgements"]),
    ("处理记录 History", ["history"]),
    ("归档 Archive", ["archive", "legal_hold", "addendum", "available_actions"]),
]
_SHOWN_ELSEWHERE = {"format"}

# On screen a readable column; on paper black on white, tables kept whole where they fit, every
# section starting on its own line of the page and links printed out in full.
CSS = """body{font-family:"Noto Sans CJK SC","WenQuanYi Zen Hei","Microsoft YaHei",system-ui,sans-serif;
max-width:62rem;margin:2rem auto;padding:0 1rem;color:#111;line-height:1.45}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #999}
h3{font-size:1rem;margin:1rem 0 .3rem}
table{border-collapse:collapse;width:100%;margin:.3rem 0}th,td{border:1px solid #bbb;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f1f1f1;font-weight:600}th[scope=row]{width:16rem}
td table{margin:0}ul{margin:0;padding-left:1.2rem}.meta{color:#444}.none{color:#777}
.state-breached{font-weight:700}
.utc{color:#555;font-size:.85em}
@media print{@page{size:A4;margin:15mm}body{max-width:none;margin:0;padding:0;font-size:10pt;color:#000}
th{background:#eee !important;-webkit-print-color-adjust:exact;print-color-adjust:exact}
h2{break-after:avoid}tr,td table{break-inside:avoid}thead{display:table-header-group}
a[href]::after{content:" (" attr(href) ")"}}"""


def label(key: str) -> str:
    return LABELS.get(key, key)


def scalar(value: Any) -> str:
    """A leaf value as text: booleans in both languages, a named value with its Chinese name."""
    if value is None or value == "":
        return '<span class="none">—</span>'
    if value is True:
        return "是 yes"
    if value is False:
        return "否 no"
    text = html.escape(str(value))
    if isinstance(value, str) and value in VALUE_LABELS:
        return f"{VALUE_LABELS[value]} {text}"
    zone = _zone.get()
    if zone and isinstance(value, str) and _MOMENT.match(value):
        local = datetime.fromisoformat(value).astimezone(ZoneInfo(zone))
        offset = local.isoformat()[-6:]
        if not value.endswith(offset):  # a UTC moment: the unit's time first, the stored value after it
            return f'{local:%Y-%m-%d %H:%M:%S} {offset} <span class="utc">({text})</span>'
    return text


def render(value: Any) -> str:
    """Any value of the document: an object as a labelled table, a list of objects as a table,
    a list of values as a list, a leaf as text."""
    if isinstance(value, dict):
        return fields_table(value) if value else scalar(None)
    if isinstance(value, list):
        if not value:
            return '<span class="none">无 none</span>'
        if all(isinstance(item, dict) for item in value):
            return rows_table(value)
        return "<ul>" + "".join(f"<li>{render(item)}</li>" for item in value) + "</ul>"
    return scalar(value)


def fields_table(values: dict[str, Any]) -> str:
    rows = "".join(f'<tr><th scope="row">{html.escape(label(k))}</th><td>{render(v)}</td></tr>'
                   for k, v in values.items())
    return f"<table>{rows}</table>"


def rows_table(rows: list[dict[str, Any]], names: list[str] | None = None, name_key: str = "") -> str:
    """A list of objects as one table, a column per key any of them has; `names`, when given,
    head each row (under the label of `name_key`)."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lead = [name_key] if names is not None else []
    head = "".join(f'<th scope="col">{html.escape(label(c))}</th>' for c in lead + columns)
    body = []
    for i, row in enumerate(rows):
        name = f'<th scope="row">{scalar(names[i])}</th>' if names is not None else ""
        cells = "".join(f'<td class="{_state_class(c, row.get(c))}">{render(row.get(c))}</td>' for c in columns)
        body.append(f"<tr>{name}{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _state_class(column: str, value: Any) -> str:
    return f"state-{value}" if column == "state" and isinstance(value, str) else ""


def deadlines_table(deadlines: dict[str, dict[str, Any]]) -> str:
    """Every clock (rulebook §8): deadline in unit-local time with its offset, state (met or
    breached), when it stopped, whether provisional, and the deadline's version."""
    if not deadlines:
        return render({})
    names = sorted(deadlines)
    return rows_table([deadlines[name] for name in names], names, "clock")


def history_table(history: list[dict[str, Any]]) -> str:
    """Each recorded change with its fields before and after, written out, not as JSON."""
    if not history:
        return render([])
    head = "".join(f'<th scope="col">{html.escape(label(c))}</th>'
                   for c in ("seq", "at", "actor", "action", "from_status", "to_status", "changes", "note"))
    body = []
    for event in history:
        changes = event.get("changes") or {}
        change_rows = "".join(_change_row(field, change) for field, change in changes.items())
        changes_cell = (f'<table><thead><tr><th scope="col">{label("changes")}</th><th scope="col">{label("before")}'
                        f'</th><th scope="col">{label("after")}</th></tr></thead><tbody>{change_rows}</tbody></table>'
                        if changes else scalar(None))
        extra = {k: v for k, v in event.items()
                 if k not in ("seq", "at", "actor", "action", "from_status", "to_status", "changes", "note")}
        note = render(event.get("note")) + (fields_table(extra) if extra else "")
        cells = [render(event.get(k)) for k in ("seq", "at", "actor", "action", "from_status", "to_status")]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + f"<td>{changes_cell}</td><td>{note}</td></tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _change_row(field: str, change: Any) -> str:
    name = f'<th scope="row">{html.escape(label(field))}</th>'
    if isinstance(change, dict) and set(change) <= {"before", "after"}:
        return f'<tr>{name}<td>{render(change.get("before"))}</td><td>{render(change.get("after"))}</td></tr>'
    return f'<tr>{name}<td colspan="2">{render(change)}</td></tr>'


def page(document: dict[str, Any], json_sha256: str, title_format: str, time_zone: str | None = None) -> bytes:
    """The HTML rendering of a case file `document` (the JSON file's content) whose JSON bytes
    hash to `json_sha256`; every moment in the unit's `time_zone` with its offset (the stored UTC
    value beside it)."""
    token = _zone.set(time_zone)
    try:
        return _page(document, json_sha256, title_format)
    finally:
        _zone.reset(token)


def _page(document: dict[str, Any], json_sha256: str, title_format: str) -> bytes:
    case_id = html.escape(str(document["case_id"]))
    addendum = document.get("addendum")
    heading = (f"补充归档 Addendum {html.escape(str(addendum['sequence']))} · " if addendum else "")
    parts = [
        "<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{heading}案件档案 Case file {case_id}</title><style>{CSS}</style></head><body>",
        f"<h1>{heading}案件档案 Case file {case_id} ({label('version')} {html.escape(str(document['version']))})</h1>",
        f'<p class="meta">{label("format")}: {html.escape(str(document.get("format", title_format)))}. '
        f"JSON 档案 SHA-256 of the JSON case file: <code>{json_sha256}</code></p>",
    ]
    shown = set(_SHOWN_ELSEWHERE)
    for title, keys in SECTIONS:
        present = [k for k in keys if k in document]
        shown.update(present)
        if not present:
            continue
        parts += [f"<h2>{html.escape(title)}</h2>", _section(present, document)]
    rest = {k: v for k, v in document.items() if k not in shown}
    if rest:
        parts += ["<h2>其他 Other</h2>", fields_table(rest)]
    parts += ["</body></html>", ""]
    return "\n".join(parts).encode()


def _section(keys: list[str], document: dict[str, Any]) -> str:
    """A section: its plain values in one table, then each object or list under its own heading."""
    plain = {k: document[k] for k in keys if not isinstance(document[k], dict | list) or not document[k]}
    parts = [fields_table(plain)] if plain else []
    for key in keys:
        if key in plain:
            continue
        value = document[key]
        body = (deadlines_table(value) if key == "deadlines" else history_table(value) if key == "history"
                else render(value))
        parts.append(f"<h3>{html.escape(label(key))}</h3>{body}")
    return "".join(parts)
