"""The audit log's daily export (rulebook §7: who retrieved which archived file must itself be
beyond an operator's edit). Each UTC day's records become one JSON-lines file in the locked bucket
whose first line names the SHA-256 of the day before's file: a hash chain, so an edited, dropped
or inserted record — in the table or in a file — shows as a break at its day. Pure: no AWS."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from chalicelib.domain.archive_records import AuditRecord

FORMAT = "complaint-desk.audit-log/1"
# A day is exported once it is over and this long has passed, so no access of that day is still
# being written.
GRACE = timedelta(minutes=10)
EXPORT_RUNS = timedelta(hours=1)
# How far back a run looks for the last exported day before it starts a new chain.
LOOK_BACK_DAYS = 31


PREFIX = "audit-log/"


def export_key(day: date) -> str:
    return f"{PREFIX}{day:%Y/%m/%d}.jsonl"


def day_of(key: str) -> date:
    """The day an export file's key names."""
    return datetime.strptime(key.removeprefix(PREFIX).removesuffix(".jsonl"), "%Y/%m/%d").date()


def day_to_export(now: datetime) -> date:
    """The latest UTC day that is over (with its grace period)."""
    return (now - GRACE).date() - timedelta(days=1)


def exported_by(day: date) -> datetime:
    """When a day's file must exist: the day over, its grace period, and an hour of export runs
    (every 15 minutes) to write it. A day without a file after that is a gap in the chain."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC) + GRACE + EXPORT_RUNS


def record_line(record: AuditRecord) -> str:
    return json.dumps(record.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def ordered(records: Sequence[AuditRecord]) -> list[AuditRecord]:
    """Records in the order a file holds them: by time, then by record id."""
    return sorted(records, key=lambda r: (r.at, r.record_id, record_line(r)))


def export_file(day: date, records: Sequence[AuditRecord], previous_sha256: str | None) -> bytes:
    """The day's file: a header line (format, day, the day before's file's SHA-256, how many
    records and the SHA-256 of their lines), then one canonical JSON line per record."""
    lines = [record_line(r) for r in ordered(records)]
    body = "".join(line + "\n" for line in lines)
    header = {"format": FORMAT, "day": day.isoformat(), "previous_sha256": previous_sha256,
              "records": len(lines), "records_sha256": hashlib.sha256(body.encode()).hexdigest()}
    return (json.dumps(header, sort_keys=True) + "\n" + body).encode()


def read_file(body: bytes) -> tuple[dict[str, Any], list[str]]:
    """The header and the record lines of an export file."""
    first, _, rest = body.decode().partition("\n")
    return json.loads(first), [line for line in rest.split("\n") if line]


@dataclass(frozen=True)
class DayCheck:
    """One day of the chain as checked: its file and whether it holds, and the first problem."""

    day: date
    sha256: str | None
    previous_sha256: str | None
    records: int
    problem: str | None


def check_day(day: date, body: bytes | None, before_sha256: str | None, table: Sequence[AuditRecord] | None,
              link_known: bool = True) -> DayCheck:
    """Day `day`'s file against the chain (`before_sha256`: the SHA-256 of the day before's file,
    None where the chain starts; not checked when `link_known` is false, for the first day of a
    range whose day before has no file) and, when given, against the table's records of the day."""
    if body is None:
        return DayCheck(day, None, None, 0, "no export file for this day")
    sha = hashlib.sha256(body).hexdigest()
    try:
        header, lines = read_file(body)
    except (ValueError, UnicodeDecodeError):
        return DayCheck(day, sha, None, 0, "the file cannot be read")
    previous = header.get("previous_sha256")
    problem = None
    records_body = "".join(line + "\n" for line in lines)
    if header.get("day") != day.isoformat() or header.get("format") != FORMAT:
        problem = f"the file is for {header.get('day')!r}, format {header.get('format')!r}"
    elif link_known and previous != before_sha256:
        problem = f"the file names {previous or 'no'} previous file; the day before's file is {before_sha256 or 'none'}"
    elif header.get("records") != len(lines) or \
            header.get("records_sha256") != hashlib.sha256(records_body.encode()).hexdigest():
        problem = "the file's records do not match its header"
    elif table is not None and [record_line(r) for r in ordered(table)] != lines:
        problem = (f"the table holds {len(table)} record(s) for this day that differ from the "
                   f"{len(lines)} exported")
    return DayCheck(day, sha, previous, len(lines), problem)

