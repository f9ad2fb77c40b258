"""In-memory fakes of the escalation service's ports (chalicelib/services/escalation.py), so its
rules run in milliseconds without moto. They keep the same promises the DynamoDB store keeps:
an escalation is created once per key, and an alarm is advanced only if it is still the one read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from chalicelib.domain.escalation import Alarm, Decision, DueItems, Escalation, EscalationState, OutgoingMessage
from chalicelib.domain.models import Unit


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
