"""The archived case file (rulebook §7): when a closed case is due, how long it is locked,
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


def changed_since_archived(case: Case) -> bool:
    """An archived case that changed after its latest file (a spot check's rectification, a root
    cause): recording the archive is the version after the file, so any later one is a change."""
    return case.archive is not None and case.version > case.archive.case_version + 1


def archive_due_at(case: Case, settle: timedelta) -> datetime | None:
    """When a closed case's next file is due: its settle period after closing for the first, at
    once for an addendum (rulebook §7: nothing recorded after archiving is lost with the hot copy);
    None for any other case, and while a spot check's rectification order on it is open (its file
    is archived once that is done)."""
    if case.status is not Status.CLOSED or case.closed_at is None:
        return None
    if case.rectification is not None and case.rectification.completed_at is None:
        return None
    if case.archive is None:
        return case.closed_at + settle
    return case.updated_at if changed_since_archived(case) else None


def keeps_hot_copy_until(case: Case) -> datetime | None:
    """The hot copy's expiry: set once the latest file is confirmed, and not while a change made
    since waits for its addendum."""
    if case.archive is None or changed_since_archived(case):
        return None
    return case.archive.hot_copy_expires_at


@dataclass(frozen=True)
class Addendum:
    """A later file of an archived case: its number and the file before it, which it names by the
    SHA-256 of its JSON, so the files of a case form a chain that verify walks."""

    sequence: int
    previous_sha256: str
    previous_key: str
    previous_version_id: str


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def _up_to_the_second(moment: datetime) -> datetime:
    """S3 keeps a lock's date to the second; cutting the fraction would end the lock early."""
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


def retain_until_from(moment: datetime, years: int) -> datetime:
    """Rulebook §7 for a record that is not a case (the audit log's daily file, kept as long as the
    longest-kept case file it speaks of): `years` from `moment`, rounded up to the second."""
    return _up_to_the_second(_add_years(moment.astimezone(UTC), years))


def retain_until(case: Case, policy: ArchivePolicy, now: datetime) -> datetime:
    """Rulebook §7: one year from closing, ten for important records (a legal hold is apart from
    both), rounded up to the second so retention is never short; never already past, because S3
    refuses a lock that has run out (a case closed long ago is kept at least a day)."""
    assert case.closed_at is not None, "only closed cases are archived"
    years = policy.important_retention_years if case.important else policy.retention_years
    until = _up_to_the_second(_add_years(case.closed_at.astimezone(UTC), years))
    return max(until, _up_to_the_second((now + timedelta(days=1)).astimezone(UTC)))


LOCK_MODE = "COMPLIANCE"


def lock_problems(mode: str | None, until: datetime | None, expected_until: datetime,
                  hold: str = "OFF", expected_hold: bool = False) -> list[str]:
    """Rulebook §7: a file is kept as long as the index says, under a lock nobody can lift. A mode
    other than COMPLIANCE, a retain-until earlier than the index's (a later one is an extension S3
    allows, and is fine), or a legal hold the index has on and S3 has not, is a weakened lock."""
    problems = []
    if expected_hold and hold != "ON":
        problems.append(f"legal hold is {hold or 'OFF'} in S3; the index has it on")
    if mode != LOCK_MODE:
        problems.append(f"lock mode is {mode or 'none'}, not {LOCK_MODE}")
    if until is None or until < expected_until:
        problems.append(f"retained until {until.astimezone(UTC).isoformat() if until else 'never'}, "
                        f"earlier than the index's {expected_until.astimezone(UTC).isoformat()}")
    return problems


def chain_problems(sequence: int, previous_sha256: str | None, position: int, before: str | None,
                   json_body: bytes | None) -> list[str]:
    """Rulebook §7: a case's files are the original and its addenda in order, each addendum naming
    the SHA-256 of the JSON file before it, in the index and in its own body."""
    problems = []
    if sequence != position:
        problems.append(f"file {position} of the case says it is number {sequence}")
    if previous_sha256 != before:
        problems.append(f"the index links it to {previous_sha256 or 'nothing'}, "
                        f"not the file before ({before or 'none'})")
    if json_body is not None:
        try:
            named = (json.loads(json_body).get("addendum") or {}).get("previous_sha256")
        except ValueError:
            named = "unreadable"
        if named != before:
            problems.append(f"the file names {named or 'no'} previous file, not {before or 'none'}")
    return problems


def file_keys(case: Case, json_sha256: str, html_sha256: str) -> tuple[str, str]:
    """Object keys of the JSON file and its HTML rendering, named by closing month, unit, case,
    version and each file's own content: a retried upload of the same content finds its own key
    already there, and a page rendered anew (a newer renderer, a unit's new time zone) gets a key
    of its own instead of colliding with a locked page it cannot replace."""
    assert case.closed_at is not None
    stem = (f"case-files/{case.closed_at.astimezone(UTC):%Y/%m}/{case.unit_id}/"
            f"{case.case_id}-v{case.version}-{json_sha256[:16]}")
    return f"{stem}.json", f"{stem}-{html_sha256[:8]}.html"


def case_file_document(case: CaseDocument, addendum: Addendum | None = None) -> dict[str, Any]:
    """What the JSON file holds: the case document as the API shows it, without the actions it
    allowed (an archived file offers none), under the file format's name; an addendum also names
    the file it follows."""
    document = {"format": FORMAT, **case.model_dump(mode="json", exclude={"available_actions", "earlier_cases"})}
    if addendum is not None:
        document["addendum"] = {"sequence": addendum.sequence, "previous_sha256": addendum.previous_sha256,
                                "previous_key": addendum.previous_key,
                                "previous_version_id": addendum.previous_version_id}
    return document


def case_file_json(document: dict[str, Any]) -> bytes:
    """Canonical JSON: the same document always gives the same bytes."""
    return (json.dumps(document, sort_keys=True, ensure_ascii=False, indent=1) + "\n").encode()


def sha256_hex(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def sha256_base64(body: bytes) -> str:
    """The form S3 stores and returns as ChecksumSHA256."""
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def case_file_html(document: dict[str, Any], json_sha256: str, time_zone: str | None = None) -> bytes:
    """The page an auditor opens or prints, rendered from the JSON file's own content, its moments
    in the unit's `time_zone`."""
    from chalicelib.domain.archive_page import page

    return page(document, json_sha256, FORMAT, time_zone)
