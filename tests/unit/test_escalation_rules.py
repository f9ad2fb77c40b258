"""The escalation ladder, alarms and message texts, no AWS."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.domain import commands as cmd
from chalicelib.domain import lifecycle
from chalicelib.domain.clocks import initial_clocks
from chalicelib.domain.errors import IllegalTransition
from chalicelib.domain.escalation import Escalation, Ladder, alarm_changes, alarm_for, render, unit_above
from chalicelib.domain.models import CaseType, Status
from tests.fakes import sample_staffed_units
from tests.unit.test_lifecycle import CLOCK, NOW, case_in

UNITS = sample_staffed_units()
LADDER = Ladder(warning_share=0.75, step_delay=timedelta(hours=4), reminder_hour=None)


def test_ladder_rungs_are_warning_breach_and_one_unit_up_per_unit_above() -> None:
    start = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    steps = LADDER.steps(start, start + timedelta(hours=24), depth=2)
    assert [(s.level, s.at - start, s.hops_up) for s in steps] == [
        ("warning", timedelta(hours=18), 0), ("breach", timedelta(hours=24, seconds=1), 0),
        ("up-1", timedelta(hours=28), 1), ("up-2", timedelta(hours=32), 2)]
    assert [s.level for s in LADDER.steps(start, start + timedelta(hours=24), depth=0)] == ["warning", "breach"]


def test_the_warning_share_is_configurable() -> None:
    start = datetime(2026, 11, 23, tzinfo=UTC)
    [warning, *_] = Ladder(warning_share=0.5).steps(start, start + timedelta(hours=24), 2)
    assert warning.at == start + timedelta(hours=12)


def test_an_alarm_moves_rung_by_rung_and_ends_after_the_last() -> None:
    case = case_in(Status.RECEIVED)
    alarm = alarm_for(case, "acceptance", LADDER)
    assert alarm.next_at == NOW + timedelta(hours=18)
    assert alarm.plan(LADDER, 2, "Asia/Shanghai", NOW + timedelta(hours=17)).take == []
    late = alarm.plan(LADDER, 2, "Asia/Shanghai", NOW + timedelta(hours=29))
    # a late run takes every rung due (the unit's own breach included), never the stale warning
    assert [s.level for s in late.take] == ["breach", "up-1"]
    assert late.advanced.last_level == "up-1" and late.advanced.next_at == NOW + timedelta(hours=32)
    last = late.advanced.plan(LADDER, 2, "Asia/Shanghai", NOW + timedelta(hours=33))
    assert [s.level for s in last.take] == ["up-2"] and last.advanced.next_at is None


def test_only_writes_that_start_move_or_stop_a_clock_touch_alarms() -> None:
    received = case_in(Status.RECEIVED)
    puts, deletes = alarm_changes(None, received, LADDER)
    assert sorted(a.clock for a in puts) == ["acceptance", "handling"] and deletes == []
    accepted, _ = lifecycle.apply_action(received, "accept", cmd.Accept(actor="Li Na"), NOW)
    assert alarm_changes(received, accepted, LADDER) == ([], ["acceptance"])
    assigned, _ = lifecycle.apply_action(accepted, "assign", cmd.Assign(actor="Li Na", handler="Chen"), NOW)
    assert alarm_changes(accepted, assigned, LADDER) == ([], [])
    special, _ = lifecycle.apply_action(assigned, "mark-special", cmd.MarkSpecial(
        actor="Sun Li", reason="lab report"), NOW, CLOCK)
    puts, deletes = alarm_changes(assigned, special, LADDER)
    assert [(a.clock, a.deadline_version) for a in puts] == [("handling", 2)] and deletes == []


def test_escalation_goes_up_the_tree_and_skips_units_nobody_manages() -> None:
    assert unit_above("store-xh-01", 0, UNITS) == "store-xh-01"
    assert unit_above("store-xh-01", 1, UNITS) == "county-xh"
    assert unit_above("store-xh-01", 2, UNITS) == "branch-hz"
    assert unit_above("store-xh-01", 3, UNITS) is None
    assert unit_above("dept-logistics", 0, UNITS) == "branch-hz"  # the department lists no manager


def test_the_sms_fits_one_message_even_for_the_longest_texts() -> None:
    esc = Escalation(case_id="CD-AAAA-BBBB-CCCC", clock="acceptance", level="up-2", deadline_version=12,
                     case_type="suggestion", case_unit_id="a" * 63, target_unit_id="branch-hz",
                     due_at=NOW, created_at=NOW)
    message = render(esc, UNITS["store-xh-01"], NOW)
    assert len(message.sms) <= 160 and len(message.subject) <= 100


def test_suggestion_reply_clock_ends_on_the_promised_date_and_stops_when_the_reply_is_recorded() -> None:
    suggestion = case_in(Status.ACCEPTED, CaseType.SUGGESTION)
    promised, _ = lifecycle.apply_action(suggestion, "promise-reply", cmd.PromiseReply(
        actor="Li Na", reply_by=date(2026, 11, 30)), NOW, CLOCK)
    assert promised.clocks["reply"].due_at.isoformat() == "2026-11-30T23:59:59+08:00"
    assert promised.reply_promised_by == date(2026, 11, 30)
    with pytest.raises(IllegalTransition, match="record-suggestion-reply"):
        lifecycle.apply_action(promised, "resolve", cmd.Resolve(actor="Li Na", result="adopted"), NOW)
    replied, _ = lifecycle.apply_action(promised, "record-suggestion-reply", cmd.RecordSuggestionReply(
        actor="Li Na", outcome="adopted", decided_by="Sun Li",
        reply="A second bakery counter opens in January."), NOW)
    assert replied.clocks["reply"].state(NOW) == "met"
    assert replied.status is Status.RESOLVED


def test_a_forwarded_complaint_counts_its_working_days_in_the_new_units_calendar() -> None:
    from chalicelib.domain.calendar import UnitClock, WorkingCalendar

    # received Thursday 2026-12-24 in Hangzhou: 3 Chinese working days end on Tuesday the 29th;
    # in London, Christmas and Boxing Day (substitute Monday the 28th) push it to Thursday the 31st
    received = datetime(2026, 12, 24, 2, 0, tzinfo=UTC)
    case = case_in(Status.ACCEPTED).model_copy(update={"received_at": received, "clocks": initial_clocks(
        CaseType.COMPLAINT, received, CLOCK)})
    assert case.clocks["handling"].due_at.isoformat() == "2026-12-29T23:59:59+08:00"
    london = UnitClock("Europe/London", WorkingCalendar("GB"))
    forwarded, event = lifecycle.apply_action(case, "forward", cmd.Forward(
        actor="Li Na", to_unit_id="store-london-01", reason="bought in London"), NOW, london)
    assert forwarded.clocks["handling"].due_at.isoformat() == "2026-12-31T23:59:59+00:00"
    assert forwarded.clocks["handling"].deadline_version == 2
    assert event.changes["deadlines.handling"]["before"].startswith("2026-12-29")
