"""The case as a person reads it: one model, built by one function, serialised by whoever needs
it (the API answer and its OpenAPI schema, the archived JSON and HTML files, the report rows).
A second shape "for the document only" is how archived files once lost their deadlines."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, PlainSerializer, WithJsonSchema

from chalicelib.domain.clocks import Clock, ClockState
from chalicelib.domain.delivery import Delivery, DeliveryState, Medium
from chalicelib.domain.escalation import Escalation, EscalationState
from chalicelib.domain.models import (
    Acknowledgement,
    ArchivedFile,
    Case,
    CaseType,
    Cause,
    Channel,
    Customer,
    Feedback,
    Finding,
    FiveW,
    HistoryEvent,
    Importance,
    Rectification,
    Resolution,
    RootCause,
    SpecialExtension,
    SpecialRequest,
    Status,
)

# A moment in the unit's own time with its offset (rulebook §8: limits end at 23:59:59 unit-local
# time), written `+00:00` rather than `Z` so London and Shanghai read alike.
LocalTime = Annotated[datetime, PlainSerializer(lambda moment: moment.isoformat(), return_type=str,
                                                when_used="json"),
                      WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization")]


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


class DeliveryShown(BaseModel):
    """What became of one escalation's SMS or email to one person (chalicelib/domain/delivery.py)."""

    model_config = ConfigDict(frozen=True)

    staff_id: str
    name: str
    medium: Medium
    state: DeliveryState
    at: datetime
    language: str
    segments: int | None = None
    fallback_from: Medium | None = None
    error: str | None = None
    digest_of: int = 1


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
    deliveries: list[DeliveryShown] = []

    @classmethod
    def of(cls, escalation: Escalation, deliveries: Sequence[Delivery] = ()) -> EscalationSent:
        mine = sorted((d for d in deliveries if d.escalation_key == escalation.key), key=lambda d: (d.name, d.medium))
        return cls.model_validate({**escalation.model_dump(include=set(cls.model_fields) - {"deliveries"}),
                                   "deliveries": [d.model_dump(include=set(DeliveryShown.model_fields))
                                                  for d in mine]})


class CaseDocument(BaseModel):
    """Every field of the case but its raw clocks, which are read as `deadlines`, with its history,
    the escalations sent about it and the actions it allows now (rulebook §2 register, §5, §6, §7)."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    version: int
    type: CaseType
    channel: Channel
    unit_id: str
    status: Status
    customer: Customer
    five_w: FiveW
    cause: Cause | None = None
    expectation: str | None = None
    received_at: datetime
    receiver: str | None = None
    receiver_id: str | None = None
    handler: str | None = None
    handler_id: str | None = None
    finding: Finding | None = None
    resolution: Resolution | None = None
    feedback: Feedback | None = None
    closed_reason: str | None = None
    closed_at: datetime | None = None
    important: Importance | None = None
    root_cause: RootCause | None = None
    rectification: Rectification | None = None
    archive: ArchivedFile | None = None
    special: SpecialExtension | None = None
    special_request: SpecialRequest | None = None
    reply_promised_by: date | None = None
    acknowledgements: tuple[Acknowledgement, ...] = ()
    forwarded_from: tuple[str, ...] = ()
    created_at: datetime
    updated_at: datetime
    deadlines: dict[str, Deadline]
    history: list[HistoryEvent]
    escalations: list[EscalationSent]
    available_actions: list[str] = []


def case_document(case: Case, history: Sequence[HistoryEvent], escalations: Sequence[Escalation],
                  now: datetime, time_zone: str,
                  actions: Callable[[Case, bool], list[str]] | None = None,
                  deliveries: Sequence[Delivery] = ()) -> CaseDocument:
    """The one way a case becomes a document. `actions(case, escalated)` lists what may be done
    now (the service filters it by the user's role); without it the document offers none, as an
    archived file does."""
    fields = {name: getattr(case, name) for name in CaseDocument.model_fields if name in Case.model_fields}
    return CaseDocument(
        **fields,
        deadlines={name: Deadline.of(clock, now, time_zone) for name, clock in case.clocks.items()},
        history=list(history),
        escalations=[EscalationSent.of(e, deliveries)
                     for e in sorted(escalations, key=lambda e: (e.created_at, e.clock, e.level))],
        available_actions=actions(case, bool(escalations)) if actions else [],
    )
