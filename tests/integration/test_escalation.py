"""Deadline escalation against moto: the ladder, once-only sending under double runs,
failed publishes and crashes, media/regulator notices, acknowledgements and calendar overrides.

Managers' inboxes are SQS queues subscribed with the same filter policy as their SMS/email
subscriptions (local/inbox.py), so a queue holds exactly what a unit's managers would receive."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from chalicelib.adapters.unit_registry import DynamoUnitRegistry
from chalicelib.bootstrap import build_case_service, build_escalation_service
from chalicelib.config import Settings
from chalicelib.domain import commands as cmd
from chalicelib.domain.errors import InvalidInput
from chalicelib.services.cases import CaseService
from chalicelib.services.escalation import EscalationService
from local.inbox import LocalInboxes
from tests.conftest import FakeClock, complaint

MONDAY_9AM_SHANGHAI = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@dataclass
class Desk:
    clock: FakeClock
    cases: CaseService
    settings: Settings
    ddb: Any
    sns: Any
    inbox: LocalInboxes

    def read(self, case_id: str) -> dict[str, Any]:
        """The case document as the API answers it."""
        return self.cases.get(case_id).model_dump(mode="json")

    def escalator(self, sns: Any | None = None) -> EscalationService:
        return build_escalation_service(self.settings, self.ddb, sns or self.sns, now=self.clock)

    def run(self, sns: Any | None = None) -> Any:
        return self.escalator(sns).run()

    def register(self, **overrides: Any) -> dict[str, Any]:
        request = cmd.IntakeRequest.model_validate(complaint(**overrides))
        return self.cases.register(request, None, "test intake").case.model_dump(mode="json")

    def received(self) -> list[tuple[str, str, str]]:
        """(unit, clock, level) of every message delivered since the last call."""
        return [(d.unit.unit_id, d.document["attributes"]["clock"], d.document["attributes"]["level"])
                for d in self.inbox.drain()]


@pytest.fixture
def desk(settings: Settings) -> Iterator[Desk]:
    session = boto3.session.Session(region_name="us-east-1")
    ddb, sns = session.client("dynamodb"), session.client("sns")
    clock = FakeClock(MONDAY_9AM_SHANGHAI)
    units = DynamoUnitRegistry(ddb, settings.table_name).all()
    inbox = LocalInboxes(session, settings.escalation_topic_arn, units, "test")
    yield Desk(clock, build_case_service(settings, ddb, sns, now=clock), settings, ddb, sns, inbox)


def praise(**overrides: Any) -> dict[str, Any]:
    """A case with only the 24-hour acceptance clock."""
    return {"type": "praise", "channel": "web", "cause": None, "five_w": {"what": "cashier Liu was kind"},
            **overrides}


def test_acceptance_ladder_warns_breaches_then_climbs_to_county_and_branch(desk: Desk) -> None:
    desk.register(**praise())
    steps = [(17.9, []), (18, [("store-xh-01", "acceptance", "warning")]),
             (24, []), (24.01, [("store-xh-01", "acceptance", "breach")]),
             (27.9, []), (28, [("county-xh", "acceptance", "up-1")]),
             (32, [("branch-hz", "acceptance", "up-2")]),
             # then the top is reminded daily at 08:00 Hangzhou time while still breached
             (46.9, []), (47, [("branch-hz", "acceptance", "reminder-2026-11-25")]), (60, [])]
    for hours, expected in steps:
        desk.clock.now = MONDAY_9AM_SHANGHAI + timedelta(hours=hours)
        desk.run()
        assert desk.received() == expected, f"at +{hours} h"


def test_a_late_run_sends_the_breach_not_the_stale_warning_before_it(desk: Desk) -> None:
    desk.register(**praise())
    desk.clock.advance(hours=25)
    desk.run()
    assert desk.received() == [("store-xh-01", "acceptance", "breach")]


def test_a_clock_stopped_in_time_never_escalates(desk: Desk) -> None:
    case = desk.register(**praise())
    desk.clock.advance(hours=2)
    desk.cases.act(case["case_id"], "accept", cmd.Accept(actor="Li Na", version=1), None)
    desk.clock.advance(days=3)
    assert desk.run().items_read == 0
    assert desk.received() == []


def test_double_run_and_a_second_instance_send_each_message_once(desk: Desk) -> None:
    desk.register(**praise())
    desk.clock.advance(hours=24, minutes=1)
    first, second, other = desk.run(), desk.run(), desk.escalator().run()
    assert (first.sent, second.sent, other.sent) == (1, 0, 0)
    assert desk.received() == [("store-xh-01", "acceptance", "breach")]


class FlakySns:
    """The real client, except that the first `failures` PublishBatch calls fail: with an error
    (`call-fails`), by refusing every entry (`entries-fail`), or by timing out (`timeout`)."""

    def __init__(self, real: Any, failures: int, mode: str = "call-fails") -> None:
        self._real, self.failures, self._mode = real, failures, mode

    def publish_batch(self, **kwargs: Any) -> dict[str, Any]:
        if self.failures > 0:
            self.failures -= 1
            if self._mode == "timeout":
                raise ReadTimeoutError(endpoint_url="https://sns.us-east-1.amazonaws.com")
            if self._mode == "entries-fail":  # SNS accepted the call but refused every entry
                return {"Successful": [], "Failed": [
                    {"Id": e["Id"], "Code": "InternalError", "SenderFault": False, "Message": "try later"}
                    for e in kwargs["PublishBatchRequestEntries"]]}
            raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "PublishBatch")
        return self._real.publish_batch(**kwargs)


@pytest.mark.parametrize("mode", ["call-fails", "entries-fail", "timeout"])
def test_a_failed_publish_is_kept_pending_and_sent_by_the_next_run(desk: Desk, mode: str) -> None:
    case = desk.register(**praise())
    desk.clock.advance(hours=24, minutes=1)
    flaky = FlakySns(desk.sns, failures=1, mode=mode)
    report = desk.run(flaky)
    assert (report.sent, report.failed) == (0, 1)
    assert desk.received() == []
    [pending] = desk.read(case["case_id"])["escalations"]
    assert (pending["state"], pending["attempts"]) == ("pending", 1)

    desk.clock.advance(minutes=1)
    assert desk.run(flaky).sent == 1
    assert desk.run(flaky).sent == 0
    assert desk.received() == [("store-xh-01", "acceptance", "breach")]
    [sent] = desk.read(case["case_id"])["escalations"]
    assert (sent["state"], sent["attempts"]) == ("sent", 2)


def test_a_crash_between_publish_and_bookkeeping_does_not_send_again(
        desk: Desk, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    from chalicelib.adapters.escalation_store import DynamoEscalationStore

    case = desk.register(**praise())
    desk.clock.advance(hours=24, minutes=1)
    real_record = DynamoEscalationStore.record

    def crash(*_: Any, **__: Any) -> None:
        raise SystemExit("the Lambda was killed after publishing")

    monkeypatch.setattr(DynamoEscalationStore, "record", crash)
    with pytest.raises(SystemExit):
        desk.run()
    monkeypatch.setattr(DynamoEscalationStore, "record", real_record)
    assert desk.received() == [("store-xh-01", "acceptance", "breach")]

    desk.clock.advance(minutes=1)
    assert desk.run().sent == 0  # still within the lease: the claimed escalation is left alone
    desk.clock.advance(minutes=5)
    report = desk.run()
    assert (report.sent, report.unconfirmed) == (0, 1)
    assert desk.received() == []
    [esc] = desk.read(case["case_id"])["escalations"]
    assert esc["state"] == "unconfirmed"
    assert any(r.levelname == "ERROR" and "escalation unconfirmed" in r.getMessage() for r in caplog.records)
    assert '"EscalationsUnconfirmed"' in capsys.readouterr().out  # the metric an alarm watches


def test_a_dynamodb_failure_while_deciding_sends_nothing_and_the_next_run_sends(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    desk.register(**praise())
    desk.clock.advance(hours=24, minutes=1)
    escalator = desk.escalator()
    real = desk.ddb.transact_write_items

    def throttled(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                          "TransactWriteItems")

    monkeypatch.setattr(desk.ddb, "transact_write_items", throttled)
    with pytest.raises(ClientError):
        escalator.run()
    assert desk.received() == []
    monkeypatch.setattr(desk.ddb, "transact_write_items", real)
    assert escalator.run().sent == 1
    assert desk.received() == [("store-xh-01", "acceptance", "breach")]


def test_moving_the_deadline_starts_a_new_ladder_for_the_new_deadline_version(desk: Desk) -> None:
    case = desk.register()
    desk.cases.act(case["case_id"], "accept", cmd.Accept(actor="Li Na", version=1), None)
    # handling: Monday 09:00 → Thursday 23:59:59 local; 75% of it has run by Thursday 02:15 local
    desk.clock.now = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
    desk.run()
    assert desk.received() == [("store-xh-01", "handling", "warning")]
    special = cmd.MarkSpecial(actor="Sun Li", version=2, reason="waiting for the supplier's lab report")
    extended = desk.cases.act(case["case_id"], "mark-special", special, None).model_dump(mode="json")
    assert extended["deadlines"]["handling"]["deadline_version"] == 2
    assert extended["deadlines"]["handling"]["deadline"] == "2026-12-02T23:59:59+08:00"
    desk.run()
    assert desk.received() == []  # the old version's breach is gone with it
    desk.clock.now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    desk.run()
    assert desk.received() == [("store-xh-01", "handling", "warning")]
    versions = [(e["level"], e["deadline_version"]) for e in desk.read(case["case_id"])["escalations"]]
    assert versions == [("warning", 1), ("warning", 2)]


def test_the_due_query_reads_only_what_is_due(desk: Desk) -> None:
    for _ in range(20):
        desk.register(**praise())
    desk.clock.advance(hours=6)
    desk.register(**praise(unit_id="store-xh-02"))
    desk.clock.advance(hours=18, minutes=30)  # the first 20 are breached, the last is at 77%
    report = desk.run()
    assert (report.items_read, report.sent) == (21, 21)
    assert report.items_read / report.sent <= 1.2


def test_messages_are_sms_sized_carry_no_customer_phone_and_are_filtered_by_unit(desk: Desk) -> None:
    case = desk.register()
    desk.clock.advance(hours=24, minutes=1)
    desk.run()
    [delivered] = desk.inbox.drain()
    doc = delivered.document
    assert delivered.unit.unit_id == "store-xh-01"
    assert len(doc["sms"]) <= 160 and case["case_id"] in doc["sms"] and "acceptance" in doc["sms"]
    assert "2026-11-24 09:00 +0800" in doc["sms"]
    assert doc["attributes"] == {"unit": "store-xh-01", "level": "breach", "clock": "acceptance",
                                 "type": "complaint", "case_unit": "store-xh-01"}
    assert case["case_id"] in doc["subject"] and "Xihu Store No. 1" in doc["body"]
    assert not any("13800001234" in doc[part].replace(" ", "") for part in ("sms", "subject", "body"))


def test_media_case_notifies_the_unit_and_the_regional_specialist_at_intake(desk: Desk) -> None:
    case = desk.register(channel="media")
    assert sorted(desk.received()) == [("county-xh", "notice", "notice-specialist"),
                                       ("store-xh-01", "notice", "notice-owner")]
    assert {e["state"] for e in case["escalations"]} == {"pending"}  # as written with the case
    assert {e["state"] for e in desk.read(case["case_id"])["escalations"]} == {"sent"}
    desk.run()
    assert desk.received() == []


def test_a_media_notice_at_a_department_without_a_manager_reaches_the_branchs_manager(desk: Desk) -> None:
    """Nobody is skipped at intake either: the department's notice goes up to the branch, and the
    London store's specialist notice (no specialist above it) to the branch's manager."""
    department = desk.register(channel="media", unit_id="dept-logistics")
    assert desk.received() == [("branch-hz", "notice", "notice-owner")]
    london = desk.register(channel="media", unit_id="store-london-01")
    assert sorted(desk.received()) == [("branch-hz", "notice", "notice-specialist"),
                                       ("store-london-01", "notice", "notice-owner")]
    for case in (department, london):
        escalations = desk.read(case["case_id"])["escalations"]
        assert escalations and all(e["recipients"] and e["state"] == "sent" for e in escalations)


def test_a_regulator_notice_that_sns_refuses_at_intake_goes_out_with_the_next_run(desk: Desk) -> None:
    flaky = FlakySns(desk.sns, failures=5)
    desk.cases = build_case_service(desk.settings, desk.ddb, flaky, now=desk.clock)
    case = desk.register(channel="regulator")
    assert case["status"] == "received"
    assert desk.received() == []
    desk.clock.advance(minutes=1)
    desk.run()
    assert sorted(desk.received()) == [("county-xh", "notice", "notice-specialist"),
                                       ("store-xh-01", "notice", "notice-owner")]


def test_a_manager_acknowledges_a_sent_escalation_and_the_clock_keeps_running(desk: Desk) -> None:
    case = desk.register(**praise())
    ack = cmd.Acknowledge(actor="Qian Hao", clock="acceptance", level="breach", version=1)
    with pytest.raises(InvalidInput) as raised:
        desk.cases.act(case["case_id"], "acknowledge", ack, None)
    assert "level" in raised.value.fields
    desk.clock.advance(hours=24, minutes=1)
    desk.run()
    with pytest.raises(InvalidInput) as raised:
        desk.cases.act(case["case_id"], "acknowledge", ack.model_copy(update={"actor": "Chen Jie"}), None)
    assert "actor" in raised.value.fields
    acknowledged = desk.cases.act(case["case_id"], "acknowledge", ack, None).model_dump(mode="json")
    assert acknowledged["acknowledgements"][0]["by"] == "Qian Hao"
    assert acknowledged["history"][-1]["action"] == "acknowledge"
    assert acknowledged["deadlines"]["acceptance"]["state"] == "breached"
    desk.clock.advance(hours=4)
    desk.run()
    assert sorted(desk.received()) == [("county-xh", "acceptance", "up-1"), ("store-xh-01", "acceptance", "breach")]


def test_loading_official_dates_recomputes_open_deadlines_and_records_it(desk: Desk) -> None:
    desk.clock.now = datetime(2027, 1, 7, 2, 0, tzinfo=UTC)  # Thursday; 2027 not yet published
    case = desk.register()
    assert case["deadlines"]["handling"] == {
        "deadline": "2027-01-12T23:59:59+08:00", "state": "running", "stopped_at": None,
        "provisional": True, "deadline_version": 1}
    dates = {"2027-01-08": False, "2027-01-09": False, "2027-01-10": False, "2027-01-11": True,
             "2027-01-12": True, "2027-01-13": True}
    result = desk.cases.load_calendar_overrides(
        "CN", {datetime.fromisoformat(d).date(): w for d, w in dates.items()}, "admin Gao")
    assert [moved.model_dump(mode="json") for moved in result.moved] == [
        {"case_id": case["case_id"], "clock": "handling",
         "before": "2027-01-12T23:59:59+08:00", "after": "2027-01-13T23:59:59+08:00"}]
    after = desk.read(case["case_id"])
    assert after["deadlines"]["handling"]["provisional"] is False
    assert after["deadlines"]["handling"]["deadline_version"] == 2
    event = after["history"][-1]
    assert (event["action"], event["actor"]) == ("recompute-deadlines", "admin Gao")
    again = desk.cases.load_calendar_overrides("CN", {datetime(2027, 1, 13).date(): True}, "admin Gao")
    assert again.moved == []


def test_a_back_dated_letter_at_a_store_under_a_county_reaches_the_store_manager_in_one_run(desk: Desk) -> None:
    """Received 30 h ago, never accepted: the store's own manager gets the breach, the county its
    rung, both in the same run and both saying the case was noticed late."""
    received = (MONDAY_9AM_SHANGHAI - timedelta(hours=30)).isoformat()
    case = desk.register(**praise(channel="letter", received_at=received))
    report = desk.run()
    assert (report.sent, report.rungs_due) == (2, 2)
    delivered = {d.unit.unit_id: d.document for d in desk.inbox.drain()}
    assert sorted(delivered) == ["county-xh", "store-xh-01"]
    assert "noticed late" in delivered["store-xh-01"]["body"].lower()
    assert [(e.level, e.target_unit_id) for e in desk.cases.get(case["case_id"]).escalations] == [
        ("breach", "store-xh-01"), ("up-1", "county-xh")]
    assert desk.run().sent == 0


@pytest.mark.parametrize(("unit_id", "breach_to", "above"), [
    ("store-london-01", "store-london-01", [("branch-hz", "up-1")]),  # a store directly under the branch
    ("dept-logistics", "branch-hz", [("branch-hz", "up-1")]),         # a department nobody manages
    ("branch-hz", "branch-hz", []),                                  # the branch itself
])
def test_every_shape_of_the_organisation_is_warned_breached_and_escalated(
        desk: Desk, unit_id: str, breach_to: str, above: list[tuple[str, str]]) -> None:
    desk.register(**praise(unit_id=unit_id))
    sent = []
    for hours in (18, 24.01, 28):
        desk.clock.now = MONDAY_9AM_SHANGHAI + timedelta(hours=hours)
        desk.run()
        sent += [(unit, level) for unit, _, level in desk.received()]
    assert sent == [(breach_to, "warning"), (breach_to, "breach"), *above]


def test_the_top_is_reminded_daily_until_its_manager_acknowledges(desk: Desk) -> None:
    case = desk.register(**praise(unit_id="store-london-01"))
    desk.clock.now = MONDAY_9AM_SHANGHAI + timedelta(hours=29)
    desk.run()
    assert sorted(desk.received()) == [("branch-hz", "acceptance", "up-1"),
                                       ("store-london-01", "acceptance", "breach")]
    desk.clock.now = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)  # Wednesday 08:00 in Hangzhou
    desk.run()
    desk.run()
    assert desk.received() == [("branch-hz", "acceptance", "reminder-2026-11-25")]
    ack = cmd.Acknowledge(actor="Zhao Min", clock="acceptance", level="reminder-2026-11-25", version=1)
    acknowledged = desk.cases.act(case["case_id"], "acknowledge", ack, None)
    again = desk.cases.act(case["case_id"], "acknowledge", ack.model_copy(update={"version": 2}), None)
    assert len(again.history) == len(acknowledged.history), "a second click records nothing new"
    desk.clock.advance(days=2)
    desk.run()
    assert desk.received() == []


def test_a_reopened_complaint_is_escalated_again_on_its_new_deadline(desk: Desk) -> None:
    case = desk.register()
    case_id = case["case_id"]
    for version, (action, command) in enumerate([
            ("accept", cmd.Accept(actor="Li Na")),
            ("assign", cmd.Assign(actor="Li Na", handler="Chen Jie")),
            ("record-finding", cmd.RecordFinding(actor="Li Na", kind="customer_issue", detail="misread label")),
            ("resolve", cmd.Resolve(actor="Li Na", result="explained the promotion")),
            ("close", cmd.Close(actor="Li Na", reason="customer satisfied"))], start=1):
        desk.cases.act(case_id, action, command.model_copy(update={"version": version}), None)
    desk.clock.now = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # Monday 10:00: the customer calls back
    reopened = desk.cases.act(case_id, "reopen", cmd.Reopen(actor="Li Na", version=6, reason="called back"),
                              None).model_dump(mode="json")
    assert reopened["deadlines"]["handling"]["state"] == "running"
    assert reopened["deadlines"]["handling"]["deadline"] == "2026-12-03T23:59:59+08:00"
    assert "mark-special" in reopened["available_actions"]
    assert reopened["history"][-1]["changes"]["deadlines.handling"]["after"] == "2026-12-03T23:59:59+08:00"
    desk.clock.now = datetime(2026, 12, 3, 16, 0, 1, tzinfo=UTC)
    desk.run()
    assert desk.received() == [("store-xh-01", "handling", "breach")]


@pytest.mark.parametrize(("received_at", "reason"), [
    ("2026-10-20T09:00:00+08:00", "at most 30 days in the past"),
    ("1999-12-31T23:00:00+08:00", "cannot be before 2000-01-01"),
    ("2026-11-22T09:00:00+23:00", "between -12:00 and +14:00"),
])
def test_a_receipt_back_dated_beyond_the_window_is_refused_with_the_reason(
        desk: Desk, received_at: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        desk.register(channel="letter", received_at=received_at)
    assert reason in refused.value.fields["received_at"]
