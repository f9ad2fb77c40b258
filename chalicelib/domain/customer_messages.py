"""What the customer hears from us (rulebook §1 "every matter answered", §2, §5): the receipt, the
answer, the satisfaction survey's reminder, in the customer's language, by SMS and/or email; and
the rules that keep a public form from making us text arbitrary numbers (SMS pumping). Pure: no AWS.

A Chinese SMS fits one segment (70 UCS-2 characters) with a tracking link of up to
`MAX_LINK_BASE` characters before `/track#<token>` (a test renders each template with the longest
values); an English one fits 160 GSM-7 characters. The case number, the full answer and the
reply-by time with its offset are in the email and on the tracking page."""

from __future__ import annotations

import hashlib
import hmac
import html
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from string import Formatter
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from chalicelib.domain.calendar import with_offset
from chalicelib.domain.delivery import DeliveryState, Medium
from chalicelib.domain.models import Case, Channel

# The longest link base (scheme and host) a Chinese SMS has room for: `https://cd.example.cn` is 21.
MAX_LINK_BASE = 24
# Places whose mobiles share the unit country's numbering plan and domestic rates (libphonenumber
# names many UK mobile ranges, e.g. 07911, as Guernsey's, Jersey's or the Isle of Man's).
SAME_NUMBERING_PLAN: dict[str, frozenset[str]] = {"GB": frozenset({"GG", "JE", "IM"})}
# A tracking token sent by SMS: 16 URL-safe characters (96 random bits).
SMS_TOKEN_BYTES = 12


class CustomerMessageKind(StrEnum):
    RECEIPT = "receipt"          # we have your case: number, what happens next, reply-by date, link
    ANSWER = "answer"            # the answer (inquiry), the reply (suggestion), the result (complaint)
    SURVEY_REMINDER = "survey-reminder"  # once, some days after the answer, if no rating came
    REPLY_PROMISED = "reply-promised"    # a suggestion: the date its reply was promised by (rulebook §1)


# kind → language → (sms, email subject, email body). Variables: {case} case number, {reply_by}
# unit-local date and time, {reply_by_full} the same with its UTC offset, {link} the tracking page,
# {next_steps} what happens next, {message} the customer message staff wrote, {unit} the unit.
TEMPLATES: dict[str, dict[str, tuple[str, str, str]]] = {
    "receipt": {
        "zh": ("【投诉台】已登记,{reply_by}前答复{link}",
               "已收到您的来件 {case}",
               "您好,我们已收到您的来件,案件编号 {case}({unit})。\n{next_steps}\n"
               "最迟答复时间:{reply_by_full}。\n查看进度:{link}"),
        "en": ("Complaint Desk: case {case} registered; we answer by {reply_by}. Track it: {link}",
               "We have your case {case}",
               "Thank you. Your case number is {case} ({unit}).\n{next_steps}\n"
               "We will answer by {reply_by_full}.\nFollow your case: {link}"),
    },
    # The receipt of a case whose reply-by has already gone by when it is registered (a letter that
    # lay for days) or that has none: no date that is already past, no "-".
    "receipt-undated": {
        "zh": ("【投诉台】已登记,我们将尽快答复{link}",
               "已收到您的来件 {case}",
               "您好,我们已收到您的来件,案件编号 {case}({unit})。\n{next_steps}\n查看进度:{link}"),
        "en": ("Complaint Desk: case {case} registered; we will answer as soon as we can. Track it: {link}",
               "We have your case {case}",
               "Thank you. Your case number is {case} ({unit}).\n{next_steps}\nFollow your case: {link}"),
    },
    # Praise: the customer is thanked, nothing is promised (rulebook §1 表扬).
    "receipt-praise": {
        "zh": ("【投诉台】感谢您的表扬!我们会转达给相关员工{link}",
               "感谢您的表扬 {case}",
               "您好,您的表扬已登记,编号 {case}({unit})。\n{next_steps}\n查看:{link}"),
        "en": ("Complaint Desk: thank you for your praise ({case}). We will pass it on. {link}",
               "Thank you for your praise ({case})",
               "Your praise is recorded as {case} ({unit}).\n{next_steps}\nSee it here: {link}"),
    },
    # A suggestion: its reply date is promised later, once the leader has looked at it (rulebook §1 建议).
    "receipt-suggestion": {
        "zh": ("【投诉台】建议已登记,答复时间确定后告知您{link}",
               "已收到您的建议 {case}",
               "您好,我们已收到您的建议,编号 {case}({unit})。\n{next_steps}\n查看进度:{link}"),
        "en": ("Complaint Desk: suggestion {case} registered; we will tell you when to expect a reply. {link}",
               "We have your suggestion {case}",
               "Thank you. Your suggestion is registered as {case} ({unit}).\n{next_steps}\nFollow it here: {link}"),
    },
    "reply-promised": {
        "zh": ("【投诉台】建议于{reply_by}前答复{link}",
               "您的建议 {case} 的答复时间",
               "您好,您的建议(编号 {case},{unit})已由负责人受理,我们将在 {reply_by_full} 前答复您。\n"
               "查看进度:{link}"),
        "en": ("Complaint Desk: your suggestion {case} will be answered by {reply_by}. Track it: {link}",
               "When you will hear about your suggestion {case}",
               "Your suggestion {case} ({unit}) has been taken up; we will answer by {reply_by_full}.\n"
               "Follow your case: {link}"),
    },
    "answer": {
        "zh": ("【投诉台】您的来件已有答复,请查看并评价:{link}",
               "您的来件 {case} 已有答复",
               "您好,关于您的来件 {case}({unit}),我们的答复:\n\n{message}\n\n"
               "请告诉我们您是否满意(1–5分):{link}"),
        "en": ("Complaint Desk: case {case} has an answer. Read it and rate us: {link}",
               "The answer to your case {case}",
               "About your case {case} ({unit}), our answer:\n\n{message}\n\n"
               "Please tell us how satisfied you are (1-5): {link}"),
    },
    "survey-reminder": {
        "zh": ("【投诉台】请为处理结果打分(1-5):{link}",
               "请为 {case} 的处理打分",
               "您好,您的来件 {case} 已处理。请告诉我们您是否满意(1–5分):{link}"),
        "en": ("Complaint Desk: how did we do on case {case}? Rate us 1-5: {link}",
               "How did we do on case {case}?",
               "Your case {case} was handled. Please tell us how satisfied you are (1-5): {link}"),
    },
}


class SmsRefusal(StrEnum):
    """Why a customer gets no SMS (each is logged, masked, and counted by reason)."""

    NO_CONSENT = "no-consent"
    WEB_FORM = "web-form"              # an unconfirmed number typed into a public form: email instead
    NOT_VALID = "not-a-valid-number"
    FOREIGN = "not-the-units-country"
    NOT_MOBILE = "not-a-mobile-number"  # premium rate, toll free, shared cost, fixed line, …
    DAILY_CAP = "daily-cap-reached"


@dataclass(frozen=True)
class SmsTarget:
    """A number we may text: its E.164 form (what SNS takes) or why not."""

    e164: str | None
    refusal: SmsRefusal | None


def sms_target(case: Case, country: str) -> SmsTarget:
    """The rules before any customer SMS (the per-number daily cap is checked by the store):
    consent; never a number typed into the public web form (it is unconfirmed: those customers
    get email and their receipt page instead); a valid mobile number of the unit's own country
    (no foreign, premium-rate, toll-free or shared-cost number: the targets of SMS pumping)."""
    import phonenumbers
    from phonenumbers import PhoneNumberType

    if not case.customer.contact_consent:
        return SmsTarget(None, SmsRefusal.NO_CONSENT)
    if case.channel is Channel.WEB:
        return SmsTarget(None, SmsRefusal.WEB_FORM)
    try:
        number = phonenumbers.parse(case.customer.phone, country)
    except phonenumbers.NumberParseException:
        return SmsTarget(None, SmsRefusal.NOT_VALID)
    if not phonenumbers.is_valid_number(number):
        return SmsTarget(None, SmsRefusal.NOT_VALID)
    region = phonenumbers.region_code_for_number(number)
    if region != country and region not in SAME_NUMBERING_PLAN.get(country, ()):
        return SmsTarget(None, SmsRefusal.FOREIGN)
    if phonenumbers.number_type(number) not in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return SmsTarget(None, SmsRefusal.NOT_MOBILE)
    return SmsTarget(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None)


def number_key(e164: str, secret: bytes | None) -> str:
    """The per-number counter's key: keyed with the customer key (HMAC, as the customer index), so
    the table holds no number anyone could recover by hashing every number there is. A stage
    always has the key (infra/resources.yaml: CustomerKey); only tests go without it."""
    if secret is None:
        return hashlib.sha256(e164.encode()).hexdigest()[:32]
    return hmac.new(secret, b"sms-allowance:" + e164.encode(), hashlib.sha256).hexdigest()[:32]


def masked(address: str | None) -> str:
    """A phone (last two digits) or email (first letter and domain) as logs and views show it."""
    if not address:
        return "-"
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    digits = [ch for ch in address if ch.isdigit()]
    return "*" * 6 + "".join(digits[-2:])


def tracking_link(base: str, token: str) -> str:
    """The customer's status page; the token stays in the fragment, never in a server's log."""
    return f"{base.rstrip('/')}/track#{token}"


@dataclass(frozen=True)
class CustomerText:
    language: str
    sms: str
    subject: str
    text: str
    html: str


def render_customer(kind: CustomerMessageKind, language: str, case_id: str, unit: str, link: str,
                    reply_by: datetime | None = None, time_zone: str = "UTC", next_steps: str = "",
                    message: str = "", now: datetime | None = None, case_type: str = "") -> CustomerText:
    """One customer message in their language, from the catalogue; a receipt thanks for praise,
    tells a suggestion's customer the reply date will follow, and promises a reply-by only while
    it is ahead (`now`)."""
    from chalicelib.domain.messages import unit_label

    language = language if language in ("zh", "en") else "zh"
    if kind is CustomerMessageKind.RECEIPT and case_type in ("praise", "suggestion"):
        reply_by, template = None, f"receipt-{case_type}"
    elif kind is CustomerMessageKind.RECEIPT and (reply_by is None or (now is not None and reply_by <= now)):
        reply_by, template = None, "receipt-undated"
    else:
        template = kind.value
    local = reply_by.astimezone(ZoneInfo(time_zone)) if reply_by else None
    values = {"case": case_id, "unit": unit_label(unit, language), "link": link, "next_steps": next_steps,
              "message": message,
              "reply_by": local.strftime("%m-%d %H:%M") if local else "-",
              "reply_by_full": with_offset(local) if local else "-"}
    sms_t, subject_t, body_t = TEMPLATES[template][language]
    text = body_t.format(**values)
    body = "".join(f"<p>{html.escape(part).replace(chr(10), '<br>')}</p>" for part in text.split("\n\n"))
    page = f'<!doctype html><html lang="{language}"><body>{body}</body></html>'
    return CustomerText(language, sms_t.format(**values), subject_t.format(**values), text, page)


def customer_template_variables() -> dict[str, set[str]]:
    """Each template's variables (what a carrier registration lists)."""
    return {f"{kind}.{lang}": {name for part in texts for _, name, _, _ in Formatter().parse(part) if name}
            for kind, langs in TEMPLATES.items() for lang, texts in langs.items()}


class CustomerMessageView(BaseModel):
    """A message to the customer on one channel and what became of it (as managers' deliveries),
    as staff, the case page and the archived file see it: the address masked and the tracking link
    without its token (`CustomerMessage.view`)."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    message_id: str          # <created>#<kind>#<medium>: its place in the case's partition
    kind: CustomerMessageKind
    medium: Medium
    to: str
    language: str
    text: str                # the SMS, or the email's text part
    subject: str | None = None
    segments: int | None = None
    state: DeliveryState = DeliveryState.QUEUED
    attempts: int = 0
    provider_id: str | None = None
    error: str | None = None
    created_at: datetime
    sent_at: datetime | None = None


class CustomerMessage(CustomerMessageView):
    """The message as stored and sent: `to` is the E.164 phone or the email address, `html` the
    email's page."""

    html: str | None = None

    def view(self) -> CustomerMessageView:
        """What the case shows staff: the text as the customer got it, but the address masked and
        the tracking link without its token (with it, anyone could rate in the customer's name)."""
        import re

        return CustomerMessageView.model_validate({
            **self.model_dump(exclude={"html", "to", "text"}), "to": masked(self.to),
            "text": re.sub(r"(/track#)[\w-]+", r"\1***", self.text)})


# What the complainant is told after filing (rulebook §1, §8), in both languages of the form.
NEXT_STEPS = {
    "complaint": {"en": "The store will contact you within 24 hours and handle your complaint within "
                        "3 working days (at most 7 working days in special cases, approved by a manager); "
                        "you will be told the result.",
                  "zh": "门店将在24小时内与您联系,并在3个工作日内处理完毕并告知结果(特殊情况经经理批准,"
                        "不超过7个工作日)。"},
    "inquiry": {"en": "You will get an answer within 24 hours.", "zh": "我们将在24小时内答复您。"},
    "suggestion": {"en": "Your suggestion will be considered within 24 hours and you will be told when to "
                         "expect a reply.", "zh": "我们将在24小时内受理您的建议,并告知答复时间。"},
    "praise": {"en": "Thank you for your praise. We will pass it on to the staff concerned and share it at "
                     "the store's staff meeting.",
               "zh": "感谢您的表扬!我们会转达给相关员工,并在门店例会上通报表扬。"},
}

# … and when the first 24 hours from the case's arrival had gone by before it was registered (a
# back-dated letter): the store gets in touch as soon as it can, not "within 24 hours".
NEXT_STEPS_LATE = {
    "complaint": {"en": "The store will contact you shortly and tell you the result once your complaint is "
                        "handled.",
                  "zh": "门店将尽快与您联系,处理完毕后告知结果。"},
    "inquiry": {"en": "You will get an answer shortly.", "zh": "我们将尽快答复您。"},
    "suggestion": {"en": "Your suggestion will be considered shortly and you will be told when to expect a reply.",
                   "zh": "我们将尽快受理您的建议,并告知答复时间。"},
    "praise": NEXT_STEPS["praise"],
}


def next_steps(case_type: str, language: str, first_day_over: bool) -> str:
    """What the customer is told happens next (rulebook §1, §8): the usual promise, or, for a case
    registered after its first 24 hours were over, what can still be kept."""
    return (NEXT_STEPS_LATE if first_day_over else NEXT_STEPS)[case_type][language]


# The answer's text when staff resolved without a message for the customer (complaints, praise).
HANDLED = {"zh": "您的来件已处理完毕。", "en": "Your case has been handled."}
