"""What the archive keeps about its files: index entries, legal holds and the audit log.
Apart from archive.py so that code which only decides when to archive loads no models."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from chalicelib.domain.calendar import DateRange, LocalTime
from chalicelib.domain.models import ArchivedFile, Case
from chalicelib.domain.models import LegalHold as LegalHold  # the index records it as the case does


class ArchiveEntry(BaseModel):
    """The archive index's record of one archived file, so auditors find files without listing S3."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    case_id: str
    unit_id: str
    type: str
    important: bool
    file: ArchivedFile
    legal_hold: LegalHold | None = None
    # 0 for the file archived at closing; 1, 2, … for each addendum, which names the SHA-256 of the
    # JSON file before it, so the files of a case form a chain.
    sequence: int = 0
    previous_sha256: str | None = None

    @classmethod
    def of(cls, case: Case, sequence: int = 0, previous_sha256: str | None = None) -> ArchiveEntry:
        assert case.archive is not None
        return cls(case_id=case.case_id, unit_id=case.unit_id, type=case.type.value,
                   important=case.important is not None, file=case.archive, legal_hold=case.legal_hold,
                   sequence=sequence, previous_sha256=previous_sha256)


class AuditAction(StrEnum):
    RETRIEVE = "retrieve"
    VERIFY = "verify"
    LEGAL_HOLD_ON = "legal-hold-on"
    LEGAL_HOLD_OFF = "legal-hold-off"
    # attempted only: recorded when refused
    LEGAL_HOLD = "legal-hold"
    LIST = "list"
    FILES = "files"
    READ_AUDIT_LOG = "read-audit-log"


# The archive's routes and what an attempt on each is called in the audit log.
ARCHIVE_ROUTE_ACTIONS: dict[tuple[str, str], AuditAction] = {
    ("GET", "/archive"): AuditAction.LIST,
    ("GET", "/archive/{case_id}"): AuditAction.FILES,
    ("POST", "/archive/{case_id}/retrieve"): AuditAction.RETRIEVE,
    ("POST", "/archive/{case_id}/verify"): AuditAction.VERIFY,
    ("PUT", "/archive/{case_id}/legal-hold"): AuditAction.LEGAL_HOLD,
    ("GET", "/audit-log"): AuditAction.READ_AUDIT_LOG,
    ("GET", "/audit-log/chain"): AuditAction.READ_AUDIT_LOG,
}
REFUSED = "refused"


class AuditRecord(BaseModel):
    """Who touched which archived file, when, and with what outcome (itself listable): the staff
    member's id, roles and unit from their verified token, the request it was, and refused attempts
    too (rulebook §7: auditors retrieve archived files, and who did is on record)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    at: datetime
    actor: str
    action: AuditAction
    case_id: str
    unit_id: str = ""
    keys: tuple[str, ...]
    version_ids: tuple[str, ...]
    outcome: str
    record_id: str = ""
    staff_id: str = ""
    roles: tuple[str, ...] = ()
    staff_unit_id: str = ""
    request_id: str = ""
    format: str | None = None


class AuditExport(BaseModel):
    """One day's audit records, exported to the locked bucket (audit_chain.py): where, its SHA-256
    and the SHA-256 of the day before's file, which its header names."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    day: date
    key: str
    version_id: str
    sha256: str
    previous_sha256: str | None
    records: int
    exported_at: datetime


class FileLink(BaseModel):
    """A short-lived link to one archived file (the original is sequence 0, addenda follow)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    sequence: int
    key: str
    version_id: str
    sha256: str
    url: str


class Retrieval(BaseModel):
    """An auditor's retrieval: links to the original and every addendum, in order; the top-level
    `url`, `key`, `version_id` and `sha256` are the latest file's."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    case_id: str
    format: str
    url: str
    expires_in: int
    key: str
    version_id: str
    sha256: str
    files: list[FileLink]


class FileCheck(BaseModel):
    """One archived file read back (rulebook §7): its checksums against the index and S3, its lock
    against the index's retain-until, and its place in the chain of addenda."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    key: str
    version_id: str
    sequence: int
    expected_sha256: str
    computed_sha256: str
    s3_checksum_matches: bool
    checksum_ok: bool
    lock_mode: str | None
    retain_until: LocalTime | None
    expected_retain_until: LocalTime
    legal_hold: str  # ON or OFF, as S3 answers
    lock_ok: bool
    chain_ok: bool
    problems: list[str]
    ok: bool


class Verification(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    case_id: str
    ok: bool
    files: list[FileCheck]


class AuditChainDay(BaseModel):
    """One day of the audit log's chain as checked, with a link to its locked file."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    day: date
    sha256: str | None
    previous_sha256: str | None
    records: int
    ok: bool
    problem: str | None
    # Why a day without a file is no break: it is not over (or its export is due at the next run),
    # or it is before the audit log's first export.
    note: str | None = None
    key: str | None
    version_id: str | None
    url: str | None


class AuditChain(DateRange):
    """The audit log's daily files from `from` to `to`, each checked against the day before's and
    against the table's records of its day; `first_break` is the first day that does not hold."""

    ok: bool
    first_break: date | None
    days: list[AuditChainDay]
