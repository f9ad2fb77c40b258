"""The escalation run: find what is due, take each rung once, publish in batches, record every
outcome. A failed publish is retried by the next run; nothing is sent twice; a rung that reaches
nobody is recorded and alarmed, never dropped."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.escalation import (
    Alarm,
    Decision,
    Escalation,
    EscalationState,
    Ladder,
    depth_of,
    escalations_for,
    render,
    unit_above,
)
from chalicelib.domain.models import Unit
from chalicelib.observability import count, logger
from chalicelib.services.ports import EscalationStore, Publisher, UnitDirectory


@dataclass
class RunReport:
    items_read: int = 0
    rungs_due: int = 0
    sent: int = 0
    failed: int = 0
    already_taken: int = 0
    unconfirmed: int = 0
    unreachable: int = 0
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
            claimed = self._store.claim(due.retries[start:start + self._chunk], self._lease_until())
            self._publish(claimed, units, now, report)
        for start in range(0, len(due.alarms), self._chunk):
            if time.monotonic() - started > self._budget:
                logger.warning("escalation run stopped at its time budget; the rest is due next run")
                break
            decisions = [self._decide(alarm, units, now) for alarm in due.alarms[start:start + self._chunk]]
            wanted = [esc for d in decisions for esc in d.escalations]
            report.rungs_due += len(wanted)
            created = self._store.decide(decisions, self._lease_until())
            report.already_taken += len(wanted) - len(created)
            self._alarm_unreachable([esc for esc in created if esc.state is EscalationState.UNREACHABLE], report)
            self._publish([esc for esc in created if esc.state is not EscalationState.UNREACHABLE],
                          units, now, report)
        report.seconds = round(time.monotonic() - started, 3)
        did_work = report.items_read > 0
        (logger.info if did_work else logger.debug)("escalation run", extra=report.as_dict())
        return report

    def _lease_until(self) -> datetime:
        """Each chunk's lease counts from when the chunk is written, not from the run's start: a
        long run never leaves a chunk it is still publishing looking abandoned to another run."""
        return self._now() + self._lease

    def send_now(self, notices: Sequence[Escalation]) -> None:
        """Rulebook §2: media and regulator notices go out at intake; if SNS fails they stay
        pending and the next run sends them."""
        now = self._now()
        self._alarm_unreachable([n for n in notices if n.state is EscalationState.UNREACHABLE], RunReport())
        claimed = self._store.claim([n for n in notices if n.state is EscalationState.PENDING], now + self._lease)
        self._publish(claimed, {unit.unit_id: unit for unit in self._units.all()}, now, RunReport())

    def _decide(self, alarm: Alarm, units: dict[str, Unit], now: datetime) -> Decision:
        """The rungs due on the unit's real chain of units above it (any depth); daily reminders
        at the reminder hour of the top unit, whose managers receive them."""
        depth = depth_of(alarm.unit_id, units)
        top = units.get(unit_above(alarm.unit_id, depth, units) or alarm.unit_id)
        plan = alarm.plan(self._ladder, depth, top.time_zone if top else "UTC", now)
        return Decision(alarm, plan.advanced, escalations_for(alarm, plan.take, units, now))

    def _alarm_unreachable(self, escalations: Sequence[Escalation], report: RunReport) -> None:
        """Nobody from the case's unit to the top of the organisation has a manager to tell: an
        operator must fix the organisation (metric EscalationUnreachable, alarmed in infra)."""
        for esc in escalations:
            logger.error("escalation reaches nobody: no unit from the case's to the top has a manager",
                         extra={"case_id": esc.case_id, "clock": esc.clock, "rung": esc.level,
                                "unit_id": esc.case_unit_id})
        if escalations:
            count("EscalationUnreachable", len(escalations))
            report.unreachable += len(escalations)

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
