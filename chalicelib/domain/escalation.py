"""Escalation ladder (rulebook §4, §8): a warning when most of a clock has run, the breach to the
unit's manager, then one unit further up per step while the clock stays breached; and the
immediate notice of media and regulator cases. Pure rules and message texts, no AWS."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from chalicelib.domain.models import Case, CaseType, Channel

if TYPE_CHECKING:
    from chalicelib.domain.models import ManagerContact, Unit

class UnitLookup(Protocol):
    """A dict of units, or the unit registry: anything with `get(unit_id)`."""

    def get(self, unit_id: str, /) -> Unit | None: ...


NOTICE_CLOCK = "notice"
NOTICE_CHANNELS = frozenset({Channel.MEDIA, Channel.REGULATOR})
SMS_MAX_CHARS = 160
BREACH_AFTER = timedelta(seconds=1)
REMINDER_PREFIX = "reminder-"
# The first daily reminder comes at least this long after the top rung was sent, so a manager
# told at 07:30 is not reminded at 08:00 the same morning.
FIRST_REMINDER_GAP = timedelta(hours=6)


@dataclass(frozen=True)
class Step:
    """One rung: its level name, when it is due, and how many units above the case's it goes."""

    level: str
    at: datetime
    hops_up: int


@dataclass(frozen=True)
class Ladder:
    """Configurable: the share of a clock after which to warn, the delay between rungs above, and
    the unit-local hour of the daily reminder to the top once every rung is taken (None: none)."""

    warning_share: float = 0.75
    step_delay: timedelta = timedelta(hours=4)
    reminder_hour: int | None = 8

    def steps(self, started_at: datetime, due_at: datetime, depth: int) -> list[Step]:
        """Rulebook §4 (tiered responsibility): warning and breach to the case's own unit, then one
        rung per unit above it, up to the top of the organisation (`depth` units above). The
        breach rung is due once the deadline has passed (a clock is breached after it)."""
        warning_at = started_at + (due_at - started_at) * self.warning_share
        return [Step("warning", warning_at, 0), Step("breach", due_at + BREACH_AFTER, 0),
                *(Step(f"up-{k}", due_at + self.step_delay * k, k) for k in range(1, depth + 1))]

    def reminders_after(self, moment: datetime, time_zone: str) -> datetime:
        """The first reminder time (unit-local `reminder_hour`) strictly after `moment`."""
        assert self.reminder_hour is not None
        tz = ZoneInfo(time_zone)
        local = moment.astimezone(tz)
        candidate = datetime.combine(local.date(), time(self.reminder_hour), tzinfo=tz)
        while candidate <= local:
            candidate = datetime.combine(candidate.date() + timedelta(days=1), time(self.reminder_hour), tzinfo=tz)
        return candidate.astimezone(UTC)

    def latest_reminder(self, now: datetime, time_zone: str) -> datetime:
        """The most recent reminder time (unit-local `reminder_hour`) at or before `now`."""
        after = self.reminders_after(now, time_zone).astimezone(ZoneInfo(time_zone))
        return datetime.combine(after.date() - timedelta(days=1), time(after.hour),
                                tzinfo=after.tzinfo).astimezone(UTC)


def is_reminder(level: str | None) -> bool:
    return bool(level) and str(level).startswith(REMINDER_PREFIX)


def top_level(depth: int) -> str:
    """The level of the ladder's last rung: the top of the organisation above the case's unit."""
    return f"up-{depth}" if depth else "breach"


@dataclass(frozen=True)
class Plan:
    """What a run does with one alarm: the rungs to take now (stale warnings left out) and the
    alarm afterwards, with the time its next rung or reminder is due (None: nothing more)."""

    take: list[Step]
    advanced: Alarm


class Alarm(BaseModel):
    """The escalation schedule of one running clock: the last rung taken and when the next is due.
    A clock's alarm lives while the clock runs; its `next_at` is what the open-deadlines index holds.
    `acknowledged` holds the levels a manager acknowledged for this deadline version."""

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
    acknowledged: tuple[str, ...] = ()

    def plan(self, ladder: Ladder, depth: int, time_zone: str, now: datetime) -> Plan:
        """Every rung due by `now` that was not taken yet — a run that comes late (a back-dated
        or late-noticed case) takes them all at once, so the unit's own manager is never skipped —
        except a warning whose deadline has already passed. Once the last rung is taken, the top
        of the organisation is reminded daily while the clock stays breached and they have not
        acknowledged it; a run late by days sends only the latest reminder."""
        steps = ladder.steps(self.started_at, self.due_at, depth)
        levels = [step.level for step in steps]
        if self.last_level is None:
            left = steps
        elif self.last_level in levels:
            left = steps[levels.index(self.last_level) + 1:]
        else:  # a reminder, or a rung of a taller tree than today's: every rung has been taken
            left = []
        take = [step for step in left if step.at <= now]
        if len(take) > 1 and take[0].level == "warning":
            take = take[1:]  # the deadline has passed: the breach says more than a stale warning
        ahead = [step for step in left if step.at > now]
        last = take[-1].level if take else self.last_level
        if ahead:
            return Plan(take, self._with(last, ahead[0].at))
        if ladder.reminder_hour is None or self._top_acknowledged(depth):
            return Plan(take, self._with(last, None))
        if take:  # the top rung is taken in this run: reminders start the next morning or so
            return Plan(take, self._with(last, ladder.reminders_after(now + FIRST_REMINDER_GAP, time_zone)))
        if self.next_at is not None and self.next_at <= now:
            at = ladder.latest_reminder(now, time_zone)
            day = at.astimezone(ZoneInfo(time_zone)).date().isoformat()
            reminder = Step(f"{REMINDER_PREFIX}{day}", at, depth)
            return Plan([reminder], self._with(reminder.level, ladder.reminders_after(now, time_zone)))
        return Plan([], self._with(last, self.next_at))

    def _top_acknowledged(self, depth: int) -> bool:
        return any(level == top_level(depth) or is_reminder(level) for level in self.acknowledged)

    def _with(self, last_level: str | None, next_at: datetime | None) -> Alarm:
        return self.model_copy(update={"last_level": last_level, "next_at": next_at})

    def first_due(self, ladder: Ladder) -> datetime:
        """When the first rung (the warning) is due: where a new alarm enters the index."""
        return ladder.steps(self.started_at, self.due_at, 0)[0].at


def alarm_for(case: Case, clock_name: str, ladder: Ladder) -> Alarm:
    clock = case.clocks[clock_name]
    alarm = Alarm(case_id=case.case_id, clock=clock_name, deadline_version=clock.deadline_version,
                  case_type=case.type, unit_id=case.unit_id, started_at=clock.started_at,
                  due_at=clock.due_at)
    return alarm.model_copy(update={"next_at": alarm.first_due(ladder)})


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


def depth_of(unit_id: str, units: UnitLookup) -> int:
    """How many units stand above this one in the organisation (0 for the top)."""
    seen = {unit_id}
    unit = units.get(unit_id)
    depth = 0
    while unit is not None and unit.parent_id and unit.parent_id not in seen:
        seen.add(unit.parent_id)
        unit = units.get(unit.parent_id)
        depth += 1 if unit is not None else 0
    return depth


class EscalationState(StrEnum):
    SENDING = "sending"          # claimed by a run that is publishing it now
    PENDING = "pending"          # a publish failed; the next run tries again
    SENT = "sent"
    UNCONFIRMED = "unconfirmed"  # a run died between claim and bookkeeping: not resent, alarmed
    UNREACHABLE = "unreachable"  # nobody in the whole chain above has a manager: alarmed, not sent


class Escalation(BaseModel):
    """One message a manager receives, exactly once per (case, clock, level, deadline version).
    `covers` are lower rungs of the same run that reach the same unit (one message, not two);
    `taken_with` are the other rungs taken in the same run: a case noticed late tells every level
    that should already know at once, and each message says so."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    clock: str
    level: str
    deadline_version: int
    case_type: CaseType
    case_unit_id: str
    target_unit_id: str | None
    due_at: datetime | None
    created_at: datetime
    state: EscalationState = EscalationState.SENDING
    attempts: int = 0
    message_id: str | None = None
    sent_at: datetime | None = None
    last_error: str | None = None
    covers: tuple[str, ...] = ()
    taken_with: tuple[str, ...] = ()
    # The people it is for (staff ids from the directory): the target unit's managers when it was made.
    recipients: tuple[str, ...] = ()

    @property
    def levels(self) -> tuple[str, ...]:
        """Every rung this one message stands for."""
        return (*self.covers, self.level)

    @property
    def key(self) -> str:
        return f"{self.case_id}/{self.clock}/v{self.deadline_version}/{self.level}"


@dataclass(frozen=True)
class Decision:
    """Take the rungs due: the alarm as read, the alarm after, and one escalation per unit told
    (none when nothing is due after all, e.g. the ladder was reconfigured)."""

    alarm: Alarm
    advanced: Alarm
    escalations: list[Escalation]


# A unit's contacts carry their roles (chalicelib/adapters/staff_directory.py); escalations are for
# managers, media and regulator notices also for the regional specialist (rulebook §2, §4).
MANAGER_ROLES = frozenset({"unit-manager", "branch-supervisor"})
SPECIALIST_ROLE = "regional-specialist"


def _roles(contact: ManagerContact) -> set[str]:
    return {role.strip() for role in contact.role.split(",")}


def managers(unit: Unit | None) -> list[ManagerContact]:
    """The unit's people who act on its escalations (a contact of another kind, or a typed manager
    contact of an old unit record, counts as a manager)."""
    if unit is None:
        return []
    return [m for m in unit.managers if _roles(m) & MANAGER_ROLES or not _roles(m) & {SPECIALIST_ROLE}]


def _recipients(unit_id: str | None, units: UnitLookup, level: str = "") -> tuple[str, ...]:
    """The staff ids of the people an escalation at this level is for: the unit's managers, or
    for a specialist notice its regional specialists."""
    unit = units.get(unit_id) if unit_id else None
    if unit is None:
        return ()
    people = ([m for m in unit.managers if SPECIALIST_ROLE in _roles(m)] if level == "notice-specialist"
              else managers(unit))
    return tuple(m.staff_id for m in people if m.staff_id)


def escalations_for(alarm: Alarm, take: list[Step], units: UnitLookup, now: datetime) -> list[Escalation]:
    """One escalation per unit told: each rung goes to its unit, or up to the nearest unit above
    with a manager; rungs that reach the same unit become one message. A rung that reaches nobody
    in the whole chain is recorded as unreachable (and alarmed), never dropped."""
    by_target: dict[str | None, list[Step]] = {}
    for step in take:
        by_target.setdefault(unit_above(alarm.unit_id, step.hops_up, units), []).append(step)
    levels = [step.level for step in take]
    made = []
    for target, steps in by_target.items():
        mine = {step.level for step in steps}
        made.append(Escalation(
            case_id=alarm.case_id, clock=alarm.clock, level=steps[-1].level,
            deadline_version=alarm.deadline_version, case_type=alarm.case_type, case_unit_id=alarm.unit_id,
            target_unit_id=target, due_at=alarm.due_at, created_at=now,
            state=EscalationState.SENDING if target else EscalationState.UNREACHABLE,
            recipients=_recipients(target, units, steps[-1].level),
            covers=tuple(step.level for step in steps[:-1]),
            taken_with=tuple(level for level in levels if level not in mine)))
    return made


@dataclass
class DueItems:
    alarms: list[Alarm]
    retries: list[Escalation]      # pending: a publish failed
    expired: list[Escalation]      # sending past the lease: the run that claimed them died
    items_read: int


def notices_at_intake(case: Case, units: UnitLookup, now: datetime) -> list[Escalation]:
    """Rulebook §2: a media or regulator case notifies the unit's owner and the regional
    specialist at once. A case of another channel whose text holds escalation-risk language
    (risk.py) does the same, as a `risk` notice; a media case that also holds such language is
    told once. As on the ladder, nobody is skipped: a unit without a manager passes its notice to
    the nearest unit above that has one; where no unit at or above has a regional specialist, the
    managers above the unit are told instead; a notice that reaches nobody is recorded as
    unreachable (and alarmed), never sent to an empty list."""
    from chalicelib.domain.risk import RISK_CLOCK

    if case.channel in NOTICE_CHANNELS:
        clock = NOTICE_CLOCK
    elif case.risk is not None and case.risk.raised:
        clock = RISK_CLOCK
    else:
        return []

    def notice(level: str, target: str | None, recipients: tuple[str, ...]) -> Escalation:
        reached = target is not None and bool(recipients)
        return Escalation(case_id=case.case_id, clock=clock, level=level, deadline_version=1, case_type=case.type,
                          case_unit_id=case.unit_id, target_unit_id=target if reached else None, due_at=None,
                          created_at=now, recipients=recipients if reached else (),
                          state=EscalationState.PENDING if reached else EscalationState.UNREACHABLE)

    owner = unit_above(case.unit_id, 0, units)
    told = _recipients(owner, units)
    made = [notice("notice-owner", owner, told)]
    specialist = _specialist_unit(case.unit_id, units)
    if specialist is not None:
        people = tuple(p for p in _recipients(specialist, units, "notice-specialist") if p not in told)
        if people:
            made.append(notice("notice-specialist", specialist, people))
        return made
    home = units.get(case.unit_id)
    above = unit_above(home.parent_id, 0, units) if home is not None and home.parent_id else None
    if above is not None and above != owner:
        made.append(notice("notice-specialist", above, _recipients(above, units)))
    return made


def _specialist_unit(unit_id: str, units: UnitLookup) -> str | None:
    """The nearest unit at or above with a regional specialist, if any."""
    seen: set[str] = set()
    unit = units.get(unit_id)
    while unit is not None and unit.unit_id not in seen:
        if any(SPECIALIST_ROLE in _roles(manager) for manager in unit.managers):
            return unit.unit_id
        seen.add(unit.unit_id)
        unit = units.get(unit.parent_id) if unit.parent_id else None
    return None


def unit_above(unit_id: str, hops: int, units: UnitLookup) -> str | None:
    """The unit `hops` levels above (0 = the unit itself), or the nearest one above it that has
    a manager to tell; None past the top of the organisation."""
    current = units.get(unit_id)
    for _ in range(hops):
        if current is None or current.parent_id is None:
            return None
        current = units.get(current.parent_id)
    while current is not None and not managers(current):
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
    # What the notifier needs to tell each person in their language: the escalation and its
    # recipients (staff ids), or a prepared report for a unit's managers.
    payload: dict[str, Any] = field(default_factory=dict)


_LEVEL_WORDS = {
    "warning": "WARNING", "breach": "BREACHED", "notice-owner": "NOTICE", "notice-specialist": "NOTICE",
}


def level_words(level: str) -> str:
    if is_reminder(level):
        return "STILL BREACHED"
    return _LEVEL_WORDS.get(level, f"ESCALATED {level.upper()}")


def _late_note(escalation: Escalation) -> str:
    """Rulebook §8 read by a manager: a case noticed late reaches every level at once; say so."""
    parts = []
    if escalation.covers:
        parts.append(f"this message also stands for: {', '.join(escalation.covers)}")
    if escalation.taken_with:
        parts.append(f"noticed late, told at the same time: {', '.join(escalation.taken_with)}")
    return "; ".join(parts)


def cut_at_word(text: str, limit: int) -> str:
    """`text` within `limit` characters, ending in "…" where it must be cut, and cut only between
    words: at a space, or next to a Chinese (wide) character, which stands on its own. Only a
    single word longer than the whole limit is cut inside."""
    if len(text) <= limit:
        return text
    room = limit - 1  # one character for the ellipsis
    for end in range(room, 0, -1):
        if _word_boundary(text[end - 1], text[end]):
            head = text[:end].rstrip()
            if head:
                return head + "…"
    return text[:room] + "…"


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _word_boundary(before: str, after: str) -> bool:
    return after.isspace() or before.isspace() or _wide(before) or _wide(after)


# SNS: "Subjects must be ... less than 100 characters long" (Publish API reference).
SUBJECT_MAX_CHARS = 99


def render(escalation: Escalation, case_unit: Unit | None, now: datetime) -> OutgoingMessage:
    """The texts a manager reads; they carry the case number, never the customer's phone."""
    tz = ZoneInfo(case_unit.time_zone) if case_unit else ZoneInfo("UTC")
    unit_name = case_unit.name if case_unit else escalation.case_unit_id
    words = level_words(escalation.level)
    if escalation.clock == NOTICE_CLOCK:
        sms = (f"[Complaint Desk] {words} {escalation.case_type.value} {escalation.case_id} at "
               f"{escalation.case_unit_id} came from media/regulator: act now")
        subject = f"{words}: media/regulator {escalation.case_type.value} {escalation.case_id}"
        what = "A case came in through the media or a regulator and must be handled centrally, now."
    elif escalation.due_at is None:  # a risk notice: the customer threatened media, 12315, a lawyer…
        sms = (f"[Complaint Desk] {words} {escalation.case_type.value} {escalation.case_id} at "
               f"{escalation.case_unit_id}: escalation-risk language, act now")
        subject = f"{words}: escalation-risk language in {escalation.case_type.value} {escalation.case_id}"
        what = ("The customer's words suggest they may go to the media, a regulator or a lawyer; "
                "handle the case now.")
    else:
        assert escalation.due_at is not None
        due = escalation.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M %z")
        sms = (f"[Complaint Desk] {words} {escalation.case_type.value} {escalation.case_id} "
               f"{escalation.case_unit_id} {escalation.clock} due {due}")
        subject = f"{words}: {escalation.clock} of {escalation.case_type.value} {escalation.case_id} due {due}"
        state = "has passed" if now > escalation.due_at else "is close"
        what = f"The {escalation.clock} deadline {state}: {due}."
        late = _late_note(escalation)
        if late:
            what += f" ({late[0].upper()}{late[1:]}.)"
            sms += " +" + ",".join((*escalation.covers, *escalation.taken_with))
    body = "\n".join([
        what,
        "",
        f"Case:      {escalation.case_id} ({escalation.case_type.value})",
        f"Unit:      {unit_name} ({escalation.case_unit_id})",
        f"Clock:     {escalation.clock} (deadline version {escalation.deadline_version})",
        f"Level:     {', '.join(escalation.levels)}, sent to {escalation.target_unit_id}",
        "",
        f"Open the case: GET /cases/{escalation.case_id}",
        f"Acknowledge:   POST /cases/{escalation.case_id}/acknowledge with "
        f'{{"actor": "<your name>", "clock": "{escalation.clock}", "level": "{escalation.level}"}} '
        "and the case version as If-Match",
    ])
    return OutgoingMessage(
        key=escalation.key, sms=sms[:SMS_MAX_CHARS], subject=cut_at_word(subject, SUBJECT_MAX_CHARS), body=body,
        attributes={"unit": escalation.target_unit_id or escalation.case_unit_id, "level": escalation.level,
                    "clock": escalation.clock, "type": escalation.case_type.value,
                    "case_unit": escalation.case_unit_id},
        payload={"kind": "escalation", "key": escalation.key, "case_id": escalation.case_id,
                 "clock": escalation.clock, "level": escalation.level, "case_unit_id": escalation.case_unit_id,
                 "unit_name": unit_name, "time_zone": tz.key,
                 "due_at": escalation.due_at.isoformat() if escalation.due_at else None,
                 "late_levels": [*escalation.covers, *escalation.taken_with],
                 "recipients": list(escalation.recipients)},
    )


def message_document(message: OutgoingMessage) -> dict[str, Any]:
    """The JSON machine subscribers (the notifier's queue, the local inboxes) receive."""
    return {"key": message.key, "sms": message.sms, "subject": message.subject, "body": message.body,
            "attributes": message.attributes, "payload": message.payload}
