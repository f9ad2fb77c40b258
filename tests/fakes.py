"""In-memory fakes of the services' ports (chalicelib/services/ports.py), so their rules run in
milliseconds without moto. They keep the same promises the DynamoDB adapters keep: an escalation is
created once per key, an alarm is advanced only if it is still the one read, a case is written only
at the version its writer read, and a case change commits with everything its unit of work carries
or not at all."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from chalicelib.domain.customer_messages import CustomerMessage
from chalicelib.domain.delivery import DeliveryState
from chalicelib.domain.errors import AlreadyRegistered, CaseIdTaken, CaseNotFound, StaleVersion
from chalicelib.domain.escalation import Alarm, Decision, DueItems, Escalation, EscalationState, OutgoingMessage
from chalicelib.domain.models import Case, HistoryEvent, Status, Unit
from chalicelib.domain.staff import StaffMember
from chalicelib.domain.statistics import StatsDelta
from chalicelib.services.ports import (
    AlsoWritten,
    CaseRecord,
    Claimed,
    CustomerMessageQueued,
    CustomerTrackingLink,
    DueContact,
    IntakeKey,
    SurveyReminderDue,
)


class InMemoryEscalationStore:
    def __init__(self) -> None:
        self.alarms: dict[tuple[str, str], Alarm] = {}
        self.escalations: dict[str, Escalation] = {}
        self.leases: dict[str, datetime] = {}
        self.retry_at: dict[str, datetime] = {}

    def put_alarm(self, alarm: Alarm) -> None:
        self.alarms[alarm.case_id, alarm.clock] = alarm

    def due(self, now: datetime, limit: int) -> DueItems:
        alarms = [a for a in self.alarms.values() if a.next_at is not None and a.next_at <= now]
        retries = [e for k, e in self.escalations.items()
                   if e.state is EscalationState.PENDING and self.retry_at.get(k, now) <= now]
        expired = [e for k, e in self.escalations.items()
                   if e.state is EscalationState.SENDING and self.leases[k] <= now]
        items = alarms + retries + expired
        return DueItems(alarms[:limit], retries, expired, len(items))

    def decide(self, decisions: Sequence[Decision], lease_until: datetime) -> list[Escalation]:
        created: list[Escalation] = []
        for decision in decisions:
            current = self.alarms.get((decision.alarm.case_id, decision.alarm.clock))
            if current != decision.alarm or any(e.key in self.escalations for e in decision.escalations):
                continue
            self.alarms[decision.alarm.case_id, decision.alarm.clock] = decision.advanced
            for esc in decision.escalations:
                self.escalations[esc.key] = esc
                self.leases[esc.key] = lease_until
            created += decision.escalations
        return created

    def claim(self, retries: Sequence[Escalation], lease_until: datetime) -> list[Escalation]:
        claimed = []
        for esc in retries:
            if self.escalations[esc.key].state is EscalationState.PENDING:
                leased = esc.model_copy(update={"state": EscalationState.SENDING})
                self.escalations[esc.key] = leased
                self.leases[esc.key] = lease_until
                claimed.append(leased)
        return claimed

    def record(self, escalations: Sequence[Escalation], retry_at: datetime) -> None:
        for esc in escalations:
            self.escalations[esc.key] = esc
            self.retry_at[esc.key] = retry_at


class RecordingPublisher:
    """Accepts every message and keeps it, as SNS would deliver it to the target unit's managers."""

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    def publish(self, messages: Sequence[OutgoingMessage]) -> dict[str, str | Exception]:
        self.sent += messages
        return {m.key: f"msg-{len(self.sent)}-{i}" for i, m in enumerate(messages)}

    def drain(self) -> list[OutgoingMessage]:
        sent, self.sent = self.sent, []
        return sent


class UnitList:
    def __init__(self, units: Sequence[Unit]) -> None:
        self._units = list(units)

    def all(self) -> list[Unit]:
        return self._units


class InMemoryUnits:
    def __init__(self, units: Sequence[Unit]) -> None:
        self._units = {unit.unit_id: unit for unit in units}

    def all(self) -> list[Unit]:
        return list(self._units.values())

    def get(self, unit_id: str) -> Unit | None:
        return self._units.get(unit_id)

    def lineage(self, unit_id: str) -> list[str]:
        chain: list[str] = []
        unit = self._units.get(unit_id)
        while unit is not None and unit.unit_id not in chain:
            chain.append(unit.unit_id)
            unit = self._units.get(unit.parent_id) if unit.parent_id else None
        return chain

    def put(self, unit: Unit) -> None:
        self._units[unit.unit_id] = unit


class InMemoryStaffDirectory:
    def __init__(self, members: Sequence[StaffMember] = ()) -> None:
        self._members = {m.staff_id: m for m in members}

    def put(self, member: StaffMember) -> None:
        self._members[member.staff_id] = member

    def get(self, staff_id: str) -> StaffMember | None:
        return self._members.get(staff_id)

    def all(self) -> list[StaffMember]:
        return list(self._members.values())

    def refresh(self) -> None:
        """Always current."""


def sample_staffed_units() -> dict[str, Unit]:
    """The sample organisation with each unit's managers from the sample staff, as the service sees it."""
    import json
    import uuid
    from pathlib import Path

    from chalicelib.adapters.staff_directory import StaffedUnits
    from chalicelib.domain.calendar import country_of
    from chalicelib.domain.staff import StaffDetails, e164

    here = Path(__file__).resolve().parents[1] / "local"
    units = InMemoryUnits([Unit.model_validate(u) for u in json.loads((here / "sample_organisation.json").read_text())])
    members = []
    for row in json.loads((here / "sample_staff.json").read_text()):
        details = StaffDetails.model_validate(row)
        unit = units.get(details.unit_id)
        assert unit is not None
        members.append(StaffMember(staff_id=str(uuid.uuid5(uuid.NAMESPACE_URL, details.name)),
                                   **details.model_dump(exclude={"phone"}),
                                   phone=e164(details.phone, country_of(unit.calendar)) if details.phone else None))
    staffed = StaffedUnits(units, InMemoryStaffDirectory(members))  # type: ignore[arg-type]
    return {unit.unit_id: unit for unit in staffed.all()}


class InMemoryCaseRepository:
    """Cases with their history and escalations; `also_written`, `alarms` and `stats` keep what each
    committed change carried, for a test to check that it went with the case."""

    def __init__(self) -> None:
        self.cases: dict[str, Case] = {}
        self.history: dict[str, list[HistoryEvent]] = {}
        self.escalations: dict[str, list[Escalation]] = {}
        self.alarms: dict[tuple[str, str], Alarm] = {}
        self.also_written: list[AlsoWritten] = []
        self.stats: list[StatsDelta] = []
        self.tracking: dict[str, str] = {}
        self.intake_keys: dict[str, str] = {}

    def add(self, case: Case, event: HistoryEvent, alarms: Sequence[Alarm] = (),
            escalations: Sequence[Escalation] = (), tracking_hash: str | None = None,
            intake_key: IntakeKey | None = None, stats: Sequence[StatsDelta] = (),
            also: Sequence[AlsoWritten] = ()) -> None:
        if intake_key is not None and intake_key.key_hash in self.intake_keys:
            raise AlreadyRegistered(self.intake_keys[intake_key.key_hash])
        if case.case_id in self.cases:
            raise CaseIdTaken(f"case id {case.case_id} is already taken")
        self.cases[case.case_id] = case
        self.history[case.case_id] = [event]
        self.escalations[case.case_id] = list(escalations)
        self.alarms.update({(alarm.case_id, alarm.clock): alarm for alarm in alarms})
        if tracking_hash:
            self.tracking[tracking_hash] = case.case_id
        if intake_key is not None:
            self.intake_keys[intake_key.key_hash] = case.case_id
        self.stats += stats
        self.also_written += also

    def tracked_case(self, tracking_hash: str) -> str | None:
        return self.tracking.get(tracking_hash)

    def case_of_intake_key(self, key_hash: str) -> str | None:
        return self.intake_keys.get(key_hash)

    def get(self, case_id: str) -> CaseRecord:
        if case_id not in self.cases:
            raise CaseNotFound(f"no case {case_id}")
        return CaseRecord(self.cases[case_id], list(self.history[case_id]), list(self.escalations[case_id]))

    def save(self, case: Case, event: HistoryEvent, expected_version: int,
             alarms: Sequence[Alarm] = (), stopped_clocks: Sequence[str] = (),
             also: Sequence[AlsoWritten] = (), stats: Sequence[StatsDelta] = ()) -> None:
        stored = self.cases.get(case.case_id)
        if stored is None:
            raise CaseNotFound(f"no case {case.case_id}")
        if stored.version != expected_version:
            raise StaleVersion(f"case {case.case_id} was changed by someone else; reload it and try again")
        self.cases[case.case_id] = case
        self.history[case.case_id].append(event)
        self.alarms.update({(alarm.case_id, alarm.clock): alarm for alarm in alarms})
        for clock in stopped_clocks:
            self.alarms.pop((case.case_id, clock), None)
        self.also_written += also
        self.stats += stats

    def list_by_unit(self, unit_id: str, status: Status | None, limit: int,
                     cursor: str | None) -> tuple[list[Case], str | None]:
        found = sorted((c for c in self.cases.values() if c.unit_id == unit_id and status in (None, c.status)),
                       key=lambda c: (c.received_at, c.case_id), reverse=True)
        start = int(cursor or 0)
        page = found[start:start + limit]
        return page, (str(start + limit) if start + limit < len(found) else None)

    def cases_in(self, unit_id: str, statuses: Iterable[Status]) -> list[Case]:
        wanted = set(statuses)
        return [c for c in self.cases.values() if c.unit_id == unit_id and c.status in wanted]

    def received_between(self, unit_id: str, start: datetime, end: datetime,
                         statuses: frozenset[Status] | None = None) -> list[Case]:
        return sorted((c for c in self.cases.values() if c.unit_id == unit_id and start <= c.received_at < end
                       and (statuses is None or c.status in statuses)), key=lambda c: c.received_at)


class InMemoryCustomerOutbox:
    """What customers are sent, with the due index, the tracking link and the per-number allowance,
    as the customer-contact service's port describes it (chalicelib/services/ports.py)."""

    def __init__(self) -> None:
        self.stored: dict[tuple[str, str], CustomerMessage] = {}
        self.due_at: dict[tuple[str, str | None], str] = {}  # (case, message id or None: the reminder) → due
        self.attempted: set[tuple[str, str]] = set()
        self.tokens: dict[str, str] = {}
        self.allowance: dict[tuple[str, str], int] = {}

    def write(self, writes: Sequence[AlsoWritten]) -> None:
        for write in writes:
            if isinstance(write, CustomerMessageQueued):
                key = (write.message.case_id, write.message.message_id)
                self.stored[key] = write.message
                self.due_at[key] = write.message.created_at.isoformat()
            elif isinstance(write, CustomerTrackingLink):
                self.tokens[write.case_id] = write.tracking_token
            elif isinstance(write, SurveyReminderDue):
                self.due_at[(write.case_id, None)] = write.due.isoformat()

    def tracking_token(self, case_id: str) -> str | None:
        return self.tokens.get(case_id)

    def due(self, now: datetime, limit: int) -> list[DueContact]:
        found = sorted((at, case_id, message_id) for (case_id, message_id), at in self.due_at.items()
                       if at <= now.isoformat())
        return [DueContact(case_id, message_id, at) for at, case_id, message_id in found[:limit]]

    def claim(self, due: DueContact, lease_until: datetime) -> Claimed | None:
        key = (due.case_id, due.message_id)
        if self.due_at.get(key) != due.due_read:
            return None  # someone else has it, or it is gone
        self.due_at[key] = lease_until.isoformat()
        if due.message_id is None:
            return Claimed(None, False)
        return Claimed(self.stored[(due.case_id, due.message_id)], (due.case_id, due.message_id) in self.attempted)

    def claim_message(self, message: CustomerMessage, lease_until: datetime) -> Claimed | None:
        return self.claim(DueContact(message.case_id, message.message_id, message.created_at.isoformat()),
                          lease_until)

    def attempting(self, message: CustomerMessage) -> None:
        self.attempted.add((message.case_id, message.message_id))

    def retry_at(self, message: CustomerMessage, at: datetime) -> None:
        key = (message.case_id, message.message_id)
        self.stored[key] = message
        self.due_at[key] = at.isoformat()
        self.attempted.discard(key)

    def finished(self, message: CustomerMessage, now: datetime) -> None:
        key = (message.case_id, message.message_id)
        self.stored[key] = message
        self.due_at.pop(key, None)

    def reminder_done(self, case_id: str) -> None:
        self.due_at.pop((case_id, None), None)

    def update_state(self, provider_id: str, state: DeliveryState, error: str | None) -> CustomerMessage | None:
        for key, message in self.stored.items():
            if message.provider_id == provider_id:
                self.stored[key] = message.model_copy(update={"state": state, "error": error})
                return self.stored[key]
        return None

    def take_sms_allowance(self, number_key: str, now: datetime, per_day: int) -> bool:
        key = (number_key, now.date().isoformat())
        if self.allowance.get(key, 0) >= per_day:
            return False
        self.allowance[key] = self.allowance.get(key, 0) + 1
        return True

    def messages(self, case_id: str) -> list[CustomerMessage]:
        return [m for (cid, _), m in self.stored.items() if cid == case_id]


class RecordingSender:
    """An SMS or email provider that records what it was given; `fail` makes the next sends raise."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, ...]] = []
        self.fail: list[Exception] = []

    def send(self, to: str, *text: str) -> str:
        if self.fail:
            raise self.fail.pop(0)
        self.sent.append((to, *text))
        return f"provider-{len(self.sent)}"
