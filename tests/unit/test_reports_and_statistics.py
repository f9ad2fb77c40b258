"""The pure parts of statistics and reports: what a case's changes add to the counters, the
weekly trend, the spot check's sample and the CSV every export goes through."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

from chalicelib.domain import commands as cmd
from chalicelib.domain import lifecycle
from chalicelib.domain import reports as rpt
from chalicelib.domain.calendar import UnitClock, WorkingCalendar
from chalicelib.domain.statistics import Totals, stat_deltas
from tests.conftest import complaint

CLOCK = UnitClock("Asia/Shanghai", WorkingCalendar("CN"))
RECEIVED = datetime(2026, 11, 23, 16, 30, tzinfo=UTC)  # Tuesday 00:30 in Shanghai, Monday in UTC


def test_a_receipt_counts_on_the_units_local_day_and_a_resolution_counts_its_working_days() -> None:
    case, _ = lifecycle.register("CD-2026-AAAA-0001", cmd.IntakeRequest.model_validate(complaint()), RECEIVED,
                                 "Li Na", CLOCK)
    (received,) = stat_deltas(None, case, RECEIVED, CLOCK)
    assert received.day == date(2026, 11, 24) and received.counters == {
        "received": 1, "type:complaint": 1, "channel:hotline": 1, "cause:service": 1,
        "type_cause:complaint:service": 1}
    accepted, _ = lifecycle.apply_action(case, "accept", cmd.Accept(actor="Li Na"), RECEIVED + timedelta(hours=1))
    (on_time,) = stat_deltas(case, accepted, RECEIVED + timedelta(hours=1), CLOCK)
    assert on_time.counters == {"clock_met:acceptance": 1}
    found, _ = lifecycle.apply_action(accepted, "assign", cmd.Assign(actor="Li Na", handler="Chen Jie"), RECEIVED)
    found, _ = lifecycle.apply_action(found, "record-finding", cmd.RecordFinding(
        actor="Li Na", kind="customer_issue", detail="misread the promotion"), RECEIVED)
    later = RECEIVED + timedelta(days=2)  # Thursday in Shanghai: 2 working days after Tuesday
    resolved, _ = lifecycle.apply_action(found, "resolve", cmd.Resolve(actor="Li Na", result="explained"), later)
    (done,) = stat_deltas(found, resolved, later, CLOCK)
    assert done.counters["resolved"] == 1 and done.counters["handling_days:2"] == 1
    assert done.counters["clock_met:handling"] == 1
    # a regulator's later finding of another kind moves the case from one kind to the other
    regulator = cmd.RecordFinding(actor="Sun Li", kind="violation", detail="price tag differed",
                                  reported_to="Branch manager Qian")
    refound, _ = lifecycle.apply_action(resolved, "record-finding", regulator, later + timedelta(days=20))
    (moved,) = stat_deltas(resolved, refound, later + timedelta(days=20), CLOCK)
    assert moved.counters == {"finding:violation": 1, "finding:customer_issue": -1}


def test_totals_sum_days_and_units_into_rates_a_manager_reads() -> None:
    totals = Totals()
    totals.add({"received": 3, "clock_met:acceptance": 2, "clock_breached:acceptance": 1,
                "feedback": 2, "satisfied": 1, "satisfaction_sum": 7})
    totals.add({"received": 1, "clock_met:acceptance": 1})
    summary = totals.summary()
    assert summary.received == 4
    assert summary.clocks["acceptance"].on_time_rate == 0.75
    assert (summary.satisfaction.responses, summary.satisfaction.average) == (2, 3.5)


def test_the_trend_compares_this_week_with_the_last_and_names_repeated_root_causes() -> None:
    this_week, last_week = Totals(), Totals()
    this_week.add({"received": 5, "resolved": 4, "type:complaint": 3, "root_cause:service:double-scan": 2,
                   "root_cause:goods:expired": 1, "clock_met:handling": 3, "clock_breached:handling": 1})
    last_week.add({"received": 2, "resolved": 2, "clock_met:handling": 2})
    this, previous = this_week.summary(), last_week.summary()
    changes = {name: change.model_dump() for name, change in rpt.trend(this, previous).items()}
    assert changes["received"] == {"this_week": 5, "previous_week": 2, "change": 3}
    assert changes["complaints"]["change"] == 3 and changes["on_time_rate:handling"]["change"] == -0.25
    assert [cause.model_dump() for cause in rpt.repeated_causes(this)] == [
        {"root_cause": "service:double-scan", "count": 2}]
    assert rpt.week_start(date(2026, 11, 29)) == date(2026, 11, 23)


def test_the_spot_check_sample_is_reproducible_from_its_seed_and_never_empty() -> None:
    ids = [f"CD-2026-AAAA-{n:04d}" for n in range(10)]
    drawn = rpt.sample(ids, 0.25, "seed-1")
    assert len(drawn) == 3 and drawn == rpt.sample(list(reversed(ids)), 0.25, "seed-1")
    assert set(drawn) <= set(ids)
    assert len(rpt.sample(ids[:1], 0.01, "seed-1")) == 1 and rpt.sample([], 0.5, "seed-1") == []


def test_every_csv_cell_that_could_be_a_formula_opens_as_text() -> None:
    text = rpt.as_csv([{"case_id": "=HYPERLINK(\"http://x\")", "note": "＝1+1", "count": -3, "who": ["a", "b"]}],
                      ("case_id", "note", "count", "who"))
    assert text.startswith(rpt.UTF8_BOM)
    rows = list(csv.DictReader(io.StringIO(text.removeprefix(rpt.UTF8_BOM))))
    assert rows == [{"case_id": "'=HYPERLINK(\"http://x\")", "note": "'＝1+1", "count": "-3", "who": "a;b"}]
