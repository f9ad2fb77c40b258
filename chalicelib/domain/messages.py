"""What a person receives about escalations, in their language: one template per message kind and
language, with named variables (the same texts are registered with carriers where the law asks for
it, e.g. China's SMS templates), SMS segment counting, and the digest that combines what arrived
for one person inside a window. Pure: no AWS."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from string import Formatter
from zoneinfo import ZoneInfo

from chalicelib.domain.calendar import with_offset

# GSM 03.38 basic character set (and the extension table, each of which costs two septets): an
# SMS of only these is sent as GSM-7, 160 septets in one segment; anything else makes the whole
# SMS UCS-2, 70 characters in one segment (153 / 67 per segment when concatenated).
_GSM_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                 "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
_GSM_EXTENDED = set("^{}\\[~]|€\f")


def sms_encoding(text: str) -> str:
    return "GSM-7" if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in text) else "UCS-2"


def sms_segments(text: str) -> int:
    """How many SMS segments the text takes (carriers bill and deliver per segment)."""
    if sms_encoding(text) == "GSM-7":
        septets = sum(2 if ch in _GSM_EXTENDED else 1 for ch in text)
        return 1 if septets <= 160 else -(-septets // 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)


def level_name(level: str, language: str) -> str:
    """A rung as a person reads it: 超时 / breach, 上一级 / one level up, …"""
    if level.startswith("up-") and level[3:].isdigit():
        n = int(level[3:])
        return f"上{'一两三四五六七八九'[n - 1] if n <= 9 else n}级" if language == "zh" else (
            "one level up" if n == 1 else f"{n} levels up")
    names = {"warning": ("预警", "warning"), "breach": ("超时", "breach")}
    return names[level][0 if language == "zh" else 1] if level in names else level


CLOCK_NAMES = {
    "zh": {"acceptance": "受理", "answer": "答复", "handling": "处理", "reply": "回复", "rectification": "整改",
           "notice": "通报", "follow_up": "回访", "risk": "风险"},
    "en": {"acceptance": "acceptance", "answer": "answer", "handling": "handling", "reply": "reply",
           "rectification": "rectification", "notice": "notice", "follow_up": "follow-up", "risk": "risk"},
}

# kind → language → (sms, email subject, email opening line). Variables: {case} case number,
# {unit} the case's unit, {clock} the clock's name, {deadline} unit-local deadline (SMS: month,
# day and time), {deadline_full} the same with the year and its UTC offset (subjects and emails:
# a manager in Hangzhou reads a London deadline), {link} the
# case in the staff console, {count} cases in a digest, {late} the levels told at the same time.
TEMPLATES: dict[str, dict[str, tuple[str, str, str]]] = {
    "warning": {
        "zh": ("【投诉台】{clock}时限将到{deadline},请处理{link}", "时限将到:{case} {clock} {deadline_full}",
               "{unit}的{case}{clock}时限将于{deadline_full}到期。"),
        "en": ("Complaint Desk: {clock} of {case} at {unit} is due {deadline}. Act now: {link}",
               "Due soon: {clock} of {case}, {deadline_full}",
               "The {clock} deadline of {case} at {unit} is {deadline_full}."),
    },
    "breach": {
        "zh": ("【投诉台】{clock}已超时,请立即处理{link}", "已超时:{case} {clock} {deadline_full}",
               "{unit}的{case}{clock}时限已于{deadline_full}超时。"),
        "en": ("Complaint Desk: {clock} of {case} at {unit} BREACHED (due {deadline}). Act now: {link}",
               "Breached: {clock} of {case}, due {deadline_full}",
               "The {clock} deadline of {case} at {unit} passed at {deadline_full}."),
    },
    "escalated": {
        "zh": ("【投诉台】下级{clock}超时未办,请督办{link}", "升级督办:{case} {clock} 超时",
               "{unit}的{case}{clock}时限已于{deadline_full}超时,仍未处理,升级至您。"),
        "en": ("Complaint Desk: ESCALATED to you: {clock} of {case} at {unit} breached {deadline}. {link}",
               "Escalated: {clock} of {case} breached",
               "The {clock} deadline of {case} at {unit} passed at {deadline_full} and it is still open."),
    },
    "reminder": {
        "zh": ("【投诉台】{clock}仍超时未办,请督办{link}", "仍超时:{case} {clock}",
               "{unit}的{case}{clock}时限已于{deadline_full}超时,至今未处理。"),
        "en": ("Complaint Desk: reminder, {clock} of {case} at {unit} still breached since {deadline}. {link}",
               "Still breached: {clock} of {case}",
               "The {clock} deadline of {case} at {unit} passed at {deadline_full}; it is still open."),
    },
    "notice": {
        "zh": ("【投诉台】媒体/监管来件,请立即处理{link}", "媒体/监管来件:{case}",
               "{unit}收到来自媒体或监管部门的{case},须立即集中处理。"),
        "en": ("Complaint Desk: media/regulator case {case} at {unit}: act now. {link}",
               "Media/regulator case {case}", "{case} at {unit} came from the media or a regulator: act now."),
    },
    "risk": {
        "zh": ("【投诉台】客户扬言曝光/投诉/起诉,请立即处理{link}", "升级风险:{case}",
               "{unit}的{case}中客户提到媒体、12315或律师等,有升级风险,请立即处理。"),
        "en": ("Complaint Desk: {case} at {unit}: customer may go to media/regulator/lawyer. Act now: {link}",
               "Escalation risk: {case}", "The customer of {case} at {unit} spoke of the media, a regulator or "
               "a lawyer: act now."),
    },
    # Several cases at once: what is urgent (a media, regulator or risk-language notice) comes first.
    "digest-urgent": {
        "zh": ("【投诉台】{count}件待处理,含紧急来件,请立即查看{link}", "{count}件待处理(含紧急来件)",
               "以下{count}件需要您处理,紧急来件在前:"),
        "en": ("Complaint Desk: {count} cases need you, urgent ones first. Open: {link}",
               "{count} cases need you (urgent first)", "{count} cases need you, urgent ones first:"),
    },
    "digest": {
        "zh": ("【投诉台】{count}件案件需要您处理,请查看{link}", "{count}件案件需要您处理",
               "以下{count}件在{unit}等单位需要您处理:"),
        "en": ("Complaint Desk: {count} cases need you ({unit}...). Open: {link}", "{count} cases need you",
               "{count} cases need you:"),
    },
}

# Characters of a unit's name an SMS carries (an English SMS of 160 has room for about this many).
UNIT_IN_SMS = 24
# The longest subject SNS or a mail client shows whole; SES takes more, but a subject is read on a phone.
SUBJECT_LIMIT = 99


def kind_of(level: str, clock: str = "") -> str:
    """Which template a rung uses; a notice of escalation-risk language (clock `risk`) has its own."""
    if level.startswith("notice") and clock == "risk":
        return "risk"
    if level == "warning" or level == "breach":
        return level
    if level.startswith("notice"):
        return "notice"
    if level.startswith("reminder-"):
        return "reminder"
    return "escalated"


@dataclass(frozen=True)
class Item:
    """One escalation as a person reads it."""

    case_id: str
    unit_name: str
    clock: str
    level: str
    deadline: datetime | None
    time_zone: str
    late_levels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rendered:
    language: str
    sms: str
    subject: str
    text: str
    html: str

    @property
    def segments(self) -> int:
        return sms_segments(self.sms)


def case_link(base: str, case_id: str) -> str:
    """The case in the staff console, as short as it can be (an SMS has 70 Chinese characters):
    /c/{case} opens the console on that case, where acknowledging is one click."""
    return f"{base.rstrip('/')}/c/{case_id}"


def inbox_link(base: str) -> str:
    return f"{base.rstrip('/')}/c/inbox"


def render(items: list[Item], language: str, link_base: str) -> Rendered:
    """One message for one person: the item's own template, or the digest of several."""
    language = language if language in TEMPLATES["breach"] else "zh"
    cases = len({item.case_id for item in items})  # "3 cases need you", however many reminders each
    urgent = [item for item in items if item.level.startswith("notice")]
    items = urgent + [item for item in items if item not in urgent]  # rulebook §2: at once, so first
    first = items[0] if cases > 1 or urgent else items[-1]  # one case: its notice, or its latest reminder
    kind = ("digest-urgent" if urgent else "digest") if cases > 1 else kind_of(first.level, first.clock)
    values = _values(first, language, link_base, cases)
    sms_t, subject_t, opening_t = TEMPLATES[kind][language]
    sms = sms_t.format(**values)
    subject = _cut(subject_t.format(**values), SUBJECT_LIMIT)
    opening = opening_t.format(**values)
    open_words = "打开案件" if language == "zh" else "Open the case"
    blocks = []  # (what happened, the case's link)
    for item in items:
        v = _values(item, language, link_base, 1)
        line = TEMPLATES[kind_of(item.level, item.clock)][language][2].format(**v)
        if item.late_levels:
            told = ", ".join(level_name(level, language) for level in item.late_levels)
            line += (f"(发现较晚,同时已通知:{told})" if language == "zh" else f" (Noticed late; also told: {told}.)")
        blocks.append((line, v["link"]))
    lead = [opening, ""] if cases > 1 else []  # one case: its own lines say it all
    text = "\n".join([*lead, *(f"{line}\n{open_words}: {link}\n" for line, link in blocks)])
    body = "".join(f'<p>{html.escape(line)}<br><a href="{html.escape(link)}">{open_words}</a></p>'
                   for line, link in blocks)
    head = f"<p>{html.escape(opening)}</p>" if lead else ""
    page = f'<!doctype html><html lang="{language}"><body>{head}{body}</body></html>'
    return Rendered(language, sms, subject, text, page)


def unit_label(name: str, language: str) -> str:
    """A bilingual unit name ("西湖一号店 Xihu Store No. 1") in one language: a Chinese character
    in an English SMS would make it UCS-2 (70 characters a segment, not 160)."""
    ascii_part = " ".join(word for word in name.split() if word.isascii()).strip()
    cjk_part = " ".join(word for word in name.split() if not word.isascii()).strip()
    if language == "en":
        return ascii_part or name
    return cjk_part or name


def _values(item: Item, language: str, link_base: str, count: int) -> dict[str, str]:
    local = item.deadline.astimezone(ZoneInfo(item.time_zone)) if item.deadline else None
    deadline = local.strftime("%m-%d %H:%M") if local else "-"
    deadline_full = with_offset(local) if local else "-"
    unit = unit_label(item.unit_name, language)
    return {"case": item.case_id, "unit": unit if len(unit) <= UNIT_IN_SMS else unit[:UNIT_IN_SMS - 3] + "...",
            "clock": CLOCK_NAMES[language].get(item.clock, item.clock),
            "deadline": deadline, "count": str(count), "deadline_full": deadline_full,
            "link": case_link(link_base, item.case_id) if count == 1 else inbox_link(link_base)}


def _cut(text: str, limit: int) -> str:
    from chalicelib.domain.escalation import cut_at_word

    return cut_at_word(text, limit)


def template_variables() -> dict[str, set[str]]:
    """Each template's variables (what a carrier registration lists)."""
    return {f"{kind}.{lang}": {name for part in texts for _, name, _, _ in Formatter().parse(part) if name}
            for kind, langs in TEMPLATES.items() for lang, texts in langs.items()}
