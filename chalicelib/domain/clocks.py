"""Deadline clocks of a case (rulebook §8): 24 clock hours for acceptance and an inquiry's answer,
working days (calendar.py) for a complaint's handling, the promised date for a suggestion's reply."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from chalicelib.domain.calendar import UnitClock
    from chalicelib.domain.models import CaseType

ACCEPTANCE_LIMIT = timedelta(hours=24)
INQUIRY_ANSWER_LIMIT = timedelta(hours=24)
COMPLAINT_HANDLING_WORKING_DAYS = 3
SPECIAL_COMPLAINT_HANDLING_WORKING_DAYS = 7
# Rulebook §5 (follow up later): the follow-up contact after a complaint is resolved is due by the
# end of this many days after the day of resolution, unit-local (configurable: FOLLOW_UP_DAYS).
FOLLOW_UP_CLOCK = "follow_up"
DEFAULT_FOLLOW_UP_DAYS = 7
# Rulebook §6 限期整改: the deadline a spot check's mismatch sets the unit to put things right.
RECTIFICATION_CLOCK = "rectification"
# The organisation's own duties, not a date anyone promised the customer: never on their status page.
INTERNAL_CLOCKS = frozenset({FOLLOW_UP_CLOCK, RECTIFICATION_CLOCK})
# The clocks whose deadline is when the customer hears back (rulebook §8): a complaint's result, an
# inquiry's answer, a suggestion's reply once a date is promised. Acceptance is not an answer.
REPLY_CLOCKS = frozenset({"handling", "answer", "reply"})


def reply_by(clocks: dict[str, Clock]) -> datetime | None:
    """When the customer is promised an answer: the latest of the case's reply clocks, None for a
    case that promises none yet (a suggestion before its date is promised, praise)."""
    return max((clock.due_at for name, clock in clocks.items() if name in REPLY_CLOCKS), default=None)


class ClockState(StrEnum):
    RUNNING = "running"
    MET = "met"
    BREACHED = "breached"
    STOPPED = "stopped"


class Clock(BaseModel):
    """A deadline that starts at `started_at` and stops when its goal is met (or is abandoned)."""

    model_config = ConfigDict(frozen=True)

    name: str
    started_at: datetime
    due_at: datetime
    stopped_at: datetime | None = None
    goal_met: bool | None = None
    provisional: bool = False
    # Bumped whenever the deadline moves; escalations are sent once per (clock, level, version).
    deadline_version: int = 1

    def moved_to(self, due_at: datetime, provisional: bool) -> Clock:
        """The same clock with a recomputed deadline; a real move starts a new deadline version."""
        if due_at == self.due_at:
            return self.model_copy(update={"provisional": provisional})
        return self.model_copy(update={"due_at": due_at, "provisional": provisional,
                                       "deadline_version": self.deadline_version + 1})

    @property
    def running(self) -> bool:
        return self.stopped_at is None

    def stop(self, at: datetime, goal_met: bool) -> Clock:
        if self.stopped_at is not None:
            return self
        return self.model_copy(update={"stopped_at": at, "goal_met": goal_met})

    def state(self, now: datetime) -> ClockState:
        if self.stopped_at is None:
            return ClockState.BREACHED if now > self.due_at else ClockState.RUNNING
        if not self.goal_met:
            return ClockState.STOPPED
        return ClockState.MET if self.stopped_at <= self.due_at else ClockState.BREACHED

    def view(self, now: datetime, time_zone: str) -> dict[str, Any]:
        """The clock as a case document shows it (case_document.Deadline), as JSON."""
        from chalicelib.domain.case_document import Deadline

        return Deadline.of(self, now, time_zone).model_dump(mode="json")


def end_of_local_day(day: date, time_zone: str) -> datetime:
    """Rulebook §8: a date-based limit ends at 23:59:59 unit-local time of that date."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=ZoneInfo(time_zone))


def initial_clocks(case_type: CaseType, received_at: datetime, unit_clock: UnitClock) -> dict[str, Clock]:
    """Rulebook §1/§8: every case is accepted within 24 h; an inquiry answered within 24 h;
    a complaint handled by the end of the 3rd working day after the day of receipt."""
    from chalicelib.domain.calendar import working_days_deadline
    from chalicelib.domain.models import CaseType

    clocks = {"acceptance": Clock(name="acceptance", started_at=received_at,
                                  due_at=received_at + ACCEPTANCE_LIMIT)}
    if case_type is CaseType.INQUIRY:
        clocks["answer"] = Clock(name="answer", started_at=received_at,
                                 due_at=received_at + INQUIRY_ANSWER_LIMIT)
    if case_type is CaseType.COMPLAINT:
        due_at, provisional = working_days_deadline(received_at, COMPLAINT_HANDLING_WORKING_DAYS, unit_clock)
        clocks["handling"] = Clock(name="handling", started_at=received_at, due_at=due_at,
                                   provisional=provisional)
    return clocks


def follow_up_due(resolved_at: datetime, days: int, time_zone: str) -> datetime:
    """The follow-up contact is due at 23:59:59 unit-local of the `days`-th day after the day of
    resolution (the day of resolution is not counted, as for every day-based limit, §8)."""
    local_day = resolved_at.astimezone(ZoneInfo(time_zone)).date()
    return end_of_local_day(local_day + timedelta(days=days), time_zone)
