"""Managers' view (rulebook §4/§6): classified statistics, the daily register, the
weekly report (each also sent by SNS from a scheduled function), and spot checks with their
rectification orders."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain import lifecycle
from chalicelib.domain import reports as rpt
from chalicelib.domain.auth import CASE_WORKERS, Principal, in_territory
from chalicelib.domain.calendar import UnitClock
from chalicelib.domain.clocks import RECTIFICATION_CLOCK
from chalicelib.domain.errors import CaseNotFound, IllegalTransition, InvalidInput, StaleVersion
from chalicelib.domain.escalation import Ladder, OutgoingMessage, alarm_changes, managers, unit_above
from chalicelib.domain.models import Case, CaseType, SpotCheckVerdict, Status, Unit, UnitKind
from chalicelib.domain.staff import StaffMember
from chalicelib.domain.statistics import StatsDelta, Totals, days_in, local_day, stat_deltas
from chalicelib.observability import count, logger
from chalicelib.services.customers import CustomerHistory
from chalicelib.services.ports import (
    CaseRepository,
    SentReports,
    SpotCheckOutcome,
    SpotChecks,
    StatisticsReader,
    UnitRegistry,
)

MAX_REPORT_DAYS = 400
HANDLED = frozenset({Status.RESOLVED, Status.CLOSED})
OPEN = tuple(s for s in Status if s is not Status.CLOSED)
# Who sees the register's call-back contact: the people who call customers back (not auditors).
CONTACT_ROLES = CASE_WORKERS


class ReportService:
    def __init__(self, cases: CaseRepository, units: UnitRegistry, stats: StatisticsReader,
                 spot_checks: SpotChecks, publish: Callable[[Sequence[OutgoingMessage]], dict[str, Any]],
                 sent_reports: SentReports, unit_clock: Callable[[str], UnitClock | None],
                 now: Callable[[], datetime], ladder: Ladder, rectify_working_days: int = 5,
                 customers: CustomerHistory | None = None,
                 people: Callable[[str], StaffMember | None] = lambda staff_id: None) -> None:
        """`sent_reports` remembers which scheduled report went out, so a retried or doubled run
        does not send it twice; `customers` links a customer's cases (none: no repeat counts);
        `people` names the staff the figures count by id (praise)."""
        self._people = people
        self._cases = cases
        self._units = units
        self._stats = stats
        self._spot_checks = spot_checks
        self._publish = publish
        self._sent_reports = sent_reports
        self._unit_clock = unit_clock
        self._now = now
        self._ladder = ladder
        self._rectify_working_days = rectify_working_days
        self._customers = customers

    # --- statistics -------------------------------------------------------------------
    def statistics(self, unit_id: str, start: date, end: date, by: Principal | None = None) -> rpt.StatisticsReport:
        """Counters of the unit and every unit below it, for each day of the range: days × units
        items, never a case. Each unit's own figures are listed too."""
        unit = self._scope(unit_id, start, end, by)
        units = self._subtree(unit.unit_id)
        read_before = self._stats.items_read
        rows = self._stats.days([u.unit_id for u in units], days_in(start, end))
        overall, per_unit = Totals(), {u.unit_id: Totals() for u in units}
        for (row_unit, _day), counters in rows.items():
            overall.add(counters)
            per_unit[row_unit].add(counters)
        summary = overall.summary()
        named = {staff_id: person.name for staff_id in summary.praise.by_staff
                 if (person := self._people(staff_id)) is not None}
        return rpt.StatisticsReport(unit_id=unit.unit_id, start=start, end=end, units=[u.unit_id for u in units],
                                    summary=summary, by_unit={uid: t.unit_figures() for uid, t in per_unit.items()},
                                    staff_names=named, items_read=self._stats.items_read - read_before)

    def _scope(self, unit_id: str, start: date, end: date, by: Principal | None) -> Unit:
        problems: dict[str, str] = {}
        unit = self._unit(unit_id, by, problems)
        if not 0 <= (end - start).days < MAX_REPORT_DAYS:
            problems["to"] = f"on or after `from`, at most {MAX_REPORT_DAYS} days later"
        if problems or unit is None:
            raise InvalidInput("the report cannot be made as asked", problems)
        return unit

    def _unit(self, unit_id: str, by: Principal | None, problems: dict[str, str]) -> Unit | None:
        """The unit, if it is in the user's territory; otherwise, as far as they know, none."""
        unit = self._units.get(unit_id)
        if unit is None or not (by is None or in_territory(by, unit.unit_id, self._units.lineage)):
            problems["unit_id"] = f"no unit {unit_id[:40]!r} in the organisation"
            return None
        return unit

    def _unit_in_territory(self, unit_id: str, by: Principal | None) -> Unit:
        problems: dict[str, str] = {}
        unit = self._unit(unit_id, by, problems)
        if unit is None:
            raise InvalidInput("the report cannot be made as asked", problems)
        return unit

    def _subtree(self, unit_id: str) -> list[Unit]:
        return [u for u in self._units.all() if unit_id in self._units.lineage(u.unit_id)]

    # --- daily register and weekly report -------------------------------------------
    def daily_register(self, unit_id: str, day: date | None, by: Principal | None = None) -> rpt.DailyRegister:
        """The register of the unit and every unit below it on `day` (default: today, unit-local),
        grouped by unit: open cases, and closed ones a clock still runs on (a rectification, a
        follow-up), as they stand now; a past day's lists only the cases received by its end.
        Reads each unit's open cases and its closed ones still in the table (closed cases stay
        until archived)."""
        unit = self._unit_in_territory(unit_id, by)
        now = self._now()
        day = day or local_day(now, unit.time_zone)
        # a past day's register holds no case received after it (cases as they stand now)
        day_over = datetime.combine(day + timedelta(days=1), time(), tzinfo=ZoneInfo(unit.time_zone))
        units = self._subtree(unit.unit_id)
        cases = [case for u in units for case in self._cases.cases_in(u.unit_id, OPEN)]
        cases += [case for u in units for case in self._cases.cases_in(u.unit_id, (Status.CLOSED,))
                  if rpt.on_the_register(case)]
        cases = [case for case in cases if case.received_at < day_over]
        scope = {u.unit_id for u in units}
        earlier = None
        if self._customers is not None:
            customers = self._customers

            def earlier(case: Case) -> list[Any]:
                return customers.earlier(case, lambda other: other in scope)
        return rpt.daily_register(unit, day, cases, now, units, earlier,
                                  contact=by is None or bool(by.roles & CONTACT_ROLES))

    def weekly_report(self, unit_id: str, week_of: date | None, by: Principal | None = None) -> rpt.WeeklyReport:
        """Rulebook §4: the main complaints of the week and how they were handled, on-time rates,
        and the trend against the week before; `week_of` is any day of the week (default: last week)."""
        unit = self._unit_in_territory(unit_id, by)
        monday = rpt.week_start(week_of or local_day(self._now(), unit.time_zone) - timedelta(days=7))
        sunday = monday + timedelta(days=6)
        this = self.statistics(unit.unit_id, monday, sunday)
        previous = self.statistics(unit.unit_id, monday - timedelta(days=7), monday - timedelta(days=1))
        now = self._now()
        # each unit's own week (its local Monday to Sunday), as its counters count it: a London
        # store's Sunday evening is in the week its figures are
        received = [c for u in this.units for c in self._cases.received_between(u, *self._local_week(u, monday))]
        complaints = [rpt.complaint_entry(c, now, unit.time_zone) for c in received if c.type is CaseType.COMPLAINT]
        praise = sorted((rpt.praise_entry(c, now, unit.time_zone) for c in received if c.type is CaseType.PRAISE),
                        key=lambda entry: (entry.unit_id, entry.received_at))
        return rpt.WeeklyReport(unit_id=unit.unit_id, unit=unit.name, start=monday, end=sunday, summary=this.summary,
                                by_unit=this.by_unit, trend=rpt.trend(this.summary, previous.summary),
                                repeated_causes=rpt.repeated_causes(this.summary),
                                repeat_complainants=self._repeat_complainants(received, set(this.units)),
                                complaints=complaints, praise=praise, praise_by_staff=rpt.praise_by_staff(praise),
                                items_read=this.items_read + previous.items_read)

    def _local_week(self, unit_id: str, monday: date) -> tuple[datetime, datetime]:
        found = self._units.get(unit_id)
        tz = ZoneInfo(found.time_zone if found else "UTC")
        start = datetime.combine(monday, time(), tzinfo=tz)
        return start.astimezone(UTC), datetime.combine(monday + timedelta(days=7), time(), tzinfo=tz).astimezone(UTC)

    def _repeat_complainants(self, received: Sequence[Case], scope: set[str]) -> rpt.RepeatComplainants:
        """Customers of the week's cases who had brought an earlier case to these units (one
        customer-index Query per customer, newest case of theirs in the week)."""
        if self._customers is None:
            return rpt.RepeatComplainants(customers=0, cases=0)
        latest: dict[str, Case] = {}
        week_cases: dict[str, int] = {}
        for case in sorted(received, key=lambda c: c.received_at):
            key = self._customers.key(case)
            latest[key] = case
            week_cases[key] = week_cases.get(key, 0) + 1
        customers = cases = 0
        for key, case in latest.items():
            if self._customers.earlier(case, lambda unit_id: unit_id in scope):
                customers += 1
                cases += week_cases[key]
        return rpt.RepeatComplainants(customers=customers, cases=cases)

    def send_due(self) -> dict[str, int]:
        """The scheduled run (hourly): from 08:00 unit-local, each store's and department's register
        of the day to its managers, and on Mondays each branch's weekly report to its managers; each
        once (claimed before it is built), and one whose publish failed goes with a later run that
        day rather than never."""
        now = self._now()
        sent = failed = 0
        for unit in self._units.all():
            local = now.astimezone(ZoneInfo(unit.time_zone))
            if local.hour < rpt.REPORT_HOUR:
                continue
            due: list[tuple[str, Callable[[], OutgoingMessage]]] = []
            if unit.kind in (UnitKind.STORE, UnitKind.DEPARTMENT):
                due.append((f"daily-register#{unit.unit_id}#{local.date().isoformat()}",
                            partial(self._register_message, unit.unit_id, local.date())))
            if unit.kind is UnitKind.BRANCH and local.weekday() == 0:
                monday = rpt.week_start(local.date() - timedelta(days=7))
                due.append((f"weekly-report#{unit.unit_id}#{monday.isoformat()}",
                            partial(self._weekly_message, unit.unit_id)))
            due = [(key, build) for key, build in due if not self._sent_reports.was_sent(key)]
            if not due:
                continue
            # as escalations do, a unit nobody manages hands its register to the nearest unit above
            # that has a manager (a department under the branch: the branch's managers)
            reader = self._units.get(unit_above(unit.unit_id, 0, self._units) or "")
            if reader is None:
                logger.warning("report reaches nobody: no unit from this one to the top has a manager",
                               extra={"unit_id": unit.unit_id})
                continue
            if reader.unit_id != unit.unit_id:
                logger.info("report goes to the unit above", extra={"unit_id": unit.unit_id, "to": reader.unit_id})
            recipients = [m.staff_id for m in managers(reader) if m.staff_id]
            for key, build in due:
                if not self._sent_reports.claim(key):
                    continue  # another run has it
                try:
                    message = build()
                    message.payload["recipients"] = recipients
                    outcome = self._publish([message])[message.key]
                except Exception as exc:  # given back below, so a later run sends it
                    outcome = exc
                if isinstance(outcome, Exception):
                    failed += 1
                    self._sent_reports.release(key)
                    logger.error("report not sent; a later run today tries again",
                                 extra={"report": key, "error": str(outcome)[:300]})
                    count("ReportPublishFailed")
                else:
                    sent += 1
                    count("ReportsSent", report=key.split("#", 1)[0])
        return {"sent": sent, "failed": failed}

    def _register_message(self, unit_id: str, day: date) -> OutgoingMessage:
        return rpt.register_message(self.daily_register(unit_id, day))

    def _weekly_message(self, unit_id: str) -> OutgoingMessage:
        return rpt.weekly_message(self.weekly_report(unit_id, None))

    # --- spot checks ----------------------------------------------------------------
    def start_spot_check(self, unit_id: str, start: date, end: date, share: float,
                         actor: str, by: Principal | None = None) -> rpt.SpotCheck:
        """Rulebook §6 抽查验证: a sample of the unit's handled (resolved or closed) cases received in
        the period. The service draws the seed and records it (anyone can re-derive the sample, nobody
        can choose it), and a unit and period has one open check at a time: the sample cannot be
        drawn again, to leave a case out, until every sampled case has its outcome."""
        unit = self._scope(unit_id, start, end, by)
        holder = self._spot_checks.holder(unit.unit_id, start, end)
        if holder is not None and self.spot_check(holder).pending:
            raise IllegalTransition(f"spot check {holder} of this unit and period is still open; "
                                    "record its outcomes first", {"unit_id": f"open spot check {holder}"})
        tz = ZoneInfo(unit.time_zone)
        begin = datetime.combine(start, time(), tzinfo=tz).astimezone(UTC)
        until = datetime.combine(end + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
        handled = [c.case_id for c in self._cases.received_between(unit.unit_id, begin, until, HANDLED)]
        seed = secrets.token_hex(16)
        check = rpt.SpotCheckDraw(check_id=f"SC-{secrets.token_hex(5).upper()}", unit_id=unit.unit_id, start=start,
                                  end=end, share=share, seed=seed, handled_cases=len(handled),
                                  sample=rpt.sample(handled, share, seed), started_by=actor, started_at=self._now())
        if not self._spot_checks.create(check, replaces=holder):
            raise IllegalTransition("another spot check of this unit and period was started meanwhile",
                                    {"unit_id": "open spot check"})
        logger.info("spot check started", extra={"check_id": check.check_id, "sampled": len(check.sample)})
        return rpt.SpotCheck.of(check, {})

    def spot_check(self, check_id: str, by: Principal | None = None) -> rpt.SpotCheck:
        found = self._spot_checks.get(check_id) if check_id.startswith("SC-") and len(check_id) < 40 else None
        if found is None or not (by is None or in_territory(by, found[0].unit_id, self._units.lineage)):
            raise CaseNotFound(f"no spot check {check_id[:40]!r}")
        return rpt.SpotCheck.of(*found)

    def record_result(self, check_id: str, case_id: str, matches: bool, note: str, actor: str,
                      rectify_within: int | None, by: Principal | None = None) -> rpt.SpotCheck:
        """One sampled case verified. A mismatch orders the unit to rectify by a deadline: a clock
        on the case, warned about and escalated like any other."""
        check = self.spot_check(check_id, by)
        if case_id not in check.sample:
            raise InvalidInput("the case is not in this spot check's sample", {"case_id": "not sampled"})
        if case_id in check.results:
            raise IllegalTransition(f"the outcome for {case_id} is already recorded")
        now = self._now()
        record = self._cases.get(case_id)
        case = record.case
        clock = self._unit_clock(case.unit_id)
        assert clock is not None
        checked = StatsDelta(case.unit_id, local_day(now, clock.time_zone),
                             {"spot_checked": 1, "spot_mismatched": int(not matches)})
        verdict = SpotCheckVerdict(spot_check_id=check_id, matches=matches, note=note, by=actor, at=now)
        result = rpt.SampleOutcome(case_id=case_id, matches=matches, note=note, by=actor, at=now)
        if matches:
            updated, event = lifecycle.record_spot_check(case, verdict, now)
            try:
                self._cases.save(updated, event, case.version, also=[SpotCheckOutcome(check_id, result)],
                                 stats=[checked])
            except StaleVersion as exc:
                raise IllegalTransition("the case or this outcome changed meanwhile; reload the spot check") from exc
        else:
            self._order_rectification(case, verdict, now, clock, rectify_within or self._rectify_working_days,
                                      result, checked)
        count("SpotChecksRecorded", outcome="match" if matches else "mismatch")
        return self.spot_check(check_id, by)

    def _order_rectification(self, case: Case, verdict: SpotCheckVerdict, now: datetime, clock: UnitClock,
                             working_days: int, result: rpt.SampleOutcome, checked: StatsDelta) -> None:
        updated, event = lifecycle.order_rectification(case, verdict, working_days, now, clock)
        due = updated.clocks[RECTIFICATION_CLOCK].due_at.astimezone(ZoneInfo(clock.time_zone))
        alarms, stopped = alarm_changes(case, updated, self._ladder)
        try:
            self._cases.save(updated, event, case.version, alarms=alarms, stopped_clocks=stopped,
                             also=[SpotCheckOutcome(verdict.spot_check_id, result.model_copy(
                                 update={"rectification_due": due}))],
                             stats=[*stat_deltas(case, updated, now, clock), checked])
        except StaleVersion as exc:
            raise IllegalTransition("the case or this outcome changed meanwhile; reload the spot check") from exc
        logger.info("rectification ordered", extra={"case_id": case.case_id, "due": due.isoformat()})
