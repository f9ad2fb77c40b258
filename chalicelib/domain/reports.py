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

from chalicelib.domain.calendar import DateRange, LocalTime, with_offset
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
                   # what is overdue now (a clock still running past its deadline), not a deadline
                   # missed once and since met late: that is history, not today's work
                   breached=sorted(name for name, d in case.deadlines.items()
                                   if d.state is ClockState.BREACHED and d.stopped_at is None),
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
    # "open" counts the cases not yet closed; a closed one is listed while a clock still runs on
    # it (a follow-up call, a rectification), but is not open
    still_open = {e.case_id for e in entries if e.status != "closed"}
    groups = [RegisterUnit(unit_id=u.unit_id, unit=u.name, case_ids=ids, open=len(still_open.intersection(ids)))
              for u in units for ids in [[e.case_id for e in entries if e.unit_id == u.unit_id]]
              if ids or u.unit_id == unit.unit_id]
    return DailyRegister(unit_id=unit.unit_id, unit=unit.name, day=day, open=len(still_open),
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
    # the staff the figures count by id (praise per member of staff), by their directory name
    staff_names: dict[str, str] = Field(default_factory=dict)
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
    rows += [{"unit_id": report.unit_id, "scope": "staff name", "metric": staff_id, "value": name}
             for staff_id, name in report.staff_names.items()]
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


def _named(value: str | None, language: str) -> str:
    """A case type, status, cause or clock in the reader's language (the archive's names in Chinese)."""
    from chalicelib.domain.archive_page import VALUE_LABELS

    if not value:
        return "-"
    return VALUE_LABELS.get(value, value) if language == "zh" else value.replace("_", " ")


def _when(moment: datetime | None) -> str:
    """A deadline as a manager reads it: unit-local date and time with its UTC offset, no seconds."""
    return with_offset(moment, "%m-%d %H:%M") if moment else "-"


def register_message(register: DailyRegister) -> OutgoingMessage:
    """The daily register emailed to the unit's managers, each in their own language."""
    return _message("daily-register", register.unit_id, register.day.isoformat(),
                    {language: _register_text(register, language) for language in ("zh", "en")})


def _register_text(register: DailyRegister, language: str) -> tuple[str, str, list[str]]:
    zh, day = language == "zh", register.day.isoformat()
    today, tomorrow, breached = len(register.due_today), len(register.due_tomorrow), len(register.breached)
    head = (f"未结 {register.open} 件,今日到期 {today} 件,明日到期 {tomorrow} 件,已超时 {breached} 件" if zh else
            f"{register.open} open, {today} due today, {tomorrow} due tomorrow, {breached} breached")
    lines = [f"{register.unit}({register.unit_id}){day} 每日登记" if zh
             else f"Daily register of {register.unit} ({register.unit_id}) for {day}", "", head, ""]
    if register.risk_flagged:
        flagged = ", ".join(register.risk_flagged)
        lines[-1:] = [f"含升级风险用语的案件 {len(register.risk_flagged)} 件:{flagged}" if zh
                      else f"Escalation-risk language in {len(register.risk_flagged)} case(s): {flagged}", ""]
    names = {group.unit_id: group.unit for group in register.units}
    shown_unit = None
    for entry in register.cases:
        if len(names) > 1 and entry.unit_id != shown_unit:
            shown_unit = entry.unit_id
            lines += ["", f"{names.get(shown_unit, shown_unit)} ({shown_unit}):"]
        late = ", ".join(_named(clock, language) for clock in entry.breached)
        late = (f"  已超时:{late}" if zh else f"  BREACHED: {late}") if late else ""
        risk = (f"  风险用语:{entry.risk}" if zh else f"  RISK: {entry.risk}") if entry.risk else ""
        upcoming = f"{_named(entry.next_clock, language)} {_when(entry.next_deadline)}"
        lines.append(f"- {entry.case_id} {_named(entry.type, language)} {_named(entry.status, language)}"
                     f"{',下一时限:' if zh else ', next: '}{upcoming}{late}{risk}\n    {entry.what}")
        if entry.customer:
            repeat = (f",以前 {entry.earlier_cases} 件" if zh else f", {entry.earlier_cases} earlier case(s)") \
                if entry.earlier_cases else ""
            value = f", {entry.customer_value}" if entry.customer_value else ""
            lines.append(f"    {'回电:' if zh else 'call back: '}{entry.customer} {entry.phone}{repeat}{value}")
    lines += ["", ("登记表(CSV):" if zh else "The register as CSV: ")
              + f"GET /reports/daily-register?unit_id={register.unit_id}&date={day}&format=csv"]
    subject = (f"{register.unit_id} {day} 每日登记:{head}" if zh
               else f"Daily register {register.unit_id} {day}: {head}")
    return f"{register.unit_id} {day}: {head}", subject, lines


def weekly_message(report: WeeklyReport) -> OutgoingMessage:
    """The weekly report emailed to the operations manager (the branch's managers), each in their
    own language."""
    return _message("weekly-report", report.unit_id, report.start.isoformat(),
                    {language: _weekly_text(report, language) for language in ("zh", "en")})


def _weekly_text(report: WeeklyReport, language: str) -> tuple[str, str, list[str]]:
    zh = language == "zh"
    s, complaints = report.summary, report.trend["complaints"]
    start, end = report.start.isoformat(), report.end.isoformat()
    head = (f"共 {s.received} 件(投诉 {complaints.this_week} 件,比上周 {complaints.change:+d}),已处理 {s.resolved} 件"
            if zh else f"{s.received} cases ({complaints.this_week} complaints, {complaints.change:+d} vs last week), "
                       f"{s.resolved} resolved")
    lines = [f"{report.unit}({report.unit_id})周报,{start} 至 {end}" if zh
             else f"Weekly report of {report.unit} ({report.unit_id}), {start} to {end}",
             "", head, "", ("按时率:" if zh else "On time:") + ("" if s.clocks else " -")]
    for clock, figures in s.clocks.items():
        trend = report.trend.get(f"on_time_rate:{clock}")
        change = trend.change if trend else None
        lines.append(f"  {_named(clock, language)}: {figures.on_time_rate:.0%} "
                     + (f"(按时 {figures.met},超时 {figures.breached})" if zh
                        else f"({figures.met} met, {figures.breached} late)")
                     + ((f",比上周 {change:+.0%}" if zh else f", {change:+.0%} vs last week")
                        if change is not None else ""))
    handling = s.handling_working_days
    median = handling.median if handling.median is not None else "-"
    p90 = handling.p90 if handling.median is not None else "-"
    lines.append(f"处理时长:中位数 {median} 个工作日,90% 分位 {p90}" if zh
                 else f"Handling time: median {median} working days, 90th percentile {p90}")
    if s.satisfaction.responses:
        sat = s.satisfaction
        lines.append(f"满意度:{sat.average} / 5,{sat.responses} 位客户,满意 {sat.satisfied_rate:.0%}" if zh else
                     f"Satisfaction: {sat.average} / 5 from {sat.responses} customers, "
                     f"{sat.satisfied_rate:.0%} satisfied")
    causes = ", ".join(f"{_named(c.cause, language)} {c.count}" for c in s.top_causes) or "-"
    lines += ["", f"主要原因:{causes}" if zh else f"Top causes: {causes}"]
    if s.risk_language.flagged or s.risk_language.cleared:
        risk = s.risk_language
        lines.append(f"升级风险用语:标记 {risk.flagged} 件,误报解除 {risk.cleared} 件" if zh else
                     f"Escalation-risk language: {risk.flagged} case(s) flagged, {risk.cleared} cleared as false")
    repeat = report.repeat_complainants
    lines.append(f"重复投诉客户:{repeat.customers} 位(本周 {repeat.cases} 件)" if zh else
                 f"Repeat complainants: {repeat.customers} customers ({repeat.cases} cases this week)")
    causes_again = ", ".join(f"{r.root_cause} x{r.count}" for r in report.repeated_causes)
    lines.append(f"重复出现的根本原因:{causes_again or '无'}" if zh
                 else f"Repeated root causes: {causes_again or 'none'}")
    follow = s.follow_up
    lines.append(f"跟踪回访:{follow.done} 次,按时 {follow.on_time},联系上 {follow.reached},"
                 f"提供额外服务 {follow.offers_made},接受 {follow.offers_accepted}" if zh else
                 f"Follow-up calls: {follow.done} made, {follow.on_time} on time, {follow.reached} "
                 f"reached, {follow.offers_made} offers, {follow.offers_accepted} accepted")
    lines += ["", "例会表扬:" if zh else "Praise for the unit meeting:"]
    for praise in report.praise:
        whom = ", ".join(praise.staff) or praise.description or "-"
        lines.append(f"- {praise.case_id} {praise.unit_id} {whom}: {praise.what[:200]}")
    if not report.praise:
        lines.append("  本周没有" if zh else "  none this week")
    lines += ["", "主要投诉:" if zh else "Main complaints:"]
    for complaint in report.complaints[:30]:
        handled = f"\n    {'处理结果' if zh else 'handled'}: {complaint.result}" if complaint.result else ""
        lines.append(f"- {complaint.case_id} {complaint.unit_id} [{_named(complaint.cause, language)}] "
                     f"{_named(complaint.status, language)}: {complaint.what}{handled}")
    subject = (f"{report.unit_id} 周报 {start}–{end}:{head}" if zh
               else f"Weekly report {report.unit_id} {start}–{end}: {head}")
    return f"{report.unit_id} {start}: {head}", subject, lines


# SNS takes a message of at most 256 KB; the report's two languages are carried once each, and a
# register too long for that is cut at a case line, the rest left to its CSV.
REPORT_TEXT_BYTES = 90_000


def _fitted(lines: list[str], language: str) -> str:
    body, size = [], 0
    for n, line in enumerate(lines):
        size += len(line.encode()) + 1
        if size > REPORT_TEXT_BYTES:
            rest = len(lines) - n
            body.append(f"……(另有 {rest} 行,见登记表 CSV)" if language == "zh"
                        else f"... ({rest} more lines: see the register's CSV)")
            break
        body.append(line)
    return "\n".join(body)


def _message(report: str, unit_id: str, day: str, texts: dict[str, tuple[str, str, list[str]]]) -> OutgoingMessage:
    """A report for the unit's managers: the notifier emails it to each in their language
    (`texts`: language → SMS line, subject, body lines; each carried once, in the payload, the
    topic's only subscriber being the notifier's queue); `recipients` is set by the sender."""
    rendered = {language: {"subject": cut_at_word(subject, SUBJECT_MAX_CHARS), "body": _fitted(lines, language)}
                for language, (_, subject, lines) in texts.items()}
    sms, _, lines = texts["en"]
    summary = "\n".join(lines[:3])  # the title and the head line; the full text is in `texts`
    return OutgoingMessage(key=f"{report}#{unit_id}#{day}", sms=f"[Complaint Desk] {sms}"[:SMS_MAX_CHARS],
                           subject=rendered["en"]["subject"], body=summary,
                           attributes={"unit": unit_id, "level": "report", "clock": report, "type": "report",
                                       "case_unit": unit_id},
                           payload={"kind": "report", "key": f"{report}#{unit_id}#{day}", "texts": rendered})
