"""In-memory fakes of the escalation service's ports (chalicelib/services/escalation.py), so its
rules run in milliseconds without moto. They keep the same promises the DynamoDB store keeps:
an escalation is created once per key, and an alarm is advanced only if it is still the one read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from chalicelib.domain.escalation import Alarm, Decision, DueItems, Escalation, EscalationState, OutgoingMessage
from chalicelib.domain.models import Unit
from chalicelib.domain.staff import StaffMember


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
