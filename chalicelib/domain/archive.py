"""The archived case file (issue 4, rulebook §7): when a closed case is due, how long it is locked,
and its two renderings. Pure: the same case always gives the same bytes, so a retried upload
can be compared with what is already stored."""

from __future__ import annotations

import base64
import hashlib
import html
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.models import Case, Status

FORMAT = "complaint-desk.case-file/1"


@dataclass(frozen=True)
class ArchivePolicy:
    """`settle`: how long a closed case may still be reopened before it is archived;
    `hot_copy`: how long the table keeps the case after its file is confirmed in the archive."""

    settle: timedelta = timedelta(hours=72)
    retention_years: int = 1
    important_retention_years: int = 10
    hot_copy: timedelta = timedelta(days=90)


def archive_due_at(case: Case, settle: timedelta) -> datetime | None:
    """When a closed, not yet archived case should be archived; None for any other case, and while
    a spot check's rectification order on it is open (its file is archived once that is done)."""
    if case.status is not Status.CLOSED or case.archive is not None or case.closed_at is None:
        return None
    if case.rectification is not None and case.rectification.completed_at is None:
        return None
    return case.closed_at + settle


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def retain_until(case: Case, policy: ArchivePolicy, now: datetime) -> datetime:
    """Rulebook §7: one year from closing, longer for important records; never already past, because
    S3 refuses a lock that has run out (a case closed long ago is kept at least a day)."""
    assert case.closed_at is not None, "only closed cases are archived"
    years = policy.important_retention_years if case.important else policy.retention_years
    until = _add_years(case.closed_at.astimezone(UTC), years).replace(microsecond=0)
    return max(until, (now + timedelta(days=1)).astimezone(UTC).replace(microsecond=0))


def file_keys(case: Case, json_sha256: str) -> tuple[str, str]:
    """Object keys of the JSON file and its HTML rendering, named by closing month, unit, case,
    version and content: a retried upload of the same content finds its own key already there."""
    assert case.closed_at is not None
    stem = (f"case-files/{case.closed_at.astimezone(UTC):%Y/%m}/{case.unit_id}/"
            f"{case.case_id}-v{case.version}-{json_sha256[:16]}")
    return f"{stem}.json", f"{stem}.html"


def case_file_json(view: dict[str, Any]) -> bytes:
    """The case as the API shows it (fields, deadlines, history, escalations), canonical JSON."""
    document = {"format": FORMAT, **view}
    return (json.dumps(document, sort_keys=True, ensure_ascii=False, indent=1) + "\n").encode()


def sha256_hex(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def sha256_base64(body: bytes) -> str:
    """The form S3 stores and returns as ChecksumSHA256."""
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


_CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;
vertical-align:top}th{background:#f3f3f3;width:14rem}pre{white-space:pre-wrap;margin:0}
.meta{color:#555}"""


def _cell(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, dict | list):
        return "<pre>" + html.escape(json.dumps(value, sort_keys=True, ensure_ascii=False, indent=1)) + "</pre>"
    return html.escape(str(value))


def _fields_table(values: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th scope=\"row\">{html.escape(k)}</th><td>{_cell(v)}</td></tr>"
                   for k, v in values.items())
    return f"<table>{rows}</table>"


def _rows_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    if not rows:
        return "<p>none</p>"
    head = "".join(f"<th scope=\"col\">{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def case_file_html(view: dict[str, Any], json_sha256: str) -> bytes:
    """A page an auditor opens in any browser: no scripts, no external resources."""
    case_id = html.escape(view["case_id"])
    summary_keys = ["case_id", "type", "channel", "unit_id", "status", "received_at", "receiver",
                    "handler", "closed_at", "closed_reason", "important", "special", "forwarded_from"]
    detail_keys = ["customer", "five_w", "cause", "expectation", "finding", "resolution", "feedback",
                   "reply_promised_by", "acknowledgements"]
    deadlines = [{"clock": name, **clock} for name, clock in sorted(view.get("deadlines", {}).items())]
    parts = [
        "<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>Case file {case_id}</title><style>{_CSS}</style></head><body>",
        f"<h1>Case file {case_id} (version {view['version']})</h1>",
        f'<p class="meta">Format {FORMAT}. SHA-256 of the JSON case file: <code>{json_sha256}</code></p>',
        "<h2>Summary</h2>", _fields_table({k: view.get(k) for k in summary_keys}),
        "<h2>Details</h2>", _fields_table({k: view.get(k) for k in detail_keys}),
        "<h2>Deadlines</h2>", _rows_table(deadlines, ["clock", "due_at", "state", "stopped_at", "goal_met",
                                                      "deadline_version", "provisional"]),
        "<h2>History</h2>", _rows_table(view.get("history", []), ["seq", "at", "actor", "action",
                                                                    "from_status", "to_status", "changes", "note"]),
        "<h2>Escalations</h2>", _rows_table(view.get("escalations", []),
                                            ["clock", "level", "target_unit_id", "state", "sent_at"]),
        "</body></html>", "",
    ]
    return "\n".join(parts).encode()
