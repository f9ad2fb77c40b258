"""The case as a person reads it: one model, built by one function, serialised by whoever needs
it (the API answer and its OpenAPI schema, the archived JSON and HTML files, the report rows).
A second shape "for the document only" is how archived files once lost their deadlines."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.calendar import LocalTime
from chalicelib.domain.clocks import Clock, ClockState
from chalicelib.domain.customer_messages import CustomerMessageView
from chalicelib.domain.customers import EarlierCase
from chalicelib.domain.delivery import Delivery
from chalicelib.domain.escalation import Escalation, EscalationState
from chalicelib.domain.models import Case, CaseFacts, CaseType, Channel, HistoryEvent, RiskFlag, Status


class Deadline(BaseModel):
    """One clock as read at `now` (rulebook §8): when it ends, unit-local, and whether it was met."""

    model_config = ConfigDict(frozen=True)

    deadline: LocalTime
    state: ClockState
    stopped_at: LocalTime | None = None
    provisional: bool
    deadline_version: int

    @classmethod
    def of(cls, clock: Clock, now: datetime, time_zone: str) -> Deadline:
        tz = ZoneInfo(time_zone)
        return cls(deadline=clock.due_at.astimezone(tz), state=clock.state(now),
                   stopped_at=clock.stopped_at.astimezone(tz) if clock.stopped_at else None,
                   provisional=clock.provisional, deadline_version=clock.deadline_version)


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, and where the next one starts (none: this was the last)."""

    items: list[T]
    next_cursor: str | None


class CaseSummary(BaseModel):
    """A case as a register line: what it is, where, and its deadlines read now."""

    case_id: str
    type: CaseType
    channel: Channel
    unit_id: str
    status: Status
    received_at: datetime
    version: int
    handler: str | None = None
    risk: RiskFlag | None = None
    deadlines: dict[str, Deadline]

    @classmethod
    def of(cls, case: Case, now: datetime, time_zone: str) -> CaseSummary:
        return cls(case_id=case.case_id, type=case.type, channel=case.channel, unit_id=case.unit_id,
                   status=case.status, received_at=case.received_at, version=case.version, handler=case.handler,
                   risk=case.risk,
                   deadlines={name: Deadline.of(clock, now, time_zone) for name, clock in case.clocks.items()})


class EscalationSent(BaseModel):
    """An escalation as the case shows it: which clock, which rung, to which unit and people, and
    what became of each SMS and email."""

    model_config = ConfigDict(frozen=True)

    clock: str
    level: str
    deadline_version: int
    target_unit_id: str | None
    state: EscalationState
    created_at: datetime
    sent_at: datetime | None = None
    attempts: int = 0
    recipients: tuple[str, ...] = ()
    covers: tuple[str, ...] = ()
    taken_with: tuple[str, ...] = ()
    deliveries: list[Delivery] = []

    @classmethod
    def of(cls, escalation: Escalation, deliveries: Sequence[Delivery] = ()) -> EscalationSent:
        mine = sorted((d for d in deliveries if d.escalation_key == escalation.key), key=lambda d: (d.name, d.medium))
        return cls.model_validate({**escalation.model_dump(include=set(cls.model_fields) - {"deliveries"}),
                                   "deliveries": mine})


class CaseDocument(CaseFacts):
    """Every fact of the case, its clocks read as `deadlines`, with its history, the escalations
    sent about it and the actions it allows now (rulebook §2 register, §5, §6, §7)."""

    deadlines: dict[str, Deadline]
    history: list[HistoryEvent]
    escalations: list[EscalationSent]
    available_actions: list[str] = Field(default_factory=list)
    # The customer's earlier cases the reader may see (their territory); an archived file has none.
    earlier_cases: list[EarlierCase] = Field(default_factory=list)
    # What the customer was sent (receipt, answer, survey reminder) and what became of each message,
    # addresses masked (chalicelib/domain/customer_messages.py: CustomerMessage.view).
    customer_messages: list[CustomerMessageView] = Field(default_factory=list)


def case_document(case: Case, history: Sequence[HistoryEvent], escalations: Sequence[Escalation],
                  now: datetime, time_zone: str,
                  actions: Callable[[Case, bool], list[str]] | None = None,
                  deliveries: Sequence[Delivery] = (), earlier_cases: Sequence[EarlierCase] = (),
                  customer_messages: Sequence[CustomerMessageView] = ()) -> CaseDocument:
    """The one way a case becomes a document. `actions(case, escalated)` lists what may be done
    now (the service filters it by the user's role); without it the document offers none, as an
    archived file does."""
    fields = {name: getattr(case, name) for name in CaseFacts.model_fields}
    return CaseDocument(
        **fields,
        deadlines={name: Deadline.of(clock, now, time_zone) for name, clock in case.clocks.items()},
        history=list(history),
        escalations=[EscalationSent.of(e, deliveries)
                     for e in sorted(escalations, key=lambda e: (e.created_at, e.clock, e.level))],
        available_actions=actions(case, bool(escalations)) if actions else [],
        earlier_cases=list(earlier_cases),
        customer_messages=list(customer_messages),
    )
