"""The archived case file (issue 4, rulebook §7): when a closed case is due, how long it is locked,
and its two renderings. Pure: the same case always gives the same bytes, so a retried upload
can be compared with what is already stored."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.domain.models import Case, Status

if TYPE_CHECKING:
    from chalicelib.domain.case_document import CaseDocument

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


def _up_to_the_second(moment: datetime) -> datetime:
    """S3 keeps a lock's date to the second; cutting the fraction would end the lock early."""
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


def retain_until(case: Case, policy: ArchivePolicy, now: datetime) -> datetime:
    """Rulebook §7: one year from closing, ten for important records (a legal hold is apart from
    both), rounded up to the second so retention is never short; never already past, because S3
    refuses a lock that has run out (a case closed long ago is kept at least a day)."""
    assert case.closed_at is not None, "only closed cases are archived"
    years = policy.important_retention_years if case.important else policy.retention_years
    until = _up_to_the_second(_add_years(case.closed_at.astimezone(UTC), years))
    return max(until, _up_to_the_second((now + timedelta(days=1)).astimezone(UTC)))


LOCK_MODE = "COMPLIANCE"


def lock_problems(mode: str | None, until: datetime | None, expected_until: datetime) -> list[str]:
    """Rulebook §7: a file is kept as long as the index says, under a lock nobody can lift. A mode
    other than COMPLIANCE, or a retain-until earlier than the index's, is a weakened lock (a later
    one is an extension S3 allows, and is fine)."""
    problems = []
    if mode != LOCK_MODE:
        problems.append(f"lock mode is {mode or 'none'}, not {LOCK_MODE}")
    if until is None or until < expected_until:
        problems.append(f"retained until {until.astimezone(UTC).isoformat() if until else 'never'}, "
                        f"earlier than the index's {expected_until.astimezone(UTC).isoformat()}")
    return problems


def file_keys(case: Case, json_sha256: str) -> tuple[str, str]:
    """Object keys of the JSON file and its HTML rendering, named by closing month, unit, case,
    version and content: a retried upload of the same content finds its own key already there."""
    assert case.closed_at is not None
    stem = (f"case-files/{case.closed_at.astimezone(UTC):%Y/%m}/{case.unit_id}/"
            f"{case.case_id}-v{case.version}-{json_sha256[:16]}")
    return f"{stem}.json", f"{stem}.html"


def case_file_document(case: CaseDocument) -> dict[str, Any]:
    """What the JSON file holds: the case document as the API shows it, without the actions it
    allowed (an archived file offers none), under the file format's name."""
    return {"format": FORMAT, **case.model_dump(mode="json", exclude={"available_actions"})}


def case_file_json(document: dict[str, Any]) -> bytes:
    """Canonical JSON: the same document always gives the same bytes."""
    return (json.dumps(document, sort_keys=True, ensure_ascii=False, indent=1) + "\n").encode()


def sha256_hex(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def sha256_base64(body: bytes) -> str:
    """The form S3 stores and returns as ChecksumSHA256."""
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def case_file_html(document: dict[str, Any], json_sha256: str) -> bytes:
    """The page an auditor opens or prints, rendered from the JSON file's own content."""
    from chalicelib.domain.archive_page import page

    return page(document, json_sha256, FORMAT)
