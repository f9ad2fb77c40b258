"""Classified statistics (rulebook §4/§6), kept current at write time.

Every change of a case adds to counters of (unit, unit-local day): what was received (by type,
cause, channel), findings, clocks met or breached, handling time in working days (a histogram, so
median and 90th percentile can be read back), satisfaction, root causes, spot checks. A report for
any date range adds up days × units counter items and never reads a case. Pure: no AWS.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from chalicelib.domain.calendar import UnitClock
from chalicelib.domain.follow_up import reopened_follow_up
from chalicelib.domain.models import Case

# Handling times longer than this many working days are counted in this last bucket.
MAX_HANDLING_DAYS = 60


@dataclass(frozen=True)
class StatsDelta:
    """Counters to add to one unit's day."""

    unit_id: str
    day: date
    counters: Mapping[str, int]


def local_day(moment: datetime, time_zone: str) -> date:
    return moment.astimezone(ZoneInfo(time_zone)).date()


def working_days_between(start: date, end: date, unit_clock: UnitClock) -> int:
    """Working days after `start` up to and including `end` (rulebook §8: the day of receipt is not
    counted), so a case handled on the day it came in took 0."""
    days, current = 0, start
    while current < end and days < MAX_HANDLING_DAYS:
        current += timedelta(days=1)
        days += unit_clock.calendar.is_working_day(current)
    return days


def stat_deltas(before: Case | None, after: Case, now: datetime, unit_clock: UnitClock) -> list[StatsDelta]:
    """What one write of a case adds to the statistics of its unit, on the unit-local day of the
    write (a receipt on the day the case was received)."""
    tz = unit_clock.time_zone
    counts: Counter[str] = Counter()
    if before is None:
        t = after.type.value
        counts.update({"received": 1, f"type:{t}": 1, f"channel:{after.channel.value}": 1})
        if after.cause is not None:
            counts.update({f"cause:{after.cause.category.value}": 1, f"type_cause:{t}:{after.cause.category.value}": 1})
        counts.update(praise_counters(after))
        if after.risk is not None:
            counts["risk_flagged"] += 1
        return [StatsDelta(after.unit_id, local_day(after.received_at, tz), dict(counts))]
    if after.finding is not None and (before.finding is None or before.finding.kind != after.finding.kind):
        counts[f"finding:{after.finding.kind.value}"] += 1
        if before.finding is not None:  # a later finding of another kind moves the case between kinds
            counts[f"finding:{before.finding.kind.value}"] -= 1
    for name, clock in after.clocks.items():
        old = before.clocks.get(name)
        if old is not None and old.running and not clock.running and not reopened_follow_up(after, name):
            met = bool(clock.goal_met) and clock.stopped_at is not None and clock.stopped_at <= clock.due_at
            counts[f"clock_{'met' if met else 'breached'}:{name}"] += 1
    if after.resolution is not None and before.resolution is None:
        days = working_days_between(local_day(after.received_at, tz), local_day(after.resolution.resolved_at, tz),
                                    unit_clock)
        counts.update({"resolved": 1, f"handling_days:{days}": 1,
                       f"type_handling_days:{after.type.value}:{days}": 1})
    if after.feedback is not None and before.feedback is None:
        score = after.feedback.satisfaction
        counts.update({"feedback": 1, "satisfied": int(after.feedback.satisfied), "satisfaction_sum": score,
                       f"satisfaction:{score}": 1})
    if after.root_cause is not None and after.root_cause != before.root_cause:
        counts[f"root_cause:{after.root_cause.category.value}:{after.root_cause.code}"] += 1
    if after.rectification is not None and before.rectification != after.rectification:
        counts["rectification_done" if after.rectification.completed_at else "rectification_ordered"] += 1
    if before.risk is not None and before.risk.raised and after.risk is not None and not after.risk.raised:
        counts["risk_cleared"] += 1
    if after.unit_id != before.unit_id:
        counts["forwarded_out"] += 1
    if after.suggestion_outcome is not None and before.suggestion_outcome is None:
        counts[f"suggestion:{after.suggestion_outcome.outcome.value}"] += 1
    if after.follow_up is not None and after.follow_up != before.follow_up:
        counts.update(follow_up_counters(after))
        counts.subtract(follow_up_counters(before))
    counts = Counter({k: v for k, v in counts.items() if v})
    deltas = [StatsDelta(before.unit_id if "forwarded_out" in counts else after.unit_id, local_day(now, tz),
                         dict(counts))] if counts else []
    praise = Counter(praise_counters(after))
    praise.subtract(praise_counters(before))
    praise = Counter({k: v for k, v in praise.items() if v})
    if praise:  # a praise counts on the day the customer gave it, whenever the names are recorded
        deltas.append(StatsDelta(after.unit_id, local_day(after.received_at, tz), dict(praise)))
    return deltas


def praise_counters(case: Case) -> dict[str, int]:
    """Rulebook §1 表扬: one for each member of staff praised, or one unnamed praise."""
    if case.praise is None:
        return {}
    if not case.praise.staff:
        return {"praise_unnamed": 1}
    return {f"praise_staff:{person.staff_id}": 1 for person in case.praise.staff}


def follow_up_counters(case: Case) -> dict[str, int]:
    """Rulebook §5: a follow-up contact made (on time or late), the customer reached and satisfied,
    an extra service offered and accepted. A call that did not reach the customer is no contact."""
    done = case.follow_up
    if done is None or not done.reached:
        return {}
    return {"follow_up_done": 1, "follow_up_on_time": int(done.on_time), "follow_up_reached": int(done.reached),
            "follow_up_satisfied": int(bool(done.satisfied)), "follow_up_offers": int(done.offer is not None),
            "follow_up_offers_accepted": int(bool(done.offer_accepted))}


class Figures(BaseModel):
    """A part of a report: read-only, serialised as the API and the CSV show it."""

    model_config = ConfigDict(frozen=True, defer_build=True)


class OnTime(Figures):
    met: int
    breached: int
    on_time_rate: float


class TypeHandling(Figures):
    resolved: int
    median: int | None
    p90: int | None


class HandlingTime(Figures):
    """Working days from receipt to resolution: median, 90th percentile (nearest rank) and the
    histogram they are read from, overall and per case type."""

    median: int | None
    p90: int | None
    histogram: dict[str, int]
    by_type: dict[str, TypeHandling]


class Satisfaction(Figures):
    responses: int
    satisfied: int
    satisfied_rate: float | None
    average: float | None
    by_score: dict[str, int]


class CauseCount(Figures):
    cause: str
    count: int


class PraiseFigures(Figures):
    received: int
    by_staff: dict[str, int]
    unnamed: int


class SuggestionFigures(Figures):
    received: int
    by_outcome: dict[str, int]


class FollowUpFigures(Figures):
    done: int
    on_time: int
    late: int
    reached: int
    satisfied: int
    offers_made: int
    offers_accepted: int


class RiskLanguage(Figures):
    flagged: int
    cleared: int


class SpotCheckFigures(Figures):
    checked: int
    mismatched: int
    rectifications_ordered: int
    rectifications_done: int


class Summary(Figures):
    """The classified statistics of a set of units and days (rulebook §4/§6)."""

    received: int
    by_type: dict[str, int]
    by_type_and_cause: dict[str, int]
    by_channel: dict[str, int]
    by_cause: dict[str, int]
    by_finding: dict[str, int]
    clocks: dict[str, OnTime]
    resolved: int
    handling_working_days: HandlingTime
    satisfaction: Satisfaction
    top_causes: list[CauseCount]
    root_causes: dict[str, int]
    forwarded_out: int
    praise: PraiseFigures
    suggestions: SuggestionFigures
    follow_up: FollowUpFigures
    risk_language: RiskLanguage
    spot_checks: SpotCheckFigures


class UnitFigures(Figures):
    """One unit's own figures beside the totals of its subtree."""

    received: int
    resolved: int
    clocks: dict[str, OnTime]
    praise: int
    praise_by_staff: dict[str, int]
    risk_flagged: int
    handling_working_days_by_type: dict[str, TypeHandling]


@dataclass
class Totals:
    """Counters summed over days and units, and what a report derives from them."""

    counters: Counter[str] = field(default_factory=Counter)

    def add(self, counters: Mapping[str, Any]) -> None:
        self.counters.update({k: int(v) for k, v in counters.items()})

    def group(self, prefix: str) -> dict[str, int]:
        """`prefix:key` counters as {key: count}, largest first."""
        found = {k[len(prefix) + 1:]: v for k, v in self.counters.items() if k.startswith(prefix + ":") and v}
        return dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))

    def on_time(self) -> dict[str, OnTime]:
        clocks = set(self.group("clock_met")) | set(self.group("clock_breached"))
        rates = {}
        for name in sorted(clocks):
            met, breached = self.counters[f"clock_met:{name}"], self.counters[f"clock_breached:{name}"]
            rates[name] = OnTime(met=met, breached=breached, on_time_rate=round(met / (met + breached), 4))
        return rates

    def handling_days_percentile(self, share: float, prefix: str = "handling_days") -> int | None:
        histogram = sorted((int(days), n) for days, n in self.group(prefix).items())
        total = sum(n for _, n in histogram)
        if not total:
            return None
        rank, seen = max(1, math.ceil(round(share * total, 9))), 0  # nearest rank
        for days, n in histogram:
            seen += n
            if seen >= rank:
                return days
        return histogram[-1][0]

    def handling_by_type(self) -> dict[str, TypeHandling]:
        """Handling time in working days per case type (complaints, inquiries, suggestions, praise)."""
        types = sorted({key.split(":", 1)[0] for key in self.group("type_handling_days")})
        return {t: TypeHandling(resolved=sum(self.group(f"type_handling_days:{t}").values()),
                                median=self.handling_days_percentile(0.5, f"type_handling_days:{t}"),
                                p90=self.handling_days_percentile(0.9, f"type_handling_days:{t}")) for t in types}

    def summary(self) -> Summary:
        c = self.counters
        feedback = c["feedback"]
        return Summary(
            received=c["received"],
            by_type=self.group("type"),
            by_type_and_cause=self.group("type_cause"),
            by_channel=self.group("channel"),
            by_cause=self.group("cause"),
            by_finding=self.group("finding"),
            clocks=self.on_time(),
            resolved=c["resolved"],
            handling_working_days=HandlingTime(
                median=self.handling_days_percentile(0.5), p90=self.handling_days_percentile(0.9),
                histogram=dict(sorted(self.group("handling_days").items(), key=lambda kv: int(kv[0]))),
                by_type=self.handling_by_type()),
            satisfaction=Satisfaction(
                responses=feedback, satisfied=c["satisfied"],
                satisfied_rate=round(c["satisfied"] / feedback, 4) if feedback else None,
                average=round(c["satisfaction_sum"] / feedback, 2) if feedback else None,
                by_score=self.group("satisfaction")),
            top_causes=[CauseCount(cause=k, count=v) for k, v in list(self.group("cause").items())[:5]],
            root_causes=self.group("root_cause"),
            forwarded_out=c["forwarded_out"],
            praise=PraiseFigures(received=c["type:praise"], by_staff=self.group("praise_staff"),
                                 unnamed=c["praise_unnamed"]),
            suggestions=SuggestionFigures(received=c["type:suggestion"], by_outcome=self.group("suggestion")),
            follow_up=FollowUpFigures(done=c["follow_up_done"], on_time=c["follow_up_on_time"],
                                      late=c["follow_up_done"] - c["follow_up_on_time"],
                                      reached=c["follow_up_reached"], satisfied=c["follow_up_satisfied"],
                                      offers_made=c["follow_up_offers"],
                                      offers_accepted=c["follow_up_offers_accepted"]),
            risk_language=RiskLanguage(flagged=c["risk_flagged"], cleared=c["risk_cleared"]),
            spot_checks=SpotCheckFigures(checked=c["spot_checked"], mismatched=c["spot_mismatched"],
                                         rectifications_ordered=c["rectification_ordered"],
                                         rectifications_done=c["rectification_done"]),
        )

    def unit_figures(self) -> UnitFigures:
        return UnitFigures(received=self.counters["received"], resolved=self.counters["resolved"],
                           clocks=self.on_time(), praise=self.counters["type:praise"],
                           praise_by_staff=self.group("praise_staff"), risk_flagged=self.counters["risk_flagged"],
                           handling_working_days_by_type=self.handling_by_type())


def days_in(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]

