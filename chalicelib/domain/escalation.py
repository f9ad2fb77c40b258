"""Escalation ladder (rulebook §4, §8): a warning when most of a clock has run, the breach to the
unit's manager, then one unit further up per step while the clock stays breached; and the
immediate notice of media and regulator cases. Pure rules and message texts, no AWS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from chalicelib.domain.models import Case, CaseType, Channel

if TYPE_CHECKING:
    from chalicelib.domain.models import Unit

class UnitLookup(Protocol):
    """A dict of units, or the unit registry: anything with `get(unit_id)`."""

    def get(self, unit_id: str, /) -> Unit | None: ...


NOTICE_CLOCK = "notice"
NOTICE_CHANNELS = frozenset({Channel.MEDIA, Channel.REGULATOR})
SMS_MAX_CHARS = 160
BREACH_AFTER = timedelta(seconds=1)


@dataclass(frozen=True)
class Step:
    """One rung: its level name, when it is due, and how many units above the case's it goes."""

    level: str
    at: datetime
    hops_up: int


@dataclass(frozen=True)
class Ladder:
    """Configurable: the share of a clock after which to warn, and the delay between rungs above."""

    warning_share: float = 0.75
    step_delay: timedelta = timedelta(hours=4)
    levels_up: int = 2

    def steps(self, started_at: datetime, due_at: datetime) -> list[Step]:
        """The breach rung is due once the deadline has passed (a clock is breached after it)."""
        warning_at = started_at + (due_at - started_at) * self.warning_share
        return [Step("warning", warning_at, 0), Step("breach", due_at + BREACH_AFTER, 0),
                *(Step(f"up-{k}", due_at + self.step_delay * k, k) for k in range(1, self.levels_up + 1))]


class Alarm(BaseModel):
    """The escalation schedule of one running clock: the last rung taken and when the next is due.
    A clock's alarm lives while the clock runs; its `next_at` is what the open-deadlines index holds."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    clock: str
    deadline_version: int
    case_type: CaseType
    unit_id: str
    started_at: datetime
    due_at: datetime
    last_level: str | None = None
    next_at: datetime | None = None

    def due_step(self, ladder: Ladder, now: datetime) -> Step | None:
        """The highest rung due by `now` above the last one taken: a run that comes late sends the
        breach, not a stale warning before it."""
        steps = self.steps_left(ladder)
        due = [step for step in steps if step.at <= now]
        return due[-1] if due else None

    def steps_left(self, ladder: Ladder) -> list[Step]:
        steps = ladder.steps(self.started_at, self.due_at)
        levels = [step.level for step in steps]
        start = levels.index(self.last_level) + 1 if self.last_level in levels else 0
        return steps[start:]

    def after(self, level: str, ladder: Ladder) -> Alarm:
        """The alarm once `level` is taken: the next rung's time, or none when the ladder ends."""
        taken = self.model_copy(update={"last_level": level})
        rest = taken.steps_left(ladder)
        return taken.model_copy(update={"next_at": rest[0].at if rest else None})

    def finished(self) -> Alarm:
        return self.model_copy(update={"next_at": None})


def alarm_for(case: Case, clock_name: str, ladder: Ladder) -> Alarm:
    clock = case.clocks[clock_name]
    alarm = Alarm(case_id=case.case_id, clock=clock_name, deadline_version=clock.deadline_version,
                  case_type=case.type, unit_id=case.unit_id, started_at=clock.started_at,
                  due_at=clock.due_at)
    steps = alarm.steps_left(ladder)
    return alarm.model_copy(update={"next_at": steps[0].at})


def alarm_changes(before: Case | None, after: Case, ladder: Ladder) -> tuple[list[Alarm], list[str]]:
    """Which alarms a case write must put (a clock started, its deadline moved, the case changed
    unit) and which it must delete (a clock stopped). Other writes leave the escalator's progress."""
    puts: list[Alarm] = []
    deletes: list[str] = []
    for name, clock in after.clocks.items():
        old = before.clocks.get(name) if before else None
        if not clock.running:
            if old is not None and old.running:
                deletes.append(name)
            continue
        if (old is None or not old.running or old.deadline_version != clock.deadline_version
                or before is None or before.unit_id != after.unit_id):
            puts.append(alarm_for(after, name, ladder))
    return puts, deletes


class EscalationState(StrEnum):
    SENDING = "sending"          # claimed by a run that is publishing it now
    PENDING = "pending"          # a publish failed; the next run tries again
    SENT = "sent"
    UNCONFIRMED = "unconfirmed"  # a run died between claim and bookkeeping: not resent, alarmed


class Escalation(BaseModel):
    """One message a manager receives, exactly once per (case, clock, level, deadline version)."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    clock: str
    level: str
    deadline_version: int
    case_type: CaseType
    case_unit_id: str
    target_unit_id: str
    due_at: datetime | None
    created_at: datetime
    state: EscalationState = EscalationState.SENDING
    attempts: int = 0
    message_id: str | None = None
    sent_at: datetime | None = None
    last_error: str | None = None

    @property
    def key(self) -> str:
        return f"{self.case_id}/{self.clock}/v{self.deadline_version}/{self.level}"


@dataclass(frozen=True)
class Decision:
    """Take a rung: the alarm as read, the alarm after, and the escalation to send (None when the
    rung has nobody to go to, e.g. above the top of the organisation)."""

    alarm: Alarm
    advanced: Alarm
    escalation: Escalation | None


@dataclass
class DueItems:
    alarms: list[Alarm]
    retries: list[Escalation]      # pending: a publish failed
    expired: list[Escalation]      # sending past the lease: the run that claimed them died
    items_read: int


def notices_at_intake(case: Case, units: UnitLookup, now: datetime) -> list[Escalation]:
    """Rulebook §2: a media or regulator case notifies the unit's owner and the regional
    specialist at once (the nearest unit at or above with one, else the parent unit)."""
    if case.channel not in NOTICE_CHANNELS:
        return []
    targets = [case.unit_id]
    specialist = _specialist_unit(case.unit_id, units)
    if specialist and specialist not in targets:
        targets.append(specialist)
    return [Escalation(case_id=case.case_id, clock=NOTICE_CLOCK,
                       level="notice-owner" if target == case.unit_id else "notice-specialist",
                       deadline_version=1, case_type=case.type, case_unit_id=case.unit_id,
                       target_unit_id=target, due_at=None, created_at=now,
                       state=EscalationState.PENDING)
            for target in targets]


def _specialist_unit(unit_id: str, units: UnitLookup) -> str | None:
    seen: set[str] = set()
    unit = units.get(unit_id)
    while unit is not None and unit.unit_id not in seen:
        if any("specialist" in manager.role.lower() for manager in unit.managers):
            return unit.unit_id
        seen.add(unit.unit_id)
        unit = units.get(unit.parent_id) if unit.parent_id else None
    home = units.get(unit_id)
    return home.parent_id if home else None


def unit_above(unit_id: str, hops: int, units: UnitLookup) -> str | None:
    """The unit `hops` levels above (0 = the unit itself), or the nearest one above it that has
    a manager to tell; None past the top of the organisation."""
    current = units.get(unit_id)
    for _ in range(hops):
        if current is None or current.parent_id is None:
            return None
        current = units.get(current.parent_id)
    while current is not None and not current.managers:
        current = units.get(current.parent_id) if current.parent_id else None
    return current.unit_id if current else None


@dataclass(frozen=True)
class OutgoingMessage:
    """What SNS carries: an SMS-sized text, an email subject and body, and filterable attributes."""

    key: str
    sms: str
    subject: str
    body: str
    attributes: dict[str, str]


_LEVEL_WORDS = {
    "warning": "WARNING", "breach": "BREACHED", "notice-owner": "NOTICE", "notice-specialist": "NOTICE",
}


def level_words(level: str) -> str:
    return _LEVEL_WORDS.get(level, f"ESCALATED {level.upper()}")


def render(escalation: Escalation, case_unit: Unit | None, now: datetime) -> OutgoingMessage:
    """The texts a manager reads; they carry the case number, never the customer's phone (issue 5)."""
    tz = ZoneInfo(case_unit.time_zone) if case_unit else ZoneInfo("UTC")
    unit_name = case_unit.name if case_unit else escalation.case_unit_id
    words = level_words(escalation.level)
    if escalation.clock == NOTICE_CLOCK:
        sms = (f"[Complaint Desk] {words} {escalation.case_type.value} {escalation.case_id} at "
               f"{escalation.case_unit_id} came from media/regulator: act now")
        subject = f"{words}: media/regulator {escalation.case_type.value} {escalation.case_id}"
        what = "A case came in through the media or a regulator and must be handled centrally, now."
    else:
        assert escalation.due_at is not None
        due = escalation.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M %z")
        sms = (f"[Complaint Desk] {words} {escalation.case_type.value} {escalation.case_id} "
               f"{escalation.case_unit_id} {escalation.clock} due {due}")
        subject = f"{words}: {escalation.clock} of {escalation.case_type.value} {escalation.case_id} due {due}"
        state = "has passed" if now > escalation.due_at else "is close"
        what = f"The {escalation.clock} deadline {state}: {due}."
    body = "\n".join([
        what,
        "",
        f"Case:      {escalation.case_id} ({escalation.case_type.value})",
        f"Unit:      {unit_name} ({escalation.case_unit_id})",
        f"Clock:     {escalation.clock} (deadline version {escalation.deadline_version})",
        f"Level:     {escalation.level}, sent to {escalation.target_unit_id}",
        "",
        f"Open the case: GET /cases/{escalation.case_id}",
        f"Acknowledge:   POST /cases/{escalation.case_id}/acknowledge with "
        f'{{"actor": "<your name>", "clock": "{escalation.clock}", "level": "{escalation.level}"}} '
        "and the case version as If-Match",
    ])
    return OutgoingMessage(
        key=escalation.key, sms=sms[:SMS_MAX_CHARS], subject=subject[:100], body=body,
        attributes={"unit": escalation.target_unit_id, "level": escalation.level,
                    "clock": escalation.clock, "type": escalation.case_type.value,
                    "case_unit": escalation.case_unit_id},
    )


def message_document(message: OutgoingMessage) -> dict[str, Any]:
    """The JSON machine subscribers (and the local outbox) receive."""
    return {"key": message.key, "sms": message.sms, "subject": message.subject, "body": message.body,
            "attributes": message.attributes}
