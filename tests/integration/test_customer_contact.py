"""The customer hears back (moto's DynamoDB, SNS SMS and SES, through the API): a receipt on every
channel where they agreed to be contacted, the answer when the case is resolved, the satisfaction
survey on the tracking page, its one reminder, and what happens when a provider fails."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from chalicelib.bootstrap import build_customer_contact_service
from chalicelib.config import get_settings
from chalicelib.domain.messages import sms_segments
from tests.conftest import HOTLINE_KEY, JSON, FakeClock, complaint

ANONYMOUS = {**JSON, "Authorization": ""}
HOTLINE = {**JSON, "x-api-key": HOTLINE_KEY}


def sent_sms() -> list[tuple[str, str]]:
    return list(sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values())


def sent_emails() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def verified_sender() -> None:
    boto3.client("sesv2").create_email_identity(EmailIdentity=get_settings().ses_sender)


def consenting(phone: str = "13800001234", email: str | None = "wang.fang@example.com",
               language: str = "zh") -> dict[str, Any]:
    return {"name": "Wang Fang", "phone": phone, "contact_consent": True, "language": language,
            **({"email": email} if email else {})}


def hotline(api: Any, **overrides: Any) -> dict[str, Any]:
    body = complaint(**overrides)
    body.pop("channel")
    answer = api.post("/intake/hotline", headers=HOTLINE, body=json.dumps({**body, "receiver": "agent 7"}))
    assert answer.status_code == 201, answer.json_body
    return answer.json_body


def token_in(text: str) -> str:
    return text.split("/track#", 1)[1].split()[0]


def act(api: Any, case: dict[str, Any], action: str, **body: Any) -> dict[str, Any]:
    answer = api.post(f"/cases/{case['case_id']}/{action}", headers=JSON,
                      body=json.dumps({"version": case["version"], **body}))
    assert answer.status_code == 200, answer.json_body
    return answer.json_body


def test_a_london_customer_who_agreed_is_texted_in_england_s_store_too(api: Any) -> None:
    """The London store counts England's calendar (`GB-ENG`); its customers' numbers are read as
    British ones (`07911 …` is +44 7911 …), not refused as numbers of no country."""
    verified_sender()
    case = api.post("/cases", headers=JSON, body=json.dumps(complaint(
        unit_id="store-london-01", channel="in_store",
        customer={**consenting(phone="07911 123457", email=None, language="en"), "name": "Jane Doe"})))
    assert case.status_code == 201, case.json_body
    (to, sms), = sent_sms()
    assert to == "+447911123457" and sms.startswith("Complaint Desk: case CD-")
    assert [(m["medium"], m["state"]) for m in case.json_body["customer_messages"]] == [("sms", "sent")]


def test_a_customer_nobody_asked_about_language_is_written_to_in_the_units(api: Any) -> None:
    """Chinese for a store in China, English for the London store, when the intake names no language."""
    verified_sender()
    for unit_id, phone in (("store-london-01", "07911 123457"), ("store-xh-01", "13800001234")):
        customer = {"name": "Jane Doe", "phone": phone, "contact_consent": True}
        case = api.post("/cases", headers=JSON, body=json.dumps(complaint(unit_id=unit_id, channel="in_store",
                                                                           customer=customer)))
        assert case.status_code == 201, case.json_body
    (_, london), (_, hangzhou) = sent_sms()
    assert london.startswith("Complaint Desk: case CD-") and hangzhou.startswith("【投诉台】已登记")


def test_a_hotline_caller_who_agreed_gets_a_receipt_by_sms_and_email_in_their_language(api: Any) -> None:
    verified_sender()
    case = hotline(api, customer=consenting())
    (to, sms), = sent_sms()
    assert to == "+8613800001234" and sms.startswith("【投诉台】已登记,") and sms_segments(sms) == 1
    (mail,) = sent_emails()
    assert mail.destinations["ToAddresses"] == ["wang.fang@example.com"]
    assert case["case_id"] in mail.subject and case["case_id"] in mail.body
    assert "(UTC+08:00)" in mail.body and "3个工作日" in mail.body  # reply-by in the unit's time, what happens next
    # the link in the SMS is the customer's tracking page
    tracked = api.get(f"/public/track/{token_in(sms)}", headers={"Authorization": ""})
    assert tracked.status_code == 200 and tracked.json_body["case_number"] == case["case_id"]
    # staff see each message's state on the case, the number masked
    shown = api.get(f"/cases/{case['case_id']}").json_body["customer_messages"]
    assert [(m["kind"], m["medium"], m["state"]) for m in shown] == [("receipt", "email", "sent"),
                                                                    ("receipt", "sms", "sent")]
    assert {m["to"] for m in shown} == {"w***@example.com", "******34"} and all(m["provider_id"] for m in shown)
    assert token_in(sms) not in json.dumps(shown)  # staff cannot rate in the customer's name
    assert all("/track#***" in m["text"] for m in shown)


def test_a_letter_registered_days_late_promises_no_time_that_has_already_gone_by(api: Any) -> None:
    """A letter that arrived 30 hours ago: its first 24 hours are over, so the receipt says the store
    will be in touch soon, and still gives the handling deadline that is ahead. One that lay for
    three weeks is past every deadline: the receipt says we answer as soon as we can, with no date."""
    verified_sender()
    now = datetime.now(UTC)
    for ago, language in ((timedelta(hours=30), "zh"), (timedelta(days=21), "en")):
        case = api.post("/cases", headers=JSON, body=json.dumps(complaint(
            channel="letter", received_at=(now - ago).isoformat(), customer=consenting(language=language))))
        assert case.status_code == 201, case.json_body
    (_, sms_30h), (_, sms_3w) = sent_sms()
    mail_30h, mail_3w = sent_emails()
    assert "24小时" not in mail_30h.body and "门店将尽快与您联系" in mail_30h.body
    assert "最迟答复时间" in mail_30h.body and "前答复" in sms_30h  # handling: 3 working days from arrival, ahead
    assert "within 24 hours" not in mail_3w.body and "contact you shortly" in mail_3w.body
    assert "answer by" not in mail_3w.body + sms_3w and "as soon as we can" in sms_3w and sms_segments(sms_3w) == 1


def test_the_per_number_sms_allowance_is_counted_under_a_keyed_hash_not_one_anyone_can_recompute(
        api: Any, aws: dict[str, str]) -> None:
    """No raw phone in any index: hashing every mobile number there is would undo a plain SHA-256
    of the number; the counter's key is an HMAC under the stage's customer key (Secrets Manager)."""
    import hashlib
    import hmac

    verified_sender()
    hotline(api, customer=consenting())
    counters = boto3.client("dynamodb").scan(
        TableName=aws["TABLE_NAME"], FilterExpression="begins_with(pk, :p)",
        ExpressionAttributeValues={":p": {"S": "SMSCAP#"}})["Items"]
    (counter,) = counters
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=aws["CUSTOMER_KEY_SECRET_ARN"])["SecretString"]
    keyed = hmac.new(secret.encode(), b"sms-allowance:+8613800001234", hashlib.sha256).hexdigest()[:32]
    assert counter["pk"]["S"] == f"SMSCAP#{keyed}" and counter["hits"]["N"] == "1"
    assert hashlib.sha256(b"+8613800001234").hexdigest()[:32] not in json.dumps(counter)


def test_a_suggestions_customer_is_told_the_promised_reply_date_and_a_praiser_is_thanked(api: Any) -> None:
    """Rulebook §1: the receipt of a suggestion says the customer will be told when to expect a
    reply; once the leader promises a date, they are. Praise is thanked, nothing promised."""
    verified_sender()
    body = complaint(type="suggestion", channel="letter", cause=None, expectation=None,
                     customer=consenting(), five_w={"what": "please stock oat milk"})
    case = api.post("/cases", headers=JSON, body=json.dumps(body)).json_body
    case = act(api, case, "accept")
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()  # before the accepted case's 24 h
    act(api, case, "promise-reply", reply_by=today.isoformat(), decision="trial oat milk in three stores",
        decided_by="Qian Hao")
    (_, receipt), (_, promised) = sent_sms()
    assert receipt.startswith("【投诉台】建议已登记,答复时间确定后告知您")  # no date yet: none promised
    assert "最迟答复时间" not in sent_emails()[0].body
    # the promised date, not the acceptance deadline the case had met (the latest of its clocks)
    assert promised.startswith(f"【投诉台】建议于{today:%m-%d} 23:59前答复") and sms_segments(promised) == 1
    assert f"{today} 23:59 (UTC+08:00)" in sent_emails()[-1].body
    shown = api.get(f"/cases/{case['case_id']}").json_body["customer_messages"]
    assert {m["kind"] for m in shown} == {"receipt", "reply-promised"}

    praise = complaint(type="praise", channel="in_store", cause=None, expectation=None,
                       customer=consenting(language="en"), five_w={"what": "Chen Jie carried my bags"})
    assert api.post("/cases", headers=JSON, body=json.dumps(praise)).status_code == 201
    thanks = sent_sms()[-1][1]
    assert thanks.startswith("Complaint Desk: thank you for your praise") and "answer" not in thanks


def test_no_message_without_consent(api: Any) -> None:
    verified_sender()
    hotline(api, customer={"name": "Wang Fang", "phone": "13800001234", "email": "wang.fang@example.com"})
    staff = api.post("/cases", headers=JSON, body=json.dumps(complaint(
        channel="letter", customer={**consenting(), "contact_consent": False})))
    assert staff.status_code == 201
    assert sent_sms() == [] and sent_emails() == [] and staff.json_body["customer_messages"] == []


def test_an_english_speaking_in_store_customer_is_written_to_in_english(api: Any) -> None:
    verified_sender()
    api.post("/cases", headers=JSON, body=json.dumps(complaint(channel="in_store", customer=consenting(language="en"))))
    (_, sms), = sent_sms()
    assert sms.startswith("Complaint Desk: case CD-") and sms_segments(sms) == 1 and sms.isascii()
    assert sent_emails()[0].subject.startswith("We have your case CD-")


def test_the_answer_reaches_the_customer_and_stops_the_inquirys_clock_then_they_rate_it_on_the_tracking_page(
        api: Any) -> None:
    verified_sender()
    case = api.post("/cases", headers=JSON, body=json.dumps(complaint(
        type="inquiry", channel="letter", customer=consenting()))).json_body
    token = token_in(sent_sms()[0][1])
    case = act(api, case, "accept")
    refused = api.post(f"/cases/{case['case_id']}/resolve", headers=JSON,
                       body=json.dumps({"version": case["version"], "result": "checked the opening hours"}))
    assert refused.status_code == 400 and "customer_message" in refused.json_body["fields"]
    case = act(api, case, "resolve", result="internal: asked the store manager",
               customer_message="We are open on New Year's Day from 9:00 to 18:00.")
    assert case["deadlines"]["answer"]["state"] == "met"
    (to, answer_sms) = sent_sms()[-1]
    assert to == "+8613800001234" and "已有答复" in answer_sms and token_in(answer_sms) == token
    assert "9:00 to 18:00" in sent_emails()[-1].body and "internal" not in sent_emails()[-1].body

    page = api.get(f"/public/track/{token}", headers={"Authorization": ""}).json_body
    assert page["answer"] == "We are open on New Year's Day from 9:00 to 18:00." and page["survey"]["open"]
    assert "internal" not in json.dumps(page)  # staff notes never reach the tracking page

    bad = api.post(f"/public/track/{token}/rating", headers=ANONYMOUS, body=json.dumps({"satisfaction": 7}))
    assert bad.status_code == 400 and "satisfaction" in bad.json_body["fields"]
    rated = api.post(f"/public/track/{token}/rating", headers=ANONYMOUS,
                     body=json.dumps({"satisfaction": 4, "comment": "quick answer"}))
    assert rated.status_code == 200, rated.json_body
    assert rated.json_body["status"] == "closed" and rated.json_body["survey"] == {
        "open": False, "rating": 4, "by_customer": True}
    again = api.post(f"/public/track/{token}/rating", headers=ANONYMOUS, body=json.dumps({"satisfaction": 1}))
    assert again.status_code == 409
    closed = api.get(f"/cases/{case['case_id']}").json_body
    assert closed["feedback"]["source"] == "customer" and closed["feedback"]["satisfaction"] == 4
    assert closed["feedback"]["recorded_by"] is None and closed["history"][-1]["actor"] == "customer"


def test_without_a_customer_message_the_customer_never_reads_staffs_own_result(api: Any) -> None:
    verified_sender()
    case = api.post("/cases", headers=JSON, body=json.dumps(complaint(
        channel="letter", customer=consenting(language="en")))).json_body
    case = act(api, case, "accept")
    case = act(api, case, "assign", handler="Chen Jie")
    case = act(api, case, "record-finding", kind="customer_issue", detail="misread the label")
    act(api, case, "resolve", result="internal: customer misread the shelf label, no refund")
    answer = sent_emails()[-1]
    assert "Your case has been handled." in answer.body and "internal" not in answer.body


def test_staff_still_record_feedback_given_by_phone_marked_as_such(api: Any) -> None:
    case = api.post("/cases", headers=JSON, body=json.dumps(complaint(
        type="praise", channel="in_store", praised={"description": "the cashier at checkout 2"}))).json_body
    case = act(api, case, "accept")
    case = act(api, case, "resolve", result="thanked the cashier", customer_message="Thank you, we told her.")
    closed = act(api, case, "record-feedback", satisfied=True, satisfaction=5, comment="said so on the phone")
    assert closed["feedback"]["source"] == "phone" and closed["feedback"]["recorded_by"] == "Li Na"


def test_a_web_filer_who_agreed_gets_the_receipt_by_email_never_by_sms(api: Any) -> None:
    verified_sender()
    body = complaint(customer=consenting())
    body.pop("channel")
    filed = api.post("/public/cases", headers=ANONYMOUS, body=json.dumps(body))
    assert filed.status_code == 201
    assert sent_sms() == []
    (mail,) = sent_emails()
    assert filed.json_body["tracking_token"] in mail.body and filed.json_body["case_number"] in mail.subject


def test_a_provider_failure_loses_nothing_the_deliver_schedule_sends_it_later(api: Any, aws: dict[str, str],
                                                                              caplog: pytest.LogCaptureFixture) -> None:
    """SNS throttled at intake: the case is stored, the SMS waits (queued, logged, counted) and the
    next `deliver` run sends it once."""
    import app as app_module
    from chalicelib import bootstrap

    verified_sender()
    real = bootstrap.sns_client()
    calls = {"n": 0}

    class Throttled:
        def publish(self, **kwargs: Any) -> Any:
            calls["n"] += 1
            raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "Publish")

    original = bootstrap.sns_client
    bootstrap.sns_client = lambda: Throttled()  # type: ignore[assignment]
    try:
        bootstrap.case_service.cache_clear()
        case = hotline(api, customer=consenting(email=None))
    finally:
        bootstrap.sns_client = original  # type: ignore[assignment]
        bootstrap.case_service.cache_clear()
    assert calls["n"] == 1 and sent_sms() == []
    shown = api.get(f"/cases/{case['case_id']}").json_body["customer_messages"]
    assert [(m["state"], m["attempts"]) for m in shown] == [("queued", 1)]
    assert any("retried in a minute" in r.getMessage() for r in caplog.records)

    later = FakeClock(datetime.now(UTC) + timedelta(minutes=2))
    contact = build_customer_contact_service(get_settings(), sns=real, now=later)
    assert contact.run_due().sent == 1
    assert [to for to, _ in sent_sms()] == ["+8613800001234"]
    assert contact.run_due().sent == 0  # sent once
    shown = api.get(f"/cases/{case['case_id']}").json_body["customer_messages"]
    assert [(m["state"], m["attempts"]) for m in shown] == [("sent", 2)]
    assert app_module  # the deliver schedule calls the same run (app.deliver)


def test_the_survey_reminder_goes_once_after_the_configured_days_and_not_after_a_rating(api: Any) -> None:
    verified_sender()
    cases = []
    for phone in ("13800001234", "13900005678"):
        case = api.post("/cases", headers=JSON, body=json.dumps(complaint(
            type="inquiry", channel="letter", customer=consenting(phone=phone, email=None)))).json_body
        case = act(api, case, "accept")
        cases.append(act(api, case, "resolve", result="done", customer_message="Open 9 to 18."))
    rated_token = token_in(next(sms for to, sms in sent_sms() if to == "+8613900005678"))
    assert api.post(f"/public/track/{rated_token}/rating", headers=ANONYMOUS,
                    body=json.dumps({"satisfaction": 5})).status_code == 200
    register = api.get("/reports/daily-register?unit_id=store-xh-01").json_body
    assert register["awaiting_feedback"] == [cases[0]["case_id"]]  # the one still waiting for a rating
    before = len(sent_sms())
    days = get_settings().survey_reminder_days
    def contact_at(later: timedelta) -> Any:
        return build_customer_contact_service(get_settings(), now=FakeClock(datetime.now(UTC) + later))

    early = contact_at(timedelta(days=days - 0.5))
    assert early.run_due().reminders == 0
    due = contact_at(timedelta(days=days, hours=1))
    assert due.run_due().reminders == 1 and due.run_due().reminders == 0
    reminders = sent_sms()[before:]
    assert [to for to, _ in reminders] == ["+8613800001234"] and "打分" in reminders[0][1]


def test_receipts_from_ses_and_sms_logs_move_the_customer_messages_on(api: Any) -> None:
    """The notify function's SES events and the receipts function's SMS logs: a message id the
    managers' deliveries do not know is a customer's."""
    import base64
    import gzip

    import app as app_module

    verified_sender()
    case = hotline(api, customer=consenting())
    ids = {m["medium"]: m["provider_id"] for m in api.get(f"/cases/{case['case_id']}").json_body["customer_messages"]}
    bounce = {"eventType": "Bounce", "mail": {"messageId": ids["email"]},
              "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"status": "5.1.1"}]}}
    app_module.notify({"Records": [{"messageId": "1", "receiptHandle": "r", "body": json.dumps(bounce),
                                    "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs",
                                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                                    "awsRegion": "us-east-1"}]}, None)
    logs = {"logEvents": [{"message": json.dumps({"notification": {"messageId": ids["sms"]}, "status": "SUCCESS"})}]}
    data = base64.b64encode(gzip.compress(json.dumps(logs).encode())).decode()
    assert app_module.sms_receipts({"awslogs": {"data": data}}, None) == {"receipts": 1}
    states = {m["medium"]: m["state"] for m in api.get(f"/cases/{case['case_id']}").json_body["customer_messages"]}
    assert states == {"email": "bounced", "sms": "delivered"}


def test_one_rating_per_case_even_after_it_is_reopened_and_answered_again(api: Any) -> None:
    verified_sender()
    case = api.post("/cases", headers=JSON, body=json.dumps(complaint(
        type="inquiry", channel="letter", customer=consenting(email=None)))).json_body
    token = token_in(sent_sms()[0][1])
    case = act(api, case, "accept")
    act(api, case, "resolve", result="done", customer_message="Open 9 to 18.")
    assert api.post(f"/public/track/{token}/rating", headers=ANONYMOUS,
                    body=json.dumps({"satisfaction": 2})).status_code == 200
    case = api.get(f"/cases/{case['case_id']}").json_body
    case = act(api, case, "reopen", reason="the customer called back")
    act(api, case, "resolve", result="checked again", customer_message="Open 9 to 18, also on holidays.")
    page = api.get(f"/public/track/{token}", headers={"Authorization": ""}).json_body
    assert page["status"] == "resolved" and page["survey"]["open"] is False
    again = api.post(f"/public/track/{token}/rating", headers=ANONYMOUS, body=json.dumps({"satisfaction": 5}))
    assert again.status_code == 409 and "already been rated" in again.json_body["message"]


def test_the_archived_case_file_keeps_what_the_customer_was_sent(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rulebook §7: the handling record includes the answer the customer received, and how."""
    from chalicelib import bootstrap

    verified_sender()
    monkeypatch.setenv("ARCHIVE_SETTLE_HOURS", "0")
    get_settings.cache_clear()
    case = api.post("/cases", headers=JSON, body=json.dumps(complaint(
        type="inquiry", channel="letter", customer=consenting()))).json_body
    case = act(api, case, "accept")
    case = act(api, case, "resolve", result="done", customer_message="Open 9 to 18.")
    act(api, case, "close", reason="answered; the customer did not rate")
    assert bootstrap.build_archive_service(get_settings()).run().archived == 1
    bucket = boto3.client("s3")
    key = next(o["Key"] for o in bucket.list_objects_v2(Bucket=get_settings().archive_bucket)["Contents"]
               if o["Key"].endswith(".json") and case["case_id"] in o["Key"])
    archived = json.loads(bucket.get_object(Bucket=get_settings().archive_bucket, Key=key)["Body"].read())
    sent = [(m["kind"], m["medium"], m["state"]) for m in archived["customer_messages"]]
    assert sent == [("receipt", "email", "sent"), ("receipt", "sms", "sent"), ("answer", "email", "sent"),
                    ("answer", "sms", "sent")]
    assert archived["resolution"]["customer_message"] == "Open 9 to 18."
    assert "/track#***" in archived["customer_messages"][0]["text"]  # no live token in a file kept for years
