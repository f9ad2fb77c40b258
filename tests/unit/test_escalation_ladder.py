"""The escalation ladder on every shape of organisation, on fakes (no AWS): late runs, units
nobody manages, the top of the organisation, daily reminders. Rulebook §4 and §8."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.escalation import Ladder, alarm_for
from chalicelib.domain.models import ManagerContact, Unit
from chalicelib.services.escalation import EscalationService
from tests.fakes import InMemoryEscalationStore, RecordingPublisher, UnitList
from tests.unit.test_lifecycle import CLOCK, intake

LADDER = Ladder(warning_share=0.75, step_delay=timedelta(hours=4), reminder_hour=8)
STEP = LADDER.step_delay
MANAGER = ManagerContact(name="M", role="manager", email="m@example.com")


def chain(managed: list[bool]) -> list[Unit]:
    """A chain of units, the top first: u0 is the top of the organisation, the last is the case's."""
    units = []
    for level, has_manager in enumerate(managed):
        units.append(Unit(unit_id=f"u{level}", name=f"Unit {level}", kind="store" if level else "branch",
                          parent_id=f"u{level - 1}" if level else None, time_zone="Asia/Shanghai",
                          calendar="CN", managers=(MANAGER,) if has_manager else ()))
    return units


class World:
    def __init__(self, units: list[Unit], now: datetime) -> None:
        self.store, self.publisher, self.now = InMemoryEscalationStore(), RecordingPublisher(), now
        self.units = units
        self.service = EscalationService(self.store, self.publisher, UnitList(units), LADDER, lambda: self.now)

    def file_praise(self, unit_id: str, received_at: datetime) -> Any:
        """A case with only the 24-hour acceptance clock, as intake stores its alarm."""
        from chalicelib.domain import lifecycle

        case, _ = lifecycle.register("CD-AAAA-BBBB-CCCC", intake(type="praise", cause=None, unit_id=unit_id,
                                                                 channel="letter"), received_at, "t", CLOCK)
        self.store.put_alarm(alarm_for(case, "acceptance", LADDER))
        return case

    def run(self) -> list[tuple[str, str]]:
        """(unit told, level) of every message one run sends."""
        self.service.run()
        self.messages = self.publisher.drain()
        return [(m.attributes["unit"], m.attributes["level"]) for m in self.messages]


def reachable(units: list[Unit], level: int) -> str | None:
    """The nearest unit at or above chain position `level` that has a manager."""
    for unit in reversed(units[:level + 1]):
        if unit.managers:
            return unit.unit_id
    return None


RECEIVED = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 in Hangzhou


@settings(max_examples=300, deadline=None)
@given(managed=st.lists(st.booleans(), min_size=1, max_size=5),
       late=st.one_of(st.just(timedelta(0)), st.timedeltas(min_value=timedelta(hours=1),
                                                           max_value=timedelta(days=30))))
def test_invariant_no_breach_passes_unnoticed_on_any_tree(managed: list[bool], late: timedelta) -> None:
    """INVARIANT: for every breached clock, one run tells the case unit's reachable manager and,
    for every unit above whose rung is due by now, that unit's reachable manager — each recipient
    exactly one message; a second run sends nothing; when nobody in the chain has a manager the
    escalation is recorded as unreachable, never dropped. Trees of depth 1–5, with and without
    managers; the case is noticed on time or late by 1 h to 30 days."""
    units = chain(managed)
    depth = len(units) - 1
    now = RECEIVED + timedelta(hours=24) + late  # `late` after the acceptance deadline
    world = World(units, now)
    world.file_praise(units[-1].unit_id, RECEIVED)
    sent = world.run()

    due_at = RECEIVED + timedelta(hours=24)
    expected_levels = [depth] + [depth - k for k in range(1, depth + 1) if due_at + STEP * k <= now]
    expected = {reachable(units, level) for level in expected_levels} - {None}
    recipients = [unit for unit, _ in sent]
    assert set(recipients) == expected
    assert len(recipients) == len(set(recipients)), "one message per recipient"
    if late > timedelta(0):
        assert reachable(units, depth) is None or reachable(units, depth) in recipients, "the unit's own manager"
    assert world.run() == [], "a second run sends nothing"
    if not expected:
        assert [e.state for e in world.store.escalations.values()] == ["unreachable"]


@settings(max_examples=100, deadline=None)
@given(managed=st.lists(st.booleans(), min_size=1, max_size=5),
       ticks=st.lists(st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(hours=30)),
                      min_size=1, max_size=12))
def test_invariant_runs_at_any_times_tell_each_level_exactly_once(managed: list[bool],
                                                                  ticks: list[timedelta]) -> None:
    """INVARIANT: whatever the times of the runs, once every rung is due each level of the ladder
    (warning and breach to the unit, one rung per unit above) has been taken exactly once,
    stale warnings aside, and every message went to a unit on the case's own chain."""
    units = chain(managed)
    depth = len(units) - 1
    world = World(units, RECEIVED)
    world.file_praise(units[-1].unit_id, RECEIVED)
    for tick in ticks:
        world.now += tick
        world.run()
    world.now = RECEIVED + timedelta(hours=24) + STEP * (depth + 1)
    world.run()
    rungs = [level for esc in world.store.escalations.values() if not esc.level.startswith("reminder-")
             for level in esc.levels]
    assert len(rungs) == len(set(rungs))
    wanted = {"breach", *(f"up-{k}" for k in range(1, depth + 1))}
    assert wanted <= set(rungs) <= wanted | {"warning"}
    on_chain = {unit.unit_id for unit in units}
    assert all(esc.target_unit_id in on_chain for esc in world.store.escalations.values()
               if esc.target_unit_id is not None)


def test_a_store_under_a_county_noticed_30_hours_late_tells_the_store_and_the_county_at_once() -> None:
    world = World(chain([True, True, True]), RECEIVED + timedelta(hours=30))
    world.file_praise("u2", RECEIVED)
    assert sorted(world.run()) == [("u1", "up-1"), ("u2", "breach")]
    [store_message] = [m for m in world.messages if m.attributes["unit"] == "u2"]
    assert "noticed late, told at the same time: up-1" in store_message.body.lower()
    assert store_message.sms.endswith("+up-1")


def test_a_store_directly_under_the_branch_gets_warning_breach_then_the_branch() -> None:
    world = World(chain([True, True]), RECEIVED)
    world.file_praise("u1", RECEIVED)
    seen = []
    for hours in (18, 24.01, 28, 31):
        world.now = RECEIVED + timedelta(hours=hours)
        seen += world.run()
    assert seen == [("u1", "warning"), ("u1", "breach"), ("u0", "up-1")]


def test_a_department_nobody_manages_passes_every_rung_to_the_branch_in_one_message_when_late() -> None:
    world = World(chain([True, False]), RECEIVED + timedelta(hours=40))
    world.file_praise("u1", RECEIVED)
    assert world.run() == [("u0", "up-1")]
    [esc] = world.store.escalations.values()
    assert esc.levels == ("breach", "up-1")


def test_the_branch_itself_is_warned_breached_and_reminded_daily_at_eight_until_acknowledged() -> None:
    world = World(chain([True]), RECEIVED)
    world.file_praise("u0", RECEIVED)
    sent = []
    for hours in (18, 24.01, 30, 46.9, 47, 47.5, 71, 95):  # +47 h = Wednesday 08:00 in Hangzhou
        world.now = RECEIVED + timedelta(hours=hours)
        sent += world.run()
    assert sent == [("u0", "warning"), ("u0", "breach"), ("u0", "reminder-2026-11-25"),
                    ("u0", "reminder-2026-11-26"), ("u0", "reminder-2026-11-27")]
    alarm = world.store.alarms["CD-AAAA-BBBB-CCCC", "acceptance"]
    world.store.put_alarm(alarm.model_copy(update={"acknowledged": ("breach",)}))
    world.now += timedelta(days=1)
    assert world.run() == []


def test_a_run_days_late_sends_only_todays_reminder() -> None:
    world = World(chain([True, True]), RECEIVED + timedelta(hours=33))
    world.file_praise("u1", RECEIVED)
    world.run()
    world.now = RECEIVED + timedelta(days=6)
    assert world.run() == [("u0", "reminder-2026-11-29")]
    assert world.run() == []


def test_nobody_to_tell_anywhere_is_recorded_as_unreachable_and_counted(capsys: Any) -> None:
    world = World(chain([False, False]), RECEIVED + timedelta(hours=25))
    world.file_praise("u1", RECEIVED)
    assert world.run() == []
    [esc] = world.store.escalations.values()
    assert esc.state == "unreachable" and esc.target_unit_id is None
    assert '"EscalationUnreachable"' in capsys.readouterr().out


def test_each_chunk_is_leased_from_when_it_is_written_not_from_the_start_of_the_run() -> None:
    """A run longer than the lease must not leave chunks it is still publishing looking abandoned
    (another run would then report them unconfirmed)."""
    units = chain([True, True])
    world = World(units, RECEIVED + timedelta(hours=25))
    for n in range(3):
        case = world.file_praise("u1", RECEIVED)
        world.store.put_alarm(alarm_for(case.model_copy(update={"case_id": f"CD-AAAA-BBBB-000{n}"}),
                                        "acceptance", LADDER))
    ticks = iter(range(1000))
    start = world.now
    slow_clock = lambda: start + timedelta(minutes=4 * next(ticks))  # noqa: E731 (4 minutes per look at the clock)
    world.service = EscalationService(world.store, world.publisher, UnitList(units), LADDER, slow_clock,
                                      lease=timedelta(minutes=5), chunk_size=1)
    world.service.run()
    leases = sorted(world.store.leases.values())
    assert leases[-1] - start > timedelta(minutes=5)
    assert len(set(leases)) == len(leases) == 4, "one lease per chunk, each counted from its own write"
