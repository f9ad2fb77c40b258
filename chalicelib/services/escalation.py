"""The escalation run (issue 3): find what is due, take each rung once, publish in batches,
record every outcome. A failed publish is retried by the next run; nothing is sent twice."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from chalicelib.domain.escalation import (
    Alarm,
    Decision,
    DueItems,
    Escalation,
    EscalationState,
    Ladder,
    OutgoingMessage,
    render,
    unit_above,
)
from chalicelib.domain.models import Unit
from chalicelib.observability import count, logger


class EscalationStore(Protocol):
    def due(self, now: datetime, limit: int) -> DueItems: ...
    def decide(self, decisions: Sequence[Decision], lease_until: datetime) -> list[Escalation]: ...
    def claim(self, retries: Sequence[Escalation], lease_until: datetime) -> list[Escalation]: ...
    def record(self, escalations: Sequence[Escalation], retry_at: datetime) -> None: ...


class Publisher(Protocol):
    def publish(self, messages: Sequence[OutgoingMessage]) -> dict[str, str | Exception]: ...


class UnitDirectory(Protocol):
    def all(self) -> list[Unit]: ...


@dataclass
class RunReport:
    items_read: int = 0
    rungs_due: int = 0
    sent: int = 0
    failed: int = 0
    already_taken: int = 0
    unconfirmed: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class EscalationService:
    def __init__(self, store: EscalationStore, publisher: Publisher, units: UnitDirectory,
                 ladder: Ladder, now: Callable[[], datetime], lease: timedelta = timedelta(minutes=5),
                 retry_delay: timedelta = timedelta(0), max_items_per_run: int = 50_000,
                 chunk_size: int = 500, time_budget_seconds: float = 600.0) -> None:
        self._store = store
        self._publisher = publisher
        self._units = units
        self._ladder = ladder
        self._now = now
        self._lease = lease
        self._retry_delay = retry_delay
        self._max_items = max_items_per_run
        self._chunk = chunk_size
        self._budget = time_budget_seconds

    def run(self) -> RunReport:
        """One scheduled run. A chunk's escalations are written (leased) and published back to
        back, so a run that dies leaves at most one chunk to be reported as unconfirmed."""
        started, now = time.monotonic(), self._now()
        report = RunReport()
        due = self._store.due(now, self._max_items)
        report.items_read = due.items_read
        units = {unit.unit_id: unit for unit in self._units.all()}
        self._give_up_on(due.expired, now, report)
        for start in range(0, len(due.retries), self._chunk):
            claimed = self._store.claim(due.retries[start:start + self._chunk], now + self._lease)
            self._publish(claimed, units, now, report)
        for start in range(0, len(due.alarms), self._chunk):
            if time.monotonic() - started > self._budget:
                logger.warning("escalation run stopped at its time budget; the rest is due next run")
                break
            decisions = [self._decide(alarm, units, now) for alarm in due.alarms[start:start + self._chunk]]
            wanted = [d.escalation for d in decisions if d.escalation is not None]
            report.rungs_due += len(wanted)
            created = self._store.decide(decisions, now + self._lease)
            report.already_taken += len(wanted) - len(created)
            self._publish(created, units, now, report)
        report.seconds = round(time.monotonic() - started, 3)
        did_work = report.items_read > 0
        (logger.info if did_work else logger.debug)("escalation run", extra=report.as_dict())
        return report

    def send_now(self, notices: Sequence[Escalation]) -> None:
        """Rulebook §2: media and regulator notices go out at intake; if SNS fails they stay
        pending and the next run sends them."""
        now = self._now()
        claimed = self._store.claim(notices, now + self._lease)
        self._publish(claimed, {unit.unit_id: unit for unit in self._units.all()}, now, RunReport())

    def _decide(self, alarm: Alarm, units: dict[str, Unit], now: datetime) -> Decision:
        step = alarm.due_step(self._ladder, now)
        if step is None:  # nothing due after all (the ladder was reconfigured): just reschedule
            rest = alarm.steps_left(self._ladder)
            return Decision(alarm, alarm.model_copy(update={"next_at": rest[0].at if rest else None}), None)
        advanced = alarm.after(step.level, self._ladder)
        target = unit_above(alarm.unit_id, step.hops_up, units)
        if target is None:  # above the top of the organisation: the ladder ends here
            return Decision(alarm, advanced.finished(), None)
        return Decision(alarm, advanced, Escalation(
            case_id=alarm.case_id, clock=alarm.clock, level=step.level,
            deadline_version=alarm.deadline_version, case_type=alarm.case_type,
            case_unit_id=alarm.unit_id, target_unit_id=target, due_at=alarm.due_at, created_at=now))

    def _publish(self, escalations: Sequence[Escalation], units: dict[str, Unit], now: datetime,
                 report: RunReport) -> None:
        if not escalations:
            return
        outcome = self._publisher.publish([render(esc, units.get(esc.case_unit_id), now) for esc in escalations])
        recorded = []
        tally: Counter[tuple[str, str]] = Counter()
        for esc in escalations:
            result = outcome.get(esc.key, RuntimeError("no answer from SNS for this message"))
            attempts = esc.attempts + 1
            if isinstance(result, str):
                recorded.append(esc.model_copy(update={"state": EscalationState.SENT, "message_id": result,
                                                       "sent_at": now, "attempts": attempts}))
                report.sent += 1
                logger.info("escalation sent", extra={"case_id": esc.case_id, "clock": esc.clock,
                                                      "rung": esc.level, "target_unit": esc.target_unit_id})
                tally["EscalationsSent", esc.level] += 1
            else:
                recorded.append(esc.model_copy(update={"state": EscalationState.PENDING, "attempts": attempts,
                                                       "last_error": str(result)[:500]}))
                report.failed += 1
                logger.warning("escalation publish failed; retried next run",
                               extra={"case_id": esc.case_id, "rung": esc.level, "error": str(result)[:200]})
                tally["EscalationPublishFailed", esc.level] += 1
        self._store.record(recorded, retry_at=now + self._retry_delay)
        for (metric, level), value in tally.items():
            if metric == "EscalationPublishFailed":
                count(metric, value)  # no level dimension: one alarm (infra/resources.yaml) watches all
            else:
                count(metric, value, level=level)

    def _give_up_on(self, expired: Sequence[Escalation], now: datetime, report: RunReport) -> None:
        """A run died between claiming these and recording the outcome: SNS may or may not have
        them. Sending again could spam a manager, so they are not resent; they are marked
        unconfirmed, logged as errors and counted for an alarm, for a person to check."""
        if not expired:
            return
        marked = [esc.model_copy(update={"state": EscalationState.UNCONFIRMED,
                                         "last_error": "the run that claimed it stopped before recording"})
                  for esc in expired]
        for esc in marked:
            logger.error("escalation unconfirmed: the publishing run stopped before recording it",
                         extra={"case_id": esc.case_id, "clock": esc.clock, "rung": esc.level})
            count("EscalationsUnconfirmed")
        self._store.record(marked, retry_at=now)
        report.unconfirmed += len(marked)
