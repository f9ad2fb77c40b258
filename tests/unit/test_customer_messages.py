"""What the customer is sent (chalicelib/domain/customer_messages.py): every template fits one SMS
segment in each language with the longest real values, the email carries what the SMS cannot,
and the SMS rules refuse what an SMS pumper would type."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.customer_messages import (
    MAX_LINK_BASE,
    SMS_TOKEN_BYTES,
    TEMPLATES,
    CustomerMessageKind,
    SmsRefusal,
    customer_template_variables,
    masked,
    next_steps,
    render_customer,
    sms_target,
    tracking_link,
)
from chalicelib.domain.messages import sms_encoding, sms_segments
from chalicelib.domain.models import Case, CaseType, Channel, Customer, FiveW, Status

LONGEST_BASE = "https://" + "c" * (MAX_LINK_BASE - len("https://"))
TOKEN = secrets.token_urlsafe(SMS_TOKEN_BYTES)
NOW = datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("kind", list(CustomerMessageKind))
def test_every_customer_sms_fits_one_segment_with_the_longest_link_and_values(kind: CustomerMessageKind,
                                                                                language: str) -> None:
    link = tracking_link(LONGEST_BASE, TOKEN)
    rendered = render_customer(kind, language, "CD-WWWW-WWWW-WWWW", "西湖县公司 Xihu County Company Headquarters",
                               link, NOW, "Asia/Shanghai", "next steps", "x" * 4000)
    assert sms_segments(rendered.sms) == 1, (len(rendered.sms), rendered.sms)
    assert link in rendered.sms and link in rendered.text
    if language == "en":
        assert sms_encoding(rendered.sms) == "GSM-7" and "CD-WWWW-WWWW-WWWW" in rendered.sms
    assert "CD-WWWW-WWWW-WWWW" in rendered.subject and len(rendered.subject) < 100


def test_the_receipt_email_has_the_case_number_next_steps_and_reply_by_in_unit_time_with_its_offset() -> None:
    rendered = render_customer(CustomerMessageKind.RECEIPT, "zh", "CD-AAAA-BBBB-CCCC", "西湖一号店 Xihu Store No. 1",
                               "https://cd.example.cn/track#t", NOW, "Asia/Shanghai", "3个工作日内处理")
    assert "CD-AAAA-BBBB-CCCC" in rendered.text and "3个工作日内处理" in rendered.text
    assert "2026-12-31 23:59 (UTC+08:00)" in rendered.text and "12-31 23:59" in rendered.sms
    assert "西湖一号店" in rendered.text and "Xihu" not in rendered.text  # the unit in the customer's language


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_receipt_whose_reply_by_has_gone_by_names_no_date_and_still_fits_one_segment(language: str) -> None:
    link = tracking_link(LONGEST_BASE, TOKEN)
    rendered = render_customer(CustomerMessageKind.RECEIPT, language, "CD-WWWW-WWWW-WWWW", "Xihu", link, NOW,
                               "Asia/Shanghai", next_steps("complaint", language, True), now=NOW)
    assert "12-31" not in rendered.sms + rendered.text and "-\n" not in rendered.text
    assert ("尽快" if language == "zh" else "as soon as we can") in rendered.sms and sms_segments(rendered.sms) == 1
    ahead = render_customer(CustomerMessageKind.RECEIPT, language, "CD-WWWW-WWWW-WWWW", "Xihu", link, NOW,
                            "Asia/Shanghai", now=NOW - timedelta(seconds=1))
    assert "12-31 23:59" in ahead.sms  # one second before it, the date is still a promise


@pytest.mark.parametrize("case_type", ["praise", "suggestion"])
@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_praise_or_suggestion_receipt_promises_no_date_and_fits_one_segment(language: str, case_type: str) -> None:
    link = tracking_link(LONGEST_BASE, TOKEN)
    rendered = render_customer(CustomerMessageKind.RECEIPT, language, "CD-WWWW-WWWW-WWWW", "Xihu", link, NOW,
                               "Asia/Shanghai", next_steps(case_type, language, False), now=NOW, case_type=case_type)
    said = {("praise", "zh"): "感谢您的表扬", ("praise", "en"): "thank you for your praise",
            ("suggestion", "zh"): "答复时间确定后告知您", ("suggestion", "en"): "we will tell you when"}
    assert said[(case_type, language)] in rendered.sms and rendered.text.count("感谢您的表扬") <= 1
    assert "12-31" not in rendered.sms + rendered.text and sms_segments(rendered.sms) == 1
    if language == "en":
        assert sms_encoding(rendered.sms) == "GSM-7"


def test_the_first_24_hours_are_promised_only_while_they_last() -> None:
    for case_type in ("complaint", "inquiry", "suggestion"):
        assert "24" in next_steps(case_type, "en", False) and "24" in next_steps(case_type, "zh", False)
        assert "24" not in next_steps(case_type, "en", True) and "24" not in next_steps(case_type, "zh", True)
    assert next_steps("praise", "zh", True) == next_steps("praise", "zh", False)


def test_the_answer_email_carries_the_message_escaped_in_html() -> None:
    rendered = render_customer(CustomerMessageKind.ANSWER, "en", "CD-AAAA-BBBB-CCCC", "Xihu", "https://x/track#t",
                               message="<b>refunded</b>")
    assert "<b>refunded</b>" in rendered.text and "&lt;b&gt;refunded&lt;/b&gt;" in rendered.html


def test_each_template_names_its_variables_for_carrier_registration() -> None:
    variables = customer_template_variables()
    assert set(variables) == {f"{kind}.{lang}" for kind in TEMPLATES for lang in ("zh", "en")}
    assert variables["receipt.zh"] >= {"reply_by", "link", "case"} and variables["answer.en"] >= {"message", "link"}


def case_with(phone: str, channel: Channel = Channel.HOTLINE, consent: bool = True) -> Case:
    return Case(case_id="CD-AAAA-BBBB-CCCC", version=1, type=CaseType.COMPLAINT, channel=channel,
                unit_id="store-xh-01", status=Status.RECEIVED,
                customer=Customer(name="Wang Fang", phone=phone, contact_consent=consent),
                five_w=FiveW(what="charged twice"), received_at=NOW, created_at=NOW, updated_at=NOW)


@pytest.mark.parametrize(("phone", "country", "refusal"), [
    ("13800001234", "CN", None),
    ("+86 138 0000 1234", "CN", None),
    ("07911 123456", "GB", None),
    ("+44 7911 123456", "CN", SmsRefusal.FOREIGN),
    ("+371 901 23456", "CN", SmsRefusal.FOREIGN),
    ("+882 16123456", "CN", SmsRefusal.FOREIGN),
    ("400 812 3456", "CN", SmsRefusal.NOT_MOBILE),
    ("800 812 3456", "CN", SmsRefusal.NOT_MOBILE),
    ("09098790123", "GB", SmsRefusal.NOT_MOBILE),
    ("070 1234 5678", "GB", SmsRefusal.NOT_MOBILE),
    ("010 1234 5678", "CN", SmsRefusal.NOT_MOBILE),
    ("+1 876 555 0123", "US", SmsRefusal.FOREIGN),     # Jamaica: +1, but an international rate
    ("123456", "CN", SmsRefusal.NOT_VALID),
])
def test_sms_only_to_a_mobile_number_of_the_units_country(phone: str, country: str,
                                                          refusal: SmsRefusal | None) -> None:
    target = sms_target(case_with(phone), country)
    assert target.refusal == refusal
    assert (target.e164 is not None) == (refusal is None)


def test_no_sms_without_consent_nor_to_a_number_typed_into_the_web_form() -> None:
    assert sms_target(case_with("13800001234", consent=False), "CN").refusal is SmsRefusal.NO_CONSENT
    assert sms_target(case_with("13800001234", Channel.WEB), "CN").refusal is SmsRefusal.WEB_FORM
    assert sms_target(case_with("13800001234"), "CN").e164 == "+8613800001234"


def test_addresses_are_masked_as_logs_show_them() -> None:
    assert masked("+8613800001234") == "******34" and masked("wang.fang@example.com") == "w***@example.com"
    assert masked(None) == "-"
