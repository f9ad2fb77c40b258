"""What managers read (rulebook §4/§6): the daily register, the weekly report, spot-check
sampling, and their texts and CSV. Pure: the services gather the data, these shape it."""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.calendar import DateRange, LocalTime
from chalicelib.domain.case_document import CaseDocument, case_document
from chalicelib.domain.clocks import ClockState
from chalicelib.domain.customers import EarlierCase
from chalicelib.domain.escalation import SMS_MAX_CHARS, SUBJECT_MAX_CHARS, OutgoingMessage, cut_at_word
from chalicelib.domain.models import Case, Unit
from chalicelib.domain.statistics import Summary, UnitFigures

# A report goes out at this unit-local hour: the daily register every day, the weekly report on
# Mondays (for the week that ended on Sunday).
REPORT_HOUR = 8


class RegisterRow(BaseModel):
    """One open case as the register lists it (rulebook §4): what, who, and its nearest running
    deadline, read from the case document; also the register's CSV columns."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    case_id: str
    type: str
    channel: str
    status: str
    received_at: LocalTime
    handler: str | None
    next_clock: str | None
    next_deadline: LocalTime | None
    breached: list[str]
    what: str
    # The register's call-back contact (rulebook §2: customer name and phone), for the roles that
    # call customers back (CONTACT_ROLES); empty for the others (auditors).
    customer: str | None
    phone: str | None
    unit_id: str
    risk: str | None  # the escalation-risk phrases found, while the flag stands
    earlier_cases: int  # the customer's earlier cases in the register's units
    customer_value: str | None

    @classmethod
    def of(cls, case: CaseDocument, time_zone: str, contact: bool = True) -> RegisterRow:
        running = sorted((item for item in case.deadlines.items() if item[1].stopped_at is None),
                         key=lambda item: item[1].deadline)
        nearest = running[0] if running else None
        return cls(case_id=case.case_id, type=case.type.value, channel=case.channel.value,
                   status=case.status.value, received_at=case.received_at.astimezone(ZoneInfo(time_zone)),
                   handler=case.handler, what=case.five_w.what[:120],
                   customer=case.customer.name if contact else None, phone=case.customer.phone if contact else None,
                   next_clock=nearest[0] if nearest else None, next_deadline=nearest[1].deadline if nearest else None,
                   breached=sorted(name for name, d in case.deadlines.items() if d.state is ClockState.BREACHED),
                   unit_id=case.unit_id,
                   risk="; ".join(case.risk.phrases) if case.risk is not None and case.risk.raised else None,
                   earlier_cases=len(case.earlier_cases), customer_value=case.customer.value)


class ComplaintRow(BaseModel):
    """One complaint in the weekly report (rulebook §4): what it was about and how it was handled,
    read from the case document; also the weekly report's CSV columns."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    case_id: str
    unit_id: str
    status: str
    cause: str | None
    what: str
    finding: str | None
    result: str | None
    satisfaction: int | None
    root_cause: str | None

    @classmethod
    def of(cls, case: CaseDocument) -> ComplaintRow:
        return cls(case_id=case.case_id, unit_id=case.unit_id, status=case.status.value,
                   cause=case.cause.category.value if case.cause else None, what=case.five_w.what[:200],
                   finding=case.finding.kind.value if case.finding else None,
                   result=case.resolution.result[:200] if case.resolution else None,
                   satisfaction=case.feedback.satisfaction if case.feedback else None,
                   root_cause=case.root_cause.code if case.root_cause else None)


class PraiseRow(BaseModel):
    """One praise as the unit's meeting hears it (rulebook §1 表扬): whom the customer praised and
    what they said, read from the case document."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    case_id: str
    unit_id: str
    received_at: LocalTime
    staff: list[str]
    staff_ids: list[str]
    description: str | None
    what: str

    @classmethod
    def of(cls, case: CaseDocument, time_zone: str) -> PraiseRow:
        praise = case.praise
        return cls(case_id=case.case_id, unit_id=case.unit_id,
                   received_at=case.received_at.astimezone(ZoneInfo(time_zone)),
                   staff=[p.name for p in praise.staff] if praise else [],
                   staff_ids=[p.staff_id for p in praise.staff] if praise else [],
                   description=praise.description if praise else None, what=case.five_w.what)


class PraiseCount(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    staff_id: str
    name: str
    count: int


def praise_entry(case: Case, now: datetime, time_zone: str) -> PraiseRow:
    """One praise in the weekly report."""
    return PraiseRow.of(case_document(case, (), (), now, time_zone), time_zone)


def praise_by_staff(entries: Sequence[PraiseRow]) -> list[PraiseCount]:
    """How many praises each member of staff received in the report's praises, most first."""
    counts: dict[str, tuple[str, int]] = {}
    for entry in entries:
        for staff_id, name in zip(entry.staff_ids, entry.staff, strict=True):
            counts[staff_id] = (name, counts.get(staff_id, (name, 0))[1] + 1)
    rows = [PraiseCount(staff_id=staff_id, name=name, count=n) for staff_id, (name, n) in counts.items()]
    return sorted(rows, key=lambda row: (-row.count, row.name))


REGISTER_COLUMNS = tuple(RegisterRow.model_fields)
COMPLAINT_COLUMNS = tuple(ComplaintRow.model_fields)


def register_entry(case: Case, now: datetime, time_zone: str, earlier: Sequence[EarlierCase] = (),
                   contact: bool = True) -> RegisterRow:
    """One case as the register lists it (its history is not needed for the row)."""
    document = case_document(case, (), (), now, time_zone, earlier_cases=earlier)
    return RegisterRow.of(document, time_zone, contact)


def on_the_register(case: Case) -> bool:
    """A case a unit still works on: open, or closed with a clock still running on it (a
    rectification a spot check ordered, a follow-up contact due)."""
    return case.status.value != "closed" or any(clock.running for clock in case.clocks.values())


class RegisterUnit(BaseModel):
    """A unit's part of a county's or branch's register."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    unit_id: str
    unit: str
    case_ids: list[str]
    open: int


class DailyRegister(BaseModel):
    """Rulebook §4: what a unit works on today, nearest deadline first."""

    model_config = ConfigDict(frozen=True, defer_build=True, validate_by_name=True, serialize_by_alias=True)

    unit_id: str
    unit: str
    day: date = Field(alias="date")
    open: int
    due_today: list[str]
    due_tomorrow: list[str]
    breached: list[str]
    risk_flagged: list[str]
    units: list[RegisterUnit]
    # rulebook §5: answered, waiting for the customer's opinion (their survey, or a call to ask)
    awaiting_feedback: list[str]
    cases: list[RegisterRow]


def daily_register(unit: Unit, day: date, cases: Iterable[Case], now: datetime, units: Sequence[Unit] = (),
                   earlier: Callable[[Case], Sequence[EarlierCase]] | None = None,
                   contact: bool = True) -> DailyRegister:
    """Rulebook §4: the register for `day` of a unit and, for a county or branch, every unit below
    it (`units`, in order), grouped by unit and each unit's nearest deadline first: the cases
    still worked on, what falls due today and tomorrow, every breach, and each case's call-back
    contact (when `contact`), risk flag and the customer's earlier cases (`earlier`)."""
    units = list(units) or [unit]
    zones = {u.unit_id: u.time_zone for u in units}
    order = {u.unit_id: n for n, u in enumerate(units)}
    entries = sorted((register_entry(c, now, zones.get(c.unit_id, unit.time_zone),
                                     earlier(c) if earlier else (), contact) for c in cases),
                     key=lambda e: (order.get(e.unit_id, len(order)), e.next_deadline is None,
                                    e.next_deadline.isoformat() if e.next_deadline else ""))
    tomorrow = day + timedelta(days=1)
    due_on: dict[date, list[str]] = {day: [], tomorrow: []}
    for entry in entries:
        if entry.next_deadline and entry.next_deadline.date() in due_on:
            due_on[entry.next_deadline.date()].append(entry.case_id)
    groups = [RegisterUnit(unit_id=u.unit_id, unit=u.name, case_ids=ids, open=len(ids))
              for u in units for ids in [[e.case_id for e in entries if e.unit_id == u.unit_id]]
              if ids or u.unit_id == unit.unit_id]
    return DailyRegister(unit_id=unit.unit_id, unit=unit.name, day=day, open=len(entries),
                         due_today=due_on[day], due_tomorrow=due_on[tomorrow],
                         breached=[e.case_id for e in entries if e.breached],
                         risk_flagged=[e.case_id for e in entries if e.risk], units=groups,
                         awaiting_feedback=[e.case_id for e in entries if e.status == "resolved"], cases=entries)


def week_start(day: date) -> date:
    """The Monday of the week `day` is in."""
    return day - timedelta(days=day.weekday())


class Change(BaseModel):
    """A figure this week, the week before, and the difference (None where a week has no figure)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    this_week: int | float | None
    previous_week: int | float | None
    change: int | float | None


class RepeatedCause(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    root_cause: str
    count: int


class RepeatComplainants(BaseModel):
    """Customers of the week who had brought an earlier case to these units, and their week's cases."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    customers: int
    cases: int


def trend(this: Summary, previous: Summary) -> dict[str, Change]:
    """This week against the previous one: counts and on-time rates, with their change."""
    changes = {"received": Change(this_week=this.received, previous_week=previous.received,
                                  change=this.received - previous.received),
               "resolved": Change(this_week=this.resolved, previous_week=previous.resolved,
                                  change=this.resolved - previous.resolved)}
    complaints = (this.by_type.get("complaint", 0), previous.by_type.get("complaint", 0))
    changes["complaints"] = Change(this_week=complaints[0], previous_week=complaints[1],
                                   change=complaints[0] - complaints[1])
    for clock in sorted(set(this.clocks) | set(previous.clocks)):
        now_rate = this.clocks[clock].on_time_rate if clock in this.clocks else None
        before = previous.clocks[clock].on_time_rate if clock in previous.clocks else None
        changes[f"on_time_rate:{clock}"] = Change(
            this_week=now_rate, previous_week=before,
            change=round(now_rate - before, 4) if now_rate is not None and before is not None else None)
    return changes


def repeated_causes(summary: Summary) -> list[RepeatedCause]:
    """Root causes recorded more than once in the period (rulebook §6: so they do not recur)."""
    return [RepeatedCause(root_cause=code, count=n) for code, n in summary.root_causes.items() if n > 1]


def complaint_entry(case: Case, now: datetime, time_zone: str) -> ComplaintRow:
    """One complaint in the weekly report."""
    return ComplaintRow.of(case_document(case, (), (), now, time_zone))


class StatisticsReport(DateRange):
    """Classified statistics of a unit and every unit below it for a range of unit-local days;
    `items_read` is what the report cost (counter items, never a case)."""

    unit_id: str
    units: list[str]
    summary: Summary
    by_unit: dict[str, UnitFigures]
    items_read: int


class WeeklyReport(DateRange):
    """Rulebook §4: the week's main complaints and how they were handled, on-time rates, the trend
    against the week before, repeated root causes, repeat complainants, and the praise read out at
    the unit's meeting (rulebook §1)."""

    unit_id: str
    unit: str
    summary: Summary
    by_unit: dict[str, UnitFigures]
    trend: dict[str, Change]
    repeated_causes: list[RepeatedCause]
    repeat_complainants: RepeatComplainants
    complaints: list[ComplaintRow]
    praise: list[PraiseRow]
    praise_by_staff: list[PraiseCount]
    items_read: int


def sample(case_ids: Sequence[str], share: float, seed: str) -> list[str]:
    """Rulebook §6 抽查: a reproducible sample of `share` of the cases (at least one when there
    are any): the same cases, seed and share always give the same sample, and anyone can check it
    by ordering the ids by SHA-256 of `seed:id`."""
    if not case_ids or share <= 0:
        return []
    size = min(len(case_ids), max(1, math.ceil(round(share * len(case_ids), 9))))
    ranked = sorted(set(case_ids), key=lambda cid: hashlib.sha256(f"{seed}:{cid}".encode()).hexdigest())
    return sorted(ranked[:size])


class SampleOutcome(BaseModel):
    """One sampled case verified (rulebook §6 抽查验证): whether the record matched what happened, and
    for a mismatch, the rectification's deadline."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    case_id: str
    matches: bool
    note: str
    by: str
    at: LocalTime
    rectification_due: LocalTime | None = Field(default=None, exclude_if=lambda due: due is None)  # a mismatch's


class SpotCheckDraw(DateRange):
    """A spot check as drawn: the unit and period, the share, the seed the service chose and the
    sample it gives (anyone can re-derive it with `sample`)."""

    check_id: str
    unit_id: str
    share: float
    seed: str
    handled_cases: int
    sample: list[str]
    started_by: str
    started_at: LocalTime


class SpotCheck(SpotCheckDraw):
    """A spot check with the outcomes recorded so far and the sampled cases still to verify."""

    results: dict[str, SampleOutcome]
    pending: list[str]

    @classmethod
    def of(cls, draw: SpotCheckDraw, results: dict[str, SampleOutcome]) -> SpotCheck:
        return cls(**dict(draw), results=results, pending=[cid for cid in draw.sample if cid not in results])


# What makes a spreadsheet read a cell as a formula (OWASP CSV injection, ASVS 1.2.10): these as
# the first character, including the full-width forms a Chinese input method types.
FORMULA_STARTS = frozenset("=+-@\t\r\n\0＝＋－＠")
# Excel opens UTF-8 CSV as the local code page unless the file starts with a byte order mark.
UTF8_BOM = "\ufeff"


def spreadsheet_safe(value: Any) -> Any:
    """A cell as a spreadsheet may open it: text starting like a formula gets a leading `'`, so it
    stays text. Numbers the service computed are left as numbers (a negative count is not a formula)."""
    if isinstance(value, list | tuple):
        value = ";".join(str(v) for v in value)
    if isinstance(value, str) and value.lstrip(" ")[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def as_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    """The one CSV writer every export goes through: UTF-8 with a byte order mark, every cell quoted
    and neutralised, whatever the rows hold."""
    out = io.StringIO()
    out.write(UTF8_BOM)
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\r\n",
                            quoting=csv.QUOTE_ALL)
    writer.writerow({column: spreadsheet_safe(column) for column in columns})
    for row in rows:
        writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})
    return out.getvalue()


def flat_rows(value: Any, prefix: str = "") -> list[dict[str, Any]]:
    """A nested summary as `metric,value` rows (e.g. `clocks.handling.on_time_rate,0.75`)."""
    if isinstance(value, dict):
        return [row for key, inner in value.items() for row in flat_rows(inner, f"{prefix}{key}.")]
    if isinstance(value, list):
        return [row for i, inner in enumerate(value) for row in flat_rows(inner, f"{prefix}{i}.")]
    return [{"metric": prefix.rstrip("."), "value": value}]


STATISTICS_COLUMNS = ("unit_id", "scope", "metric", "value")


def statistics_rows(report: StatisticsReport) -> list[dict[str, Any]]:
    """The statistics as CSV rows: the totals of the unit and every unit below it (`scope` total),
    then each unit's own figures (`scope` unit), one metric a row."""
    rows = [{"unit_id": report.unit_id, "scope": "total", **row}
            for row in flat_rows(report.summary.model_dump(mode="json"))]
    for unit_id, figures in report.by_unit.items():
        rows += [{"unit_id": unit_id, "scope": "unit", **row} for row in flat_rows(figures.model_dump(mode="json"))]
    return rows


WEEKLY_COLUMNS = ("section", "metric", "value", *COMPLAINT_COLUMNS)


def weekly_rows(report: WeeklyReport) -> list[dict[str, Any]]:
    """The weekly report as CSV rows: every figure of the JSON answer (summary, per-unit figures,
    trend, repeated root causes, repeat complainants…) as section/metric/value, then one row per
    complaint under the complaint columns."""
    rows: list[dict[str, Any]] = []
    for section, value in report.model_dump(mode="json").items():
        if section == "complaints":
            continue
        if section == "repeated_causes":
            rows += [{"section": section, "metric": r["root_cause"], "value": r["count"]} for r in value]
        elif isinstance(value, (dict, list)):
            rows += [{"section": section, **row} for row in flat_rows(value)]
        else:
            rows.append({"section": "report", "metric": section, "value": value})
    return rows + [{"section": "complaint", **entry.model_dump(mode="json")} for entry in report.complaints]


def register_message(register: DailyRegister) -> OutgoingMessage:
    """The daily register as SMS and email for the unit's managers."""
    day = register.day.isoformat()
    head = (f"{register.open} open, {len(register.due_today)} due today, "
            f"{len(register.due_tomorrow)} due tomorrow, {len(register.breached)} breached")
    lines = [f"Daily register of {register.unit} ({register.unit_id}) for {day}", "", head, ""]
    if register.risk_flagged:
        lines[-1:] = [f"Escalation-risk language in {len(register.risk_flagged)} case(s): "
                      f"{', '.join(register.risk_flagged)}", ""]
    names = {group.unit_id: group.unit for group in register.units}
    shown_unit = None
    for entry in register.cases:
        if len(names) > 1 and entry.unit_id != shown_unit:
            shown_unit = entry.unit_id
            lines += ["", f"{names.get(shown_unit, shown_unit)} ({shown_unit}):"]
        late = f"  BREACHED: {', '.join(entry.breached)}" if entry.breached else ""
        risk = f"  RISK: {entry.risk}" if entry.risk else ""
        deadline = entry.next_deadline.isoformat() if entry.next_deadline else ""
        lines.append(f"- {entry.case_id} {entry.type} {entry.status}, next: {entry.next_clock or '-'} "
                     f"{deadline}{late}{risk}\n    {entry.what}")
        if entry.customer:
            repeat = f", {entry.earlier_cases} earlier case(s)" if entry.earlier_cases else ""
            value = f", {entry.customer_value}" if entry.customer_value else ""
            lines.append(f"    call back: {entry.customer} {entry.phone}{repeat}{value}")
    lines += ["", f"The register as CSV: GET /reports/daily-register?unit_id={register.unit_id}"
                  f"&date={day}&format=csv"]
    return _message("daily-register", register.unit_id, day,
                    f"{register.unit_id} register {day}: {head}",
                    f"Daily register {register.unit_id} {day}: {head}", lines)


def weekly_message(report: WeeklyReport) -> OutgoingMessage:
    """The weekly report as SMS and email for the operations manager (the branch's managers)."""
    s, complaints = report.summary, report.trend["complaints"]
    start, end = report.start.isoformat(), report.end.isoformat()
    head = (f"{s.received} cases ({complaints.this_week} complaints, "
            f"{complaints.change:+d} vs last week), {s.resolved} resolved")
    lines = [f"Weekly report of {report.unit} ({report.unit_id}), {start} to {end}", "", head, "", "On time:"]
    for clock, figures in s.clocks.items():
        trend = report.trend.get(f"on_time_rate:{clock}")
        change = trend.change if trend else None
        lines.append(f"  {clock}: {figures.on_time_rate:.0%} ({figures.met} met, {figures.breached} late)"
                     + (f", {change:+.0%} vs last week" if change is not None else ""))
    handling = s.handling_working_days
    lines.append(f"Handling time: median {handling.median if handling.median is not None else '-'} working days, "
                 f"90th percentile {handling.p90 if handling.median is not None else '-'}")
    if s.satisfaction.responses:
        lines.append(f"Satisfaction: {s.satisfaction.average} / 5 from {s.satisfaction.responses} "
                     f"customers, {s.satisfaction.satisfied_rate:.0%} satisfied")
    lines += ["", "Top causes: " + (", ".join(f"{c.cause} {c.count}" for c in s.top_causes) or "-")]
    if s.risk_language.flagged or s.risk_language.cleared:
        lines.append(f"Escalation-risk language: {s.risk_language.flagged} case(s) flagged, "
                     f"{s.risk_language.cleared} cleared as false")
    lines.append(f"Repeat complainants: {report.repeat_complainants.customers} customers "
                 f"({report.repeat_complainants.cases} cases this week)")
    lines.append("Repeated root causes: "
                 + (", ".join(f"{r.root_cause} x{r.count}" for r in report.repeated_causes) or "none"))
    follow = s.follow_up
    lines.append(f"Follow-up calls: {follow.done} made, {follow.on_time} on time, {follow.reached} "
                 f"reached, {follow.offers_made} offers, {follow.offers_accepted} accepted")
    lines += ["", "Praise for the unit meeting:"]
    for praise in report.praise:
        whom = ", ".join(praise.staff) or praise.description or "-"
        lines.append(f"- {praise.case_id} {praise.unit_id} {whom}: {praise.what[:200]}")
    if not report.praise:
        lines.append("  none this week")
    lines += ["", "Main complaints:"]
    for complaint in report.complaints[:30]:
        lines.append(f"- {complaint.case_id} {complaint.unit_id} [{complaint.cause or '-'}] {complaint.status}: "
                     f"{complaint.what}" + (f"\n    handled: {complaint.result}" if complaint.result else ""))
    return _message("weekly-report", report.unit_id, start, f"{report.unit_id} week of {start}: {head}",
                    f"Weekly report {report.unit_id} {start}–{end}: {head}", lines)


def _message(report: str, unit_id: str, day: str, sms: str, subject: str, lines: list[str]) -> OutgoingMessage:
    """A report for the unit's managers (the notifier emails it to each; `with_recipients` names them)."""
    body = "\n".join(lines)
    return OutgoingMessage(key=f"{report}#{unit_id}#{day}", sms=f"[Complaint Desk] {sms}"[:SMS_MAX_CHARS],
                           subject=cut_at_word(subject, SUBJECT_MAX_CHARS), body=body,
                           attributes={"unit": unit_id, "level": "report", "clock": report, "type": "report",
                                       "case_unit": unit_id},
                           payload={"kind": "report", "key": f"{report}#{unit_id}#{day}",
                                    "subject": cut_at_word(subject, SUBJECT_MAX_CHARS), "body": body})
