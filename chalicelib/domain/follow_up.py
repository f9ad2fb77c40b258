"""Follow-up care (rulebook §5: follow up later; a handler may offer a relevant extra service once
the complaint is resolved): when a complaint becomes resolved its follow-up clock starts, and when
it is reopened the clock stops (the matter is open again; resolving it again starts a new one).
Pure: no AWS."""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.clocks import FOLLOW_UP_CLOCK, Clock, follow_up_due
from chalicelib.domain.models import Case, CaseType, Status

DONE = frozenset({Status.RESOLVED, Status.CLOSED})


def with_follow_up(before: Case, after: Case, now: datetime, time_zone: str, days: int) -> Case:
    """`after` (the case as an action left it) with its follow-up clock started, when a complaint
    was just resolved, or stopped, when it was just reopened. Any other change leaves it as it is."""
    if after.type is not CaseType.COMPLAINT:
        return after
    current = after.clocks.get(FOLLOW_UP_CLOCK)
    if after.status is Status.RESOLVED and before.status not in DONE:
        clock = Clock(name=FOLLOW_UP_CLOCK, started_at=now, due_at=follow_up_due(now, days, time_zone),
                      deadline_version=current.deadline_version + 1 if current else 1)
        return after.model_copy(update={"clocks": {**after.clocks, FOLLOW_UP_CLOCK: clock},
                                        "follow_up": None})
    if after.status not in DONE and current is not None and current.running:
        return after.model_copy(update={"clocks": {**after.clocks, FOLLOW_UP_CLOCK: current.stop(now, False)}})
    return after


def reopened_follow_up(after: Case, name: str) -> bool:
    """The follow-up clock stopped because the complaint was reopened: neither met nor late."""
    return name == FOLLOW_UP_CLOCK and after.status not in DONE
