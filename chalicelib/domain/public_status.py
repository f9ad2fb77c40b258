"""What a customer reads about their case (rulebook §5 事事有回复): the status page behind their
tracking token and the web form's receipt. No staff notes, no names of staff, no internal clocks:
the answer they were given, the dates they were promised, and the survey while it is open."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from chalicelib.domain.calendar import LocalTime
from chalicelib.domain.clocks import INTERNAL_CLOCKS, ClockState, reply_by
from chalicelib.domain.models import Case, CaseType, FeedbackSource, HistoryEvent, Status


def rated_by_customer(history: Sequence[HistoryEvent]) -> bool:
    """The customer gave their one rating of this case (a reopened case is not asked again): a
    feedback the lifecycle marked as the customer's own, whatever a member of staff is called."""
    customer = FeedbackSource.CUSTOMER.value
    return any(event.action == "record-feedback"
               and ((event.changes.get("feedback") or {}).get("after") or {}).get("source") == customer
               for event in history)


class PublicDeadline(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    deadline: LocalTime
    state: ClockState


class PublicSurvey(BaseModel):
    """The satisfaction survey on the status page: open while the answered case awaits a rating."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    open: bool
    rating: int | None = None
    by_customer: bool = False


class PublicStatus(BaseModel):
    """What a complainant sees with their tracking token."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    case_number: str
    type: CaseType
    status: Status
    unit: str
    received_at: LocalTime
    reply_by: LocalTime | None
    deadlines: dict[str, PublicDeadline]
    updated_at: LocalTime
    answer: str | None = None
    survey: PublicSurvey | None = None

    @classmethod
    def of(cls, case: Case, unit_name: str, time_zone: str, now: datetime, rated: bool) -> PublicStatus:
        """`rated`: the customer gave their one rating (the survey then stays closed)."""
        tz = ZoneInfo(time_zone)
        # a follow-up call or a rectification is the organisation's own duty, not an answer they wait for
        clocks = {name: clock for name, clock in case.clocks.items() if name not in INTERNAL_CLOCKS}
        promised = reply_by(clocks)
        answered = case.resolution is not None and case.status in (Status.RESOLVED, Status.CLOSED)
        feedback = case.feedback
        return cls(case_number=case.case_id, type=case.type, status=case.status, unit=unit_name,
                   received_at=case.received_at.astimezone(tz),
                   reply_by=promised.astimezone(tz) if promised else None,
                   deadlines={name: PublicDeadline(deadline=clock.due_at.astimezone(tz), state=clock.state(now))
                              for name, clock in clocks.items()},
                   updated_at=case.updated_at,
                   answer=case.resolution.customer_message if answered and case.resolution else None,
                   survey=PublicSurvey(open=case.status is Status.RESOLVED and not rated,
                                       rating=feedback.satisfaction if feedback else None,
                                       by_customer=bool(feedback and feedback.source is FeedbackSource.CUSTOMER)))


class Receipt(PublicStatus):
    """The web form's receipt: the status, plus the token shown only this once."""

    tracking_token: str
    status_url: str
    next_steps: dict[str, str]
