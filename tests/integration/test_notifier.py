"""Escalations that reach people (moto's DynamoDB, SNS SMS and SES): per person and channel, in
their language, one digest per window, receipts, fallback, and what happens when providers or
the notifier fail."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from chalicelib.adapters.staff_directory import DynamoStaffDirectory
from chalicelib.bootstrap import build_notifier_service
from chalicelib.config import Settings
from chalicelib.domain.delivery import DeliveryState
from chalicelib.domain.messages import sms_segments
from chalicelib.services.notifier import NotifierService
from tests.conftest import FakeClock

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def sent_sms() -> list[tuple[str, str]]:
    return list(sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values())


def sent_emails() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


@dataclass
class Desk:
    clock: FakeClock
    settings: Settings
    ddb: Any
    sns: Any
    ses: Any
    staff: dict[str, Any]

    def notifier(self, sns: Any | None = None, ses: Any | None = None) -> NotifierService:
        return build_notifier_service(self.settings, self.ddb, sns or self.sns, ses or self.ses, now=self.clock)

    def escalation(self, n: int, level: str = "breach", recipients: tuple[str, ...] = ("Sun Li",),
                   unit: str = "store-xh-01", unit_name: str = "西湖一号店 Xihu Store No. 1") -> dict[str, Any]:
        case_id = f"CD-TEST-{n:04d}-AAAA"
        return {"kind": "escalation", "key": f"{case_id}/acceptance/v1/{level}", "case_id": case_id,
                "clock": "acceptance", "level": level, "case_unit_id": unit, "unit_name": unit_name,
                "time_zone": "Asia/Shanghai", "due_at": (NOW - timedelta(hours=1)).isoformat(),
                "late_levels": [], "recipients": [self.staff[name].staff_id for name in recipients]}

    def deliveries(self, case_id: str) -> list[dict[str, Any]]:
        """The delivery records in the case's partition, as the case page shows them."""
        from chalicelib.adapters.table import from_item

        items = self.ddb.query(TableName=self.settings.table_name, KeyConditionExpression="pk = :pk",
                               ExpressionAttributeValues={":pk": {"S": f"CASE#{case_id}"}})["Items"]
        return [from_item(i)["doc"] for i in items if i["sk"]["S"].startswith("DELIVERY#")]


@pytest.fixture
def desk(settings: Settings) -> Iterator[Desk]:
    ddb, sns, ses = boto3.client("dynamodb"), boto3.client("sns"), boto3.client("sesv2")
    ses.create_email_identity(EmailIdentity=settings.ses_sender)
    ses.create_configuration_set(ConfigurationSetName=settings.ses_configuration_set)
    staff = {m.name: m for m in DynamoStaffDirectory(ddb, settings.table_name).all()}
    yield Desk(FakeClock(NOW), settings.model_copy(update={"console_link_base": "https://cd.example.cn"}),
               ddb, sns, ses, staff)


def test_a_burst_of_breaches_is_one_sms_and_one_email_per_person_and_every_escalation_is_recorded(desk: Desk) -> None:
    notifier = desk.notifier()
    report = notifier.accept([desk.escalation(n) for n in range(30)])
    assert (report.queued, report.sms) == (30, 0)  # gathered first
    desk.clock.advance(seconds=61)
    report = notifier.flush()
    assert (report.people, report.sms, report.emails) == (1, 1, 1)
    [(phone, text)] = sent_sms()
    assert phone == "+8613800000003" and "30件" in text and sms_segments(text) == 1
    assert text.endswith("https://cd.example.cn/c/inbox")
    [email] = sent_emails()
    assert email.destinations["ToAddresses"] == ["sun.li@example.com"]
    assert all(f"CD-TEST-{n:04d}-AAAA" in email.body for n in range(30))
    states = {(d["medium"], d["state"], d["digest_of"]) for d in desk.deliveries("CD-TEST-0007-AAAA")}
    assert states == {("sms", "sent", 30), ("email", "sent", 30)}
    assert notifier.flush().people == 0  # nothing twice


def test_each_person_reads_their_own_language_and_a_link_to_the_case(desk: Desk) -> None:
    notifier = desk.notifier()
    notifier.accept([desk.escalation(1, recipients=("Sun Li",)),
                     desk.escalation(2, unit="store-london-01", unit_name="London Flagship",
                                     recipients=("Alex Reed",))])
    desk.clock.advance(seconds=61)
    notifier.flush()
    [(phone, zh)] = sent_sms()  # Alex Reed has no phone: email only
    assert phone == "+8613800000003"
    assert "已超时" in zh and "https://cd.example.cn/c/CD-TEST-0001-AAAA" in zh and sms_segments(zh) == 1
    emails = {e.destinations["ToAddresses"][0]: e for e in sent_emails()}
    assert "Breached" in emails["alex.reed@example.com"].subject
    assert "https://cd.example.cn/c/CD-TEST-0002-AAAA" in emails["alex.reed@example.com"].body
    [email, sms] = sorted(desk.deliveries("CD-TEST-0002-AAAA"), key=lambda d: d["medium"])
    assert (email["state"], email["fallback_from"]) == ("sent", "sms")  # no phone: email, recorded as fallback
    assert (sms["state"], sms["error"]) == ("failed", "no phone")


def test_within_the_window_a_second_breach_waits_and_comes_as_the_next_digest(desk: Desk) -> None:
    notifier = desk.notifier()
    notifier.accept([desk.escalation(1)])
    desk.clock.advance(seconds=61)
    notifier.flush()
    desk.clock.advance(minutes=2)
    notifier.accept([desk.escalation(2), desk.escalation(3)])
    desk.clock.advance(minutes=5)
    assert notifier.flush().sms == 0  # the window since the first SMS is not over
    desk.clock.advance(minutes=4)
    assert notifier.flush().sms == 1
    assert [text for _, text in sent_sms()][-1].startswith("【投诉台】2件")


def test_an_urgent_notice_inside_the_window_goes_out_at_once_with_what_waited(desk: Desk) -> None:
    """Rulebook §2: a media, regulator or risk-language case is told at once. Inside the window
    after a breach's SMS, a breach waits for the next digest; a notice brings that digest forward
    (a minute's gathering), and the breach that waited goes with it."""
    notifier = desk.notifier()
    notifier.accept([desk.escalation(1)])
    desk.clock.advance(seconds=61)
    assert notifier.flush().sms == 1
    desk.clock.advance(minutes=1)
    notifier.accept([desk.escalation(2)])
    desk.clock.advance(minutes=1)
    assert notifier.flush().sms == 0  # a breach inside the window waits
    notifier.accept([desk.escalation(3, level="notice-owner")])
    desk.clock.advance(seconds=61)
    assert notifier.flush().sms == 1  # 3 minutes after the first SMS, not 10
    assert [text for _, text in sent_sms()][-1].startswith("【投诉台】2件")


class RefusingSns:
    def __init__(self, real: Any, refused: str) -> None:
        self._real, self._refused = real, refused

    def publish(self, **kwargs: Any) -> Any:
        if kwargs.get("PhoneNumber") == self._refused:
            raise ClientError({"Error": {"Code": "InvalidParameter", "Message": "Invalid phone number"}}, "Publish")
        return self._real.publish(**kwargs)


def test_an_sms_refused_for_one_number_falls_back_to_email_and_others_get_their_sms(desk: Desk) -> None:
    notifier = desk.notifier(sns=RefusingSns(desk.sns, "+8613800000003"))
    notifier.accept([desk.escalation(1, recipients=("Sun Li", "Qian Hao"))])
    desk.clock.advance(seconds=61)
    report = notifier.flush()
    assert (report.sms, report.emails, report.failed, report.fallbacks) == (1, 2, 1, 1)
    assert [phone for phone, _ in sent_sms()] == ["+8657188000002"]
    by_person = {(d["name"], d["medium"]): d for d in desk.deliveries("CD-TEST-0001-AAAA")}
    assert by_person["Sun Li", "sms"]["state"] == "failed" and "Invalid phone" in by_person["Sun Li", "sms"]["error"]
    assert by_person["Sun Li", "email"]["fallback_from"] == "sms"


class ThrottledSes:
    def __init__(self, real: Any, failures: int) -> None:
        self._real, self.failures = real, failures

    def send_email(self, **kwargs: Any) -> Any:
        if self.failures:
            self.failures -= 1
            raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "SendEmail")
        return self._real.send_email(**kwargs)


def test_ses_throttling_sends_the_email_a_minute_later_and_the_sms_only_once(desk: Desk) -> None:
    notifier = desk.notifier(ses=ThrottledSes(desk.ses, failures=1))
    notifier.accept([desk.escalation(1)])
    desk.clock.advance(seconds=61)
    notifier.flush()
    assert len(sent_sms()) == 1 and sent_emails() == []
    desk.clock.advance(seconds=61)
    report = notifier.flush()
    assert (report.sms, report.emails) == (0, 1)
    assert len(sent_sms()) == 1 and len(sent_emails()) == 1
    assert {d["state"] for d in desk.deliveries("CD-TEST-0001-AAAA")} == {"sent"}


def test_a_bounce_reported_by_ses_marks_the_email_bounced(desk: Desk) -> None:
    notifier = desk.notifier()
    notifier.accept([desk.escalation(1)])
    desk.clock.advance(seconds=61)
    notifier.flush()
    email = next(d for d in desk.deliveries("CD-TEST-0001-AAAA") if d["medium"] == "email")
    notifier.feedback(email["provider_id"], DeliveryState.BOUNCED, "mailbox does not exist")
    bounced = next(d for d in desk.deliveries("CD-TEST-0001-AAAA") if d["medium"] == "email")
    assert (bounced["state"], bounced["error"]) == ("bounced", "mailbox does not exist")


class CrashingSns:
    """Sends, then the Lambda dies before recording, on the `crash_on`-th message."""

    def __init__(self, real: Any, crash_on: int) -> None:
        self._real, self._crash_on, self.calls = real, crash_on, 0

    def publish(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == self._crash_on:
            raise SystemExit("the Lambda was stopped")
        return self._real.publish(**kwargs)


def test_a_notifier_that_dies_after_two_of_three_people_texts_nobody_twice_and_the_third_on_retry(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.adapters.delivery_store import DynamoDeliveryStore

    notifier = desk.notifier()
    notifier.accept([desk.escalation(1, recipients=("Sun Li", "Qian Hao", "Zhao Min"))])
    desk.clock.advance(seconds=61)
    real_claim, claims = DynamoDeliveryStore.claim, []

    def dies_before_the_third(self: Any, *args: Any) -> Any:
        claims.append(args[0])
        if len(claims) == 3:
            raise SystemExit("the Lambda was stopped")
        return real_claim(self, *args)

    monkeypatch.setattr(DynamoDeliveryStore, "claim", dies_before_the_third)
    with pytest.raises(SystemExit):
        notifier.flush()
    monkeypatch.setattr(DynamoDeliveryStore, "claim", real_claim)
    assert len(sent_sms()) == 2
    desk.clock.advance(minutes=1)  # SQS delivers again / the next scheduled flush
    assert desk.notifier().flush().sms == 1
    phones = [phone for phone, _ in sent_sms()]
    assert len(phones) == 3 and len(set(phones)) == 3, "each of the three texted exactly once"


def test_a_notifier_that_dies_while_sending_reports_that_text_unconfirmed_and_never_resends_it(
        desk: Desk) -> None:
    notifier = desk.notifier(sns=CrashingSns(desk.sns, crash_on=3))
    notifier.accept([desk.escalation(1, recipients=("Sun Li", "Qian Hao", "Zhao Min"))])
    desk.clock.advance(seconds=61)
    with pytest.raises(SystemExit):
        notifier.flush()
    assert len(sent_sms()) == 2
    desk.clock.advance(minutes=6)  # past the dead notifier's lease
    desk.notifier().flush()
    phones = [phone for phone, _ in sent_sms()]
    assert len(phones) == len(set(phones)), "nobody got a second text"
    states = {(d["name"], d["medium"]): d["state"] for d in desk.deliveries("CD-TEST-0001-AAAA")}
    # the third person's SMS was tried when the notifier died: reported, not resent
    assert sorted(v for (name, medium), v in states.items() if medium == "sms") == ["sent", "sent", "unconfirmed"]
    assert all(v == "sent" for (name, medium), v in states.items() if medium == "email")


def test_receipts_from_ses_events_and_sms_delivery_logs_reach_the_case(desk: Desk) -> None:
    """As the notify handler and the SMS receipts function get them in AWS."""
    import base64
    import gzip
    import json

    from chalicelib.adapters.messaging import receipt_from_ses_event, receipts_from_sms_logs

    notifier = desk.notifier()
    notifier.accept([desk.escalation(1)])
    desk.clock.advance(seconds=61)
    notifier.flush()
    sent = {d["medium"]: d for d in desk.deliveries("CD-TEST-0001-AAAA")}
    ses_event = {"eventType": "Bounce", "mail": {"messageId": sent["email"]["provider_id"]},
                 "bounce": {"bounceType": "Permanent",
                            "bouncedRecipients": [{"emailAddress": "sun.li@example.com",
                                                   "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]}}
    notifier.feedback(*receipt_from_ses_event(ses_event))  # type: ignore[misc]
    logs = {"logEvents": [{"id": "1", "timestamp": 0, "message": json.dumps({
        "notification": {"messageId": sent["sms"]["provider_id"]}, "status": "SUCCESS",
        "delivery": {"destination": "+8613800000003", "providerResponse": "Message has been accepted by phone"}})}]}
    data = base64.b64encode(gzip.compress(json.dumps(logs).encode())).decode()
    for receipt in receipts_from_sms_logs(data):
        notifier.feedback(*receipt)
    now = {d["medium"]: d for d in desk.deliveries("CD-TEST-0001-AAAA")}
    assert now["email"]["state"] == "bounced" and "550 5.1.1" in now["email"]["error"]
    assert now["sms"]["state"] == "delivered"
    assert receipt_from_ses_event({"eventType": "Send", "mail": {"messageId": "x"}}) is None


def test_a_units_daily_register_is_emailed_to_its_managers_and_listed_with_what_they_were_sent(desk: Desk) -> None:
    """A report goes by email only (too long for an SMS) and is in each manager's own list of what
    they were sent: their inbox in the console and, locally, the outbox."""
    from chalicelib.adapters.delivery_store import DynamoDeliveryStore

    notifier = desk.notifier()
    subject, body = "Daily register store-xh-01 2026-11-24: 2 open", "Daily register of Xihu Store No. 1\n- CD-1"
    payload = {"kind": "report", "key": "daily-register#store-xh-01#2026-11-24", "subject": subject, "body": body,
               "recipients": [desk.staff["Sun Li"].staff_id]}
    report = notifier.accept([payload])
    assert (report.emails, report.sms) == (1, 0) and sent_sms() == []
    [email] = sent_emails()
    assert email.destinations["ToAddresses"] == ["sun.li@example.com"] and email.subject == subject
    [listed] = DynamoDeliveryStore(desk.ddb, desk.settings.table_name).sent_to(desk.staff["Sun Li"].staff_id)
    assert (listed.medium, listed.state, listed.to) == ("email", "sent", "sun.li@example.com")
    assert listed.text.startswith(subject) and body in listed.text and listed.provider_id
    assert listed.report == "daily-register#store-xh-01#2026-11-24"
    # a report that carries each language's text reaches each manager in theirs (Sun Li reads Chinese)
    texts = {"zh": {"subject": "store-xh-01 2026-11-25 每日登记:未结 1 件", "body": "西湖一号店 每日登记"},
             "en": {"subject": "Daily register store-xh-01 2026-11-25: 1 open", "body": "Daily register"}}
    notifier.accept([{**payload, "key": "daily-register#store-xh-01#2026-11-25", "texts": texts}])
    assert sent_emails()[-1].subject == texts["zh"]["subject"] and "西湖一号店" in sent_emails()[-1].body
    # the person's list is kept 90 days (the table's TTL), not for ever
    assert listed.position and listed.at
    item = desk.ddb.get_item(TableName=desk.settings.table_name,
                             Key={"pk": {"S": f"PERSON#{desk.staff['Sun Li'].staff_id}"}, "sk": {"S": listed.position}})
    kept = int(item["Item"]["expires_at"]["N"]) - listed.at.timestamp()
    assert kept == timedelta(days=90).total_seconds()


def test_a_report_the_queue_delivers_twice_reaches_each_manager_once_and_a_throttled_one_is_retried(
        desk: Desk) -> None:
    """SQS delivers at least once: a report redelivered after a partial failure is not emailed to
    the managers who have it; one SES throttled goes with the queue's next delivery."""
    from chalicelib.services.notifier import TryLater

    payload = {"kind": "report", "key": "daily-register#store-xh-01#2026-11-26", "subject": "Daily register",
               "body": "…", "recipients": [desk.staff["Sun Li"].staff_id]}
    notifier = desk.notifier()
    notifier.accept([payload])
    notifier.accept([payload])  # the same message again
    assert len(sent_emails()) == 1
    throttled = desk.notifier(ses=ThrottledSes(desk.ses, failures=1))
    again = {**payload, "key": "daily-register#store-xh-01#2026-11-27"}
    with pytest.raises(TryLater):
        throttled.accept([again])  # the function fails: SQS keeps the message
    assert len(sent_emails()) == 1
    throttled.accept([again])  # … and delivers it again
    assert len(sent_emails()) == 2
    # a notifier that died between its claim and SES: the copy is taken again once its lease is over
    from chalicelib.adapters.delivery_store import DynamoDeliveryStore

    store = DynamoDeliveryStore(desk.ddb, desk.settings.table_name)
    dead = {**payload, "key": "daily-register#store-xh-01#2026-11-28"}
    assert store.claim_report(desk.staff["Sun Li"].staff_id, dead["key"], desk.clock.now)
    notifier.accept([dead])
    assert len(sent_emails()) == 2  # still its lease
    desk.clock.advance(minutes=11)
    notifier.accept([dead])
    assert len(sent_emails()) == 3
