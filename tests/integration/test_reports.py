"""Managers' view: statistics kept at write time and checked against figures worked out
by hand for a small week of cases; the daily register and weekly report (API and scheduled
messages); spot checks with rectification orders escalated like any clock."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest

from chalicelib.adapters.unit_registry import DynamoUnitRegistry
from chalicelib.bootstrap import build_case_service, build_escalation_service, build_report_service
from chalicelib.config import Settings
from chalicelib.domain import commands as cmd
from chalicelib.domain import lifecycle
from chalicelib.domain import reports as rpt
from chalicelib.domain.auth import Principal, Role
from chalicelib.domain.errors import IllegalTransition, InvalidInput
from chalicelib.services.cases import CaseService
from chalicelib.services.reports import ReportService
from local.inbox import LocalInboxes
from tests.conftest import JSON, FakeClock, complaint, hangzhou_today, staff_token

MONDAY_9AM_SHANGHAI = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
SUPERVISOR = Principal("s-1", "Zhao Min", "branch-hz", frozenset({Role.BRANCH_SUPERVISOR}))


@dataclass
class Desk:
    clock: FakeClock
    cases: CaseService
    reports: ReportService
    settings: Settings
    ddb: Any
    sns: Any
    inbox: LocalInboxes

    def read(self, case_id: str) -> dict[str, Any]:
        """The case document as the API answers it."""
        return self.cases.get(case_id).model_dump(mode="json")

    def at(self, hours: float) -> None:
        self.clock.now = MONDAY_9AM_SHANGHAI + timedelta(hours=hours)

    def register(self, **overrides: Any) -> str:
        return self.cases.register(cmd.IntakeRequest.model_validate(complaint(**overrides)), None,
                                   "test intake").case.case_id

    def act(self, case_id: str, action: str, **fields: Any) -> dict[str, Any]:
        version = self.cases.get(case_id).version
        command = lifecycle.ACTIONS[action].command.model_validate({"actor": "Li Na", "version": version, **fields})
        return self.cases.act(case_id, action, command, None).model_dump(mode="json")

    def delivered(self) -> list[dict[str, Any]]:
        return [d.document for d in self.inbox.drain()]


@pytest.fixture
def desk(settings: Settings) -> Iterator[Desk]:
    session = boto3.session.Session(region_name="us-east-1")
    ddb, sns = session.client("dynamodb"), session.client("sns")
    clock = FakeClock(MONDAY_9AM_SHANGHAI)
    inbox = LocalInboxes(session, settings.escalation_topic_arn, DynamoUnitRegistry(ddb, settings.table_name).all(),
                         "test")
    yield Desk(clock, build_case_service(settings, ddb, sns, now=clock),
               build_report_service(settings, ddb, sns, now=clock), settings, ddb, sns, inbox)


def handle_complaint(desk: Desk, case_id: str, accept_at: float, resolve_at: float, finding: dict[str, Any],
                     satisfaction: int, root_cause: str | None) -> None:
    desk.at(accept_at)
    desk.act(case_id, "accept")
    desk.act(case_id, "assign", handler="Chen Jie")
    desk.act(case_id, "record-finding", detail="looked into it", **finding)
    desk.at(resolve_at)
    desk.act(case_id, "resolve", result="refunded and apologised")
    desk.act(case_id, "record-feedback", satisfied=satisfaction >= 4, satisfaction=satisfaction)
    if root_cause:
        desk.act(case_id, "record-root-cause", category="service", code=root_cause,
                 corrective_action="scanner fixed, cashiers retrained")


@pytest.fixture
def week(desk: Desk) -> dict[str, str]:
    """Five cases received Monday 2026-11-23 09:00 Shanghai (Mon–Wed are working days):

    A complaint, store-xh-01, hotline, service: accepted +1 h, resolved Tuesday (1 working day),
      satisfied 5, root cause cashier-double-scan.
    B complaint, store-xh-01, web, product: accepted +30 h (late), resolved Friday 27th (4 working
      days, after the Thursday deadline), unsatisfied 2, root cause cashier-double-scan again.
    C inquiry, store-xh-02, in store: accepted +2 h, answered +3 h (0 working days), no feedback.
    D praise, store-xh-01, web: closed at +25 h without being accepted (acceptance missed).
    E complaint, store-xh-02, hotline, equipment: accepted +1 h, still open.
    """
    ids = {
        "A": desk.register(),
        "B": desk.register(channel="web", cause={"category": "product"},
                           five_w={"what": "milk past its date"}),
        "C": desk.register(type="inquiry", channel="in_store", unit_id="store-xh-02", cause=None),
        "D": desk.register(type="praise", channel="web", cause=None, five_w={"what": "kind cashier"}),
        "E": desk.register(unit_id="store-xh-02", cause={"category": "equipment_environment"}),
    }
    handle_complaint(desk, ids["A"], 1, 25, {"kind": "ordinary_mistake", "corrective_plan": "retrain"}, 5,
                     "cashier-double-scan")
    desk.at(1)
    desk.act(ids["E"], "accept")
    desk.at(2)
    desk.act(ids["C"], "accept")
    desk.at(3)
    desk.act(ids["C"], "resolve", result="opening hours explained", customer_message="We open at 8:00.")
    desk.at(25)
    desk.act(ids["D"], "close", reason="thanked the customer by phone")
    handle_complaint(desk, ids["B"], 30, 4 * 24 + 2, {"kind": "violation", "reported_to": "Sun Li"}, 2,
                     "cashier-double-scan")
    return ids


def test_statistics_match_the_figures_worked_out_by_hand(desk: Desk, week: dict[str, str]) -> None:
    report = desk.reports.statistics("branch-hz", date(2026, 11, 23), date(2026, 11, 29)).model_dump(mode="json")
    s = report["summary"]
    assert s["received"] == 5
    assert s["by_type"] == {"complaint": 3, "inquiry": 1, "praise": 1}
    assert s["by_type_and_cause"] == {"complaint:equipment_environment": 1, "complaint:product": 1,
                                      "complaint:service": 1}
    assert s["by_channel"] == {"hotline": 2, "web": 2, "in_store": 1}
    assert s["by_finding"] == {"ordinary_mistake": 1, "violation": 1}
    assert s["clocks"] == {
        "acceptance": {"met": 3, "breached": 2, "on_time_rate": 0.6},  # A, C, E met; B late, D missed
        "answer": {"met": 1, "breached": 0, "on_time_rate": 1.0},      # C
        "handling": {"met": 1, "breached": 1, "on_time_rate": 0.5},    # A in time, B late
    }
    assert s["resolved"] == 3
    assert s["handling_working_days"] == {"median": 1, "p90": 4, "histogram": {"0": 1, "1": 1, "4": 1},
                                          "by_type": {"complaint": {"resolved": 2, "median": 1, "p90": 4},
                                                      "inquiry": {"resolved": 1, "median": 0, "p90": 0}}}
    assert s["satisfaction"] == {"responses": 2, "satisfied": 1, "satisfied_rate": 0.5, "average": 3.5,
                                 "by_score": {"2": 1, "5": 1}}
    assert s["top_causes"][0] == {"cause": "equipment_environment", "count": 1}
    assert s["root_causes"] == {"service:cashier-double-scan": 2}
    assert report["by_unit"]["store-xh-01"]["received"] == 3 and report["by_unit"]["store-xh-02"]["received"] == 2
    # One store alone, and a range that misses the week, from the same counters.
    assert desk.reports.statistics("store-xh-02", date(2026, 11, 23), date(2026, 11, 29)).summary.received == 2
    assert desk.reports.statistics("branch-hz", date(2026, 11, 16), date(2026, 11, 22)).summary.received == 0


def test_a_report_reads_one_item_per_unit_and_day_at_most_never_a_case(desk: Desk, week: dict[str, str]) -> None:
    units = 6  # the whole sample organisation is below branch-hz
    report = desk.reports.statistics("branch-hz", date(2026, 11, 1), date(2026, 11, 30)).model_dump(mode="json")
    assert report["items_read"] <= units * 30
    # Only days with activity exist: 2 stores, Monday, Tuesday and Friday (and Monday for C/E).
    assert report["items_read"] == 4


def test_the_daily_register_lists_open_cases_nearest_deadline_first(desk: Desk, week: dict[str, str]) -> None:
    desk.clock.now = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)  # Wednesday 08:30 Shanghai
    register = desk.reports.daily_register("store-xh-02", None).model_dump(mode="json")
    assert register["date"] == "2026-11-25" and register["open"] == 2  # C resolved (awaiting feedback), E accepted
    assert [c["case_id"] for c in register["cases"]] == [week["E"], week["C"]]
    assert register["due_tomorrow"] == [week["E"]]  # handling ends Thursday 26th 23:59:59
    assert register["due_today"] == [] and register["breached"] == []
    assert register["cases"][0]["next_deadline"] == "2026-11-26T23:59:59+08:00"
    desk.clock.now = datetime(2026, 11, 27, 0, 30, tzinfo=UTC)  # Friday: E's handling is late
    assert desk.reports.daily_register("store-xh-02", date(2026, 11, 27)).breached == [week["E"]]
    before = desk.reports.daily_register("store-xh-02", date(2026, 11, 22))  # the Sunday before they came
    assert (before.open, before.cases) == (0, [])
    desk.clock.now = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)  # Friday 23:30 in Hangzhou
    late_friday = desk.register(unit_id="store-xh-02")
    desk.clock.now = datetime(2026, 11, 27, 16, 30, tzinfo=UTC)  # Saturday 00:30 there, still Friday in UTC
    early_saturday = desk.register(unit_id="store-xh-02")
    friday = {c.case_id for c in desk.reports.daily_register("store-xh-02", date(2026, 11, 27)).cases}
    saturday = {c.case_id for c in desk.reports.daily_register("store-xh-02", date(2026, 11, 28)).cases}
    assert late_friday in friday and early_saturday not in friday and {late_friday, early_saturday} <= saturday


def test_the_weekly_report_lists_complaints_trends_and_repeated_causes(desk: Desk, week: dict[str, str]) -> None:
    report = desk.reports.weekly_report("branch-hz", date(2026, 11, 25)).model_dump(mode="json")
    assert (report["from"], report["to"]) == ("2026-11-23", "2026-11-29")
    assert {c["case_id"] for c in report["complaints"]} == {week["A"], week["B"], week["E"]}
    assert report["trend"]["complaints"] == {"this_week": 3, "previous_week": 0, "change": 3}
    assert report["repeated_causes"] == [{"root_cause": "service:cashier-double-scan", "count": 2}]


def test_scheduled_reports_go_to_managers_once_at_eight_local(desk: Desk, week: dict[str, str]) -> None:
    desk.delivered()
    desk.clock.now = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)  # Wednesday 08:30 Shanghai
    assert desk.reports.send_due() == {"sent": 3, "failed": 0}  # the two Shanghai stores and the department
    messages = {m["attributes"]["unit"]: m for m in desk.delivered()}
    assert set(messages) == {"store-xh-01", "store-xh-02", "dept-logistics"}
    # the department has no manager of its own: its register goes to the branch's (as escalations do)
    from chalicelib.adapters.staff_directory import DynamoStaffDirectory

    zhao_min = next(m.staff_id for m in DynamoStaffDirectory(desk.ddb, desk.settings.table_name).all()
                    if m.name == "Zhao Min")
    assert messages["dept-logistics"]["payload"]["recipients"] == [zhao_min]
    assert "2 open, 0 due today, 1 due tomorrow, 0 breached" in messages["store-xh-02"]["sms"]
    assert week["E"] in messages["store-xh-02"]["payload"]["texts"]["en"]["body"]
    # each manager reads it in their own language, deadlines in the store's time to the minute
    chinese = messages["store-xh-02"]["payload"]["texts"]["zh"]
    assert chinese["subject"].startswith("store-xh-02 2026-11-25 每日登记:未结 2 件")
    assert "已受理,下一时限:处理 11-26 23:59 (UTC+08:00)" in chinese["body"]
    assert not re.search(r"\d\d:\d\d:\d\d", chinese["body"])  # no seconds, no microseconds
    assert "投诉 已受理" in chinese["body"] and "complaint" not in chinese["body"] and "accepted" not in chinese["body"]
    assert desk.reports.send_due() == {"sent": 0, "failed": 0}  # a second run in the hour sends nothing
    desk.clock.now = datetime(2026, 11, 30, 0, 5, tzinfo=UTC)  # Monday 08:05: the weekly report too
    desk.reports.send_due()
    weekly = [m for m in desk.delivered() if m["attributes"]["clock"] == "weekly-report"]
    assert [m["attributes"]["unit"] for m in weekly] == ["branch-hz"]
    english = weekly[0]["payload"]["texts"]["en"]["body"]
    assert "cashier-double-scan x2" in english and week["B"] in english


WEEK = (date(2026, 11, 23), date(2026, 11, 29))


def test_spot_check_samples_reproducibly_and_a_mismatch_orders_rectification(desk: Desk, week: dict[str, str]) -> None:
    check = desk.reports.start_spot_check("store-xh-01", *WEEK, 0.5, "Zhao Min", SUPERVISOR)
    assert check.handled_cases == 3 and len(check.sample) == 2  # A, B, D closed; ceil(1.5)
    # anyone can re-derive the sample from the recorded seed
    assert rpt.sample([week["A"], week["B"], week["D"]], 0.5, check.seed) == check.sample

    desk.clock.now = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # Monday 10:00
    first, second = check.sample
    desk.reports.record_result(check.check_id, first, True, "refund confirmed with the customer", "Zhao Min", None)
    result = desk.reports.record_result(check.check_id, second, False, "the refund was never paid", "Zhao Min",
                                        3, SUPERVISOR).model_dump(mode="json")
    assert result["pending"] == [] and result["results"][second]["rectification_due"] == "2026-12-03T23:59:59+08:00"
    with pytest.raises(IllegalTransition):
        desk.reports.record_result(check.check_id, second, True, "again", "Zhao Min", None)
    with pytest.raises(InvalidInput):
        desk.reports.record_result(check.check_id, week["E"], True, "not sampled", "Zhao Min", None)

    case = desk.read(second)
    assert case["rectification"]["reason"] == "the refund was never paid"
    assert case["deadlines"]["rectification"]["deadline"] == "2026-12-03T23:59:59+08:00"
    assert case["history"][-1]["action"] == "order-rectification"
    stats = desk.reports.statistics("store-xh-01", date(2026, 11, 30), date(2026, 11, 30)).summary.spot_checks
    assert stats.model_dump() == {"checked": 2, "mismatched": 1, "rectifications_ordered": 1, "rectifications_done": 0}

    # Late, it is escalated like any clock: breach at the store, then up the organisation.
    escalator = build_escalation_service(desk.settings, desk.ddb, desk.sns, now=desk.clock)
    desk.delivered()
    desk.clock.now = datetime(2026, 12, 3, 16, 0, 5, tzinfo=UTC)
    escalator.run()
    assert [(m["attributes"]["unit"], m["attributes"]["level"]) for m in desk.delivered()
            if m["attributes"]["clock"] == "rectification"] == [("store-xh-01", "breach")]
    desk.act(second, "complete-rectification", result="refund paid on 4 December")
    assert desk.read(second)["deadlines"]["rectification"]["state"] == "breached"  # done, but late
    late = desk.reports.statistics("store-xh-01", date(2026, 11, 30), date(2026, 12, 4)).summary
    assert late.clocks["rectification"].model_dump() == {"met": 0, "breached": 1, "on_time_rate": 0.0}
    assert late.spot_checks.rectifications_done == 1


def test_report_routes_answer_csv_and_keep_to_roles_and_territory(api: Any) -> None:
    created = api.post("/cases", headers=JSON, body=json.dumps(complaint())).json_body
    assert created["status"] == "received"
    today = hangzhou_today().isoformat()
    manager = {"Authorization": f"Bearer {staff_token('Sun Li', ['unit-manager'], 'store-xh-01')}"}
    csv = api.get(f"/reports/statistics?unit_id=store-xh-01&from={today}&to={today}&format=csv", headers=manager)
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    assert '"received","1"' in csv.body.decode() and '"by_channel.hotline","1"' in csv.body.decode()
    register = api.get("/reports/daily-register?unit_id=store-xh-01&format=csv", headers=manager)
    assert register.body.decode().splitlines()[0].startswith('\ufeff"case_id","type","channel","status"')
    assert created["case_id"] in register.body.decode()
    sibling = api.get(f"/reports/statistics?unit_id=store-xh-02&from={today}&to={today}", headers=manager)
    assert sibling.status_code == 400 and "unit_id" in sibling.json_body["fields"]
    agent = {"Authorization": f"Bearer {staff_token('Chen Jie', ['agent'], 'store-xh-01')}"}
    assert api.get("/reports/weekly?unit_id=store-xh-01", headers=agent).status_code == 403
    bad = api.get("/reports/statistics?unit_id=store-xh-01&from=2026-13-01&to=x", headers=manager)
    assert bad.status_code == 400 and set(bad.json_body["fields"]) == {"from", "to"}
    start = api.post("/spot-checks", headers={**JSON, **manager}, body=json.dumps(
        {"unit_id": "store-xh-01", "from_date": today, "to_date": today, "share": 0.5}))
    assert start.status_code == 403  # spot checks are the branch supervisor's


def test_a_report_sns_refuses_is_counted_and_sent_by_the_next_run(desk: Desk, week: dict[str, str],
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from botocore.exceptions import ClientError

    class RefusingSns:
        def publish_batch(self, **_: Any) -> None:
            raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "PublishBatch")

    desk.delivered()
    desk.clock.now = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)  # Wednesday 08:30 Shanghai
    refused = build_report_service(desk.settings, desk.ddb, RefusingSns(), now=desk.clock)
    assert refused.send_due() == {"sent": 0, "failed": 3}
    assert desk.delivered() == [] and '"ReportPublishFailed"' in capsys.readouterr().out
    desk.clock.now = datetime(2026, 11, 25, 2, 10, tzinfo=UTC)  # 10:10: a later run that day sends them
    assert desk.reports.send_due() == {"sent": 3, "failed": 0}
    assert {m["attributes"]["unit"] for m in desk.delivered()} == {"store-xh-01", "store-xh-02", "dept-logistics"}
    desk.clock.now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai: sent, so not again
    assert desk.reports.send_due() == {"sent": 1, "failed": 0}  # only London's, whose 08:00 it is now
    assert [m["attributes"]["unit"] for m in desk.delivered()] == ["store-london-01"]


def test_the_service_draws_the_seed_and_a_unit_and_period_has_one_open_check(desk: Desk, week: dict[str, str]) -> None:
    check = desk.reports.start_spot_check("store-xh-01", *WEEK, 0.5, "Zhao Min", SUPERVISOR)
    with pytest.raises(IllegalTransition, match=check.check_id):  # no second draw to leave a case out
        desk.reports.start_spot_check("store-xh-01", *WEEK, 1.0, "Zhao Min", SUPERVISOR)
    other_period = desk.reports.start_spot_check("store-xh-01", date(2026, 11, 23), date(2026, 11, 28), 0.5, "Zhao Min")
    assert other_period.seed != check.seed and len(check.seed) == 32

    for case_id in check.sample:
        desk.reports.record_result(check.check_id, case_id, True, "confirmed with the customer", "Zhao Min", None)
    later = desk.reports.start_spot_check("store-xh-01", *WEEK, 0.5, "Zhao Min", SUPERVISOR)
    assert later.check_id != check.check_id and later.seed != check.seed


def test_a_supervisor_cannot_choose_the_seed(api: Any) -> None:
    today = hangzhou_today().isoformat()
    body = {"unit_id": "store-xh-01", "from_date": today, "to_date": today, "share": 0.5, "seed": "pick-me"}
    response = api.post("/spot-checks", headers=JSON, body=json.dumps(body))
    assert response.status_code == 400 and response.json_body["fields"] == {"seed": "not a field you can set"}
    del body["seed"]
    assert api.post("/spot-checks", headers=JSON, body=json.dumps(body)).status_code == 201
    again = api.post("/spot-checks", headers=JSON, body=json.dumps(body))
    assert again.status_code == 201  # no handled case in the period: the first check has nothing pending


AUDITOR = Principal("a-1", "Qian Yu", "branch-hz", frozenset({Role.AUDITOR}))


def test_a_branch_register_covers_its_units_grouped_by_unit_with_call_back_contacts(
        desk: Desk, week: dict[str, str]) -> None:
    desk.clock.now = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)  # Wednesday 08:30 Shanghai
    threat = desk.register(unit_id="store-xh-01", expectation="退款,不然我就打12315", customer={
        "name": "Li Lei", "phone": "139 0000 5678", "value": "金卡会员 gold member"})
    branch_register = desk.reports.daily_register("branch-hz", None, SUPERVISOR)
    register = branch_register.model_dump(mode="json")  # as the API answers it
    # A and B are closed, but their follow-up calls are still to make (due a week after resolution)
    assert [(g["unit_id"], g["case_ids"]) for g in register["units"]] == [
        ("branch-hz", []), ("store-xh-01", [threat, week["A"], week["B"]]), ("store-xh-02", [week["E"], week["C"]])]
    rows = {c["case_id"]: c for c in register["cases"]}
    assert [c["case_id"] for c in register["cases"]] == [threat, week["A"], week["B"], week["E"], week["C"]]
    assert (rows[week["A"]]["status"], rows[week["A"]]["next_clock"]) == ("closed", "follow_up")
    # listed for their follow-up calls, but closed: not counted as open (C answered, awaiting feedback)
    assert register["open"] == 3 and [g["open"] for g in register["units"]] == [0, 1, 2]
    row = register["cases"][0]
    assert (row["unit_id"], row["customer"], row["phone"], row["risk"]) == (
        "store-xh-01", "Li Lei", "139 0000 5678", "12315")
    assert row["customer_value"] == "金卡会员 gold member" and row["earlier_cases"] == 0
    assert register["risk_flagged"] == [threat]
    # E's customer brought four other cases to the branch's stores that Monday; two to store-xh-02
    assert rows[week["E"]]["earlier_cases"] == 4
    assert desk.reports.daily_register("store-xh-02", None, SUPERVISOR).cases[0].earlier_cases == 1

    audited = desk.reports.daily_register("branch-hz", None, AUDITOR).model_dump(mode="json")["cases"]
    assert {(c["customer"], c["phone"]) for c in audited} == {(None, None)}  # auditors do not call back

    body = rpt.register_message(branch_register).payload["texts"]["en"]["body"]
    assert "Xihu Store No. 1 (store-xh-01):" in body and "RISK: 12315" in body
    assert "call back: Li Lei 139 0000 5678, 金卡会员 gold member" in body
    assert f"Escalation-risk language in 1 case(s): {threat}" in body
    assert "call back: Wang Fang 13800001234, 4 earlier case(s)" in body


def test_a_closed_case_under_rectification_stays_on_the_register_until_it_is_done(
        desk: Desk, week: dict[str, str]) -> None:
    desk.clock.now = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    desk.act(week["A"], "record-follow-up", reached=True, satisfied=True)  # nothing more to do on A
    assert week["A"] not in {c.case_id for c in desk.reports.daily_register("store-xh-01", None).cases}
    monday = date(2026, 11, 23)
    check = desk.reports.start_spot_check("store-xh-01", monday, monday, 1.0, "Zhao Min", SUPERVISOR)
    desk.reports.record_result(check.check_id, week["A"], False, "refund not paid when checked", "Zhao Min",
                               None, SUPERVISOR)
    listed = {c.case_id: c for c in desk.reports.daily_register("store-xh-01", None).cases}
    assert listed[week["A"]].status == "closed" and listed[week["A"]].next_clock == "rectification"
    desk.act(week["A"], "complete-rectification", result="refund paid")
    assert week["A"] not in {c.case_id for c in desk.reports.daily_register("store-xh-01", None).cases}


def test_a_london_sunday_evening_complaint_is_in_the_week_its_store_counts_it(desk: Desk) -> None:
    """Sunday 29 November 18:30 in London is already Monday in Hangzhou: the branch's weekly report
    lists the complaint in the week London's counters count it (23–29 November), and not the next."""
    desk.clock.now = datetime(2026, 11, 29, 18, 30, tzinfo=UTC)
    case_id = desk.register(unit_id="store-london-01", channel="in_store")
    that_week = desk.reports.weekly_report("branch-hz", date(2026, 11, 23))
    assert case_id in {c.case_id for c in that_week.complaints}
    assert that_week.by_unit["store-london-01"].received == 1
    desk.clock.now = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    next_week = desk.reports.weekly_report("branch-hz", date(2026, 11, 30))
    assert case_id not in {c.case_id for c in next_week.complaints}
    assert next_week.by_unit["store-london-01"].received == 0


def test_the_weekly_csv_carries_every_figure_of_the_weekly_report(desk: Desk, week: dict[str, str]) -> None:
    weekly = desk.reports.weekly_report("branch-hz", date(2026, 11, 25))
    report = weekly.model_dump(mode="json")  # as the API answers it
    assert report["repeat_complainants"] == {"customers": 1, "cases": 5}  # all five came from one phone
    rows = rpt.weekly_rows(weekly)
    figures = {(r["section"], r["metric"]): r["value"] for r in rows if r["section"] != "complaint"}
    assert figures[("summary", "clocks.acceptance.on_time_rate")] == report["summary"]["clocks"]["acceptance"][
        "on_time_rate"]
    assert figures[("trend", "complaints.change")] == 3
    assert figures[("repeated_causes", "service:cashier-double-scan")] == 2
    assert figures[("repeat_complainants", "customers")] == 1
    assert figures[("summary", "handling_working_days.by_type.complaint.median")] == 1
    assert figures[("by_unit", "store-xh-02.received")] == 2
    assert {r["case_id"] for r in rows if r["section"] == "complaint"} == {week["A"], week["B"], week["E"]}
    text = rpt.as_csv(rows, rpt.WEEKLY_COLUMNS)
    assert '"trend","complaints.change","3"' in text and '"repeated_causes","service:cashier-double-scan","2"' in text
    english = rpt.weekly_message(weekly).payload["texts"]["en"]["body"]
    assert "Repeat complainants: 1 customers (5 cases this week)" in english


def test_the_statistics_csv_has_each_units_own_rows(desk: Desk, week: dict[str, str]) -> None:
    rows = rpt.statistics_rows(desk.reports.statistics("branch-hz", date(2026, 11, 23), date(2026, 11, 29)))
    own = {(r["unit_id"], r["metric"]): r["value"] for r in rows if r["scope"] == "unit"}
    assert own[("store-xh-01", "received")] == 3 and own[("store-xh-02", "received")] == 2
    assert own[("store-xh-02", "handling_working_days_by_type.inquiry.median")] == 0
    totals = {r["metric"]: r["value"] for r in rows if r["scope"] == "total"}
    assert totals["received"] == 5 and totals["handling_working_days.by_type.complaint.resolved"] == 2
