"""What managers read (issue 7, rulebook §4/§6): the daily register, the weekly report, spot-check
sampling, and their texts and CSV. Pure: the services gather the data, these shape it."""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from chalicelib.domain.case_document import CaseDocument, LocalTime, case_document
from chalicelib.domain.clocks import ClockState
from chalicelib.domain.escalation import SMS_MAX_CHARS, SUBJECT_MAX_CHARS, OutgoingMessage, cut_at_word
from chalicelib.domain.models import Case, Unit

# A report goes out at this unit-local hour: the daily register every day, the weekly report on
# Mondays (for the week that ended on Sunday).
REPORT_HOUR = 8


class RegisterRow(BaseModel):
    """One open case as the register lists it (rulebook §4): what, who, and its nearest running
    deadline, read from the case document; also the register's CSV columns."""

    model_config = ConfigDict(frozen=True)

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
    customer: str  # the register's call-back contact (rulebook §2: customer name and phone)
    phone: str

    @classmethod
    def of(cls, case: CaseDocument, time_zone: str) -> RegisterRow:
        running = sorted((item for item in case.deadlines.items() if item[1].stopped_at is None),
                         key=lambda item: item[1].deadline)
        nearest = running[0] if running else None
        return cls(case_id=case.case_id, type=case.type.value, channel=case.channel.value,
                   status=case.status.value, received_at=case.received_at.astimezone(ZoneInfo(time_zone)),
                   handler=case.handler, what=case.five_w.what[:120],
                   customer=case.customer.name, phone=case.customer.phone,
                   next_clock=nearest[0] if nearest else None, next_deadline=nearest[1].deadline if nearest else None,
                   breached=sorted(name for name, d in case.deadlines.items() if d.state is ClockState.BREACHED))


class ComplaintRow(BaseModel):
    """One complaint in the weekly report (rulebook §4): what it was about and how it was handled,
    read from the case document; also the weekly report's CSV columns."""

    model_config = ConfigDict(frozen=True)

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


REGISTER_COLUMNS = tuple(RegisterRow.model_fields)
COMPLAINT_COLUMNS = tuple(ComplaintRow.model_fields)


def register_entry(case: Case, now: datetime, time_zone: str) -> dict[str, Any]:
    """One open case as the register lists it, as JSON (its history is not needed for the row)."""
    return RegisterRow.of(case_document(case, (), (), now, time_zone), time_zone).model_dump(mode="json")


def daily_register(unit: Unit, day: date, cases: Iterable[Case], now: datetime) -> dict[str, Any]:
    """Rulebook §4: the store manager's register for `day`: the open cases, nearest deadline
    first, what falls due today and tomorrow, every breach, and the answered cases still awaiting
    the customer's feedback (§5: ask if they are satisfied)."""
    entries = sorted((register_entry(c, now, unit.time_zone) for c in cases),
                     key=lambda e: (e["next_deadline"] is None, e["next_deadline"] or ""))
    due_on = {day.isoformat(): [], (day + timedelta(days=1)).isoformat(): []}  # type: dict[str, list[str]]
    for entry in entries:
        if entry["next_deadline"] and entry["next_deadline"][:10] in due_on:
            due_on[entry["next_deadline"][:10]].append(entry["case_id"])
    return {
        "unit_id": unit.unit_id, "unit": unit.name, "date": day.isoformat(),
        "open": len(entries),
        "due_today": due_on[day.isoformat()],
        "due_tomorrow": due_on[(day + timedelta(days=1)).isoformat()],
        "breached": [e["case_id"] for e in entries if e["breached"]],
        # rulebook §5: answered, waiting for the customer's opinion (their survey, or a call to ask)
        "awaiting_feedback": [e["case_id"] for e in entries if e["status"] == "resolved"],
        "cases": entries,
    }


def week_start(day: date) -> date:
    """The Monday of the week `day` is in."""
    return day - timedelta(days=day.weekday())


def trend(this: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """This week against the previous one: counts and on-time rates, with their change."""
    def rate(summary: dict[str, Any], clock: str) -> float | None:
        found = summary["clocks"].get(clock)
        return found["on_time_rate"] if found else None

    changes: dict[str, Any] = {}
    for name in ("received", "resolved"):
        changes[name] = {"this_week": this[name], "previous_week": previous[name],
                         "change": this[name] - previous[name]}
    complaints = ("complaint", this["by_type"].get("complaint", 0), previous["by_type"].get("complaint", 0))
    changes["complaints"] = {"this_week": complaints[1], "previous_week": complaints[2],
                             "change": complaints[1] - complaints[2]}
    for clock in sorted(set(this["clocks"]) | set(previous["clocks"])):
        now_rate, before = rate(this, clock), rate(previous, clock)
        changes[f"on_time_rate:{clock}"] = {
            "this_week": now_rate, "previous_week": before,
            "change": round(now_rate - before, 4) if now_rate is not None and before is not None else None}
    return changes


def repeated_causes(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Root causes recorded more than once in the period (rulebook §6: so they do not recur)."""
    return [{"root_cause": code, "count": n} for code, n in summary["root_causes"].items() if n > 1]


def complaint_entry(case: Case, now: datetime, time_zone: str) -> dict[str, Any]:
    """One complaint in the weekly report, as JSON."""
    return ComplaintRow.of(case_document(case, (), (), now, time_zone)).model_dump(mode="json")


def sample(case_ids: Sequence[str], share: float, seed: str) -> list[str]:
    """Rulebook §6 抽查: a reproducible sample of `share` of the cases (at least one when there
    are any): the same cases, seed and share always give the same sample, and anyone can check it
    by ordering the ids by SHA-256 of `seed:id`."""
    if not case_ids or share <= 0:
        return []
    size = min(len(case_ids), max(1, math.ceil(round(share * len(case_ids), 9))))
    ranked = sorted(set(case_ids), key=lambda cid: hashlib.sha256(f"{seed}:{cid}".encode()).hexdigest())
    return sorted(ranked[:size])


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


def register_message(register: dict[str, Any]) -> OutgoingMessage:
    """The daily register as SMS and email for the unit's managers."""
    head = (f"{register['open']} open, {len(register['due_today'])} due today, "
            f"{len(register['due_tomorrow'])} due tomorrow, {len(register['breached'])} breached")
    lines = [f"Daily register of {register['unit']} ({register['unit_id']}) for {register['date']}", "", head, ""]
    for entry in register["cases"]:
        late = f"  BREACHED: {', '.join(entry['breached'])}" if entry["breached"] else ""
        lines.append(f"- {entry['case_id']} {entry['type']} {entry['status']}, next: {entry['next_clock'] or '-'} "
                     f"{entry['next_deadline'] or ''}{late}\n    {entry['what']}")
    lines += ["", f"The register as CSV: GET /reports/daily-register?unit_id={register['unit_id']}"
                  f"&date={register['date']}&format=csv"]
    return _message("daily-register", register["unit_id"], register["date"],
                    f"{register['unit_id']} register {register['date']}: {head}",
                    f"Daily register {register['unit_id']} {register['date']}: {head}", lines)


def weekly_message(report: dict[str, Any]) -> OutgoingMessage:
    """The weekly report as SMS and email for the operations manager (the branch's managers)."""
    s, t = report["summary"], report["trend"]
    head = (f"{s['received']} cases ({t['complaints']['this_week']} complaints, "
            f"{t['complaints']['change']:+d} vs last week), {s['resolved']} resolved")
    lines = [f"Weekly report of {report['unit']} ({report['unit_id']}), {report['from']} to {report['to']}", "",
             head, "", "On time:"]
    for clock, figures in s["clocks"].items():
        change = t.get(f"on_time_rate:{clock}", {}).get("change")
        lines.append(f"  {clock}: {figures['on_time_rate']:.0%} ({figures['met']} met, {figures['breached']} late)"
                     + (f", {change:+.0%} vs last week" if change is not None else ""))
    median = s["handling_working_days"]["median"]
    lines.append(f"Handling time: median {median if median is not None else '-'} working days, "
                 f"90th percentile {s['handling_working_days']['p90'] if median is not None else '-'}")
    if s["satisfaction"]["responses"]:
        lines.append(f"Satisfaction: {s['satisfaction']['average']} / 5 from {s['satisfaction']['responses']} "
                     f"customers, {s['satisfaction']['satisfied_rate']:.0%} satisfied")
    lines += ["", "Top causes: " + (", ".join(f"{c['cause']} {c['count']}" for c in s["top_causes"]) or "-")]
    lines.append("Repeated root causes: "
                 + (", ".join(f"{r['root_cause']} x{r['count']}" for r in report["repeated_causes"]) or "none"))
    lines += ["", "Main complaints:"]
    for entry in report["complaints"][:30]:
        lines.append(f"- {entry['case_id']} {entry['unit_id']} [{entry['cause'] or '-'}] {entry['status']}: "
                     f"{entry['what']}" + (f"\n    handled: {entry['result']}" if entry["result"] else ""))
    return _message("weekly-report", report["unit_id"], report["from"],
                    f"{report['unit_id']} week of {report['from']}: {head}",
                    f"Weekly report {report['unit_id']} {report['from']}–{report['to']}: {head}", lines)


def _message(report: str, unit_id: str, day: str, sms: str, subject: str, lines: list[str]) -> OutgoingMessage:
    """A report for the unit's managers (the notifier emails it to each; `with_recipients` names them)."""
    body = "\n".join(lines)
    return OutgoingMessage(key=f"{report}#{unit_id}#{day}", sms=f"[Complaint Desk] {sms}"[:SMS_MAX_CHARS],
                           subject=cut_at_word(subject, SUBJECT_MAX_CHARS), body=body,
                           attributes={"unit": unit_id, "level": "report", "clock": report, "type": "report",
                                       "case_unit": unit_id},
                           payload={"kind": "report", "key": f"{report}#{unit_id}#{day}",
                                    "subject": cut_at_word(subject, SUBJECT_MAX_CHARS), "body": body})
