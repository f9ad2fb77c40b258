"""What the archive keeps about its files (issue 4): index entries, legal holds and the audit log.
Apart from archive.py so that code which only decides when to archive loads no models."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from chalicelib.domain.models import ArchivedFile, Case


class LegalHold(BaseModel):
    """An auditor's hold: while on, no version of the file can be deleted, retention or not."""

    model_config = ConfigDict(frozen=True)

    on: bool
    by: str
    at: datetime
    reason: str


class ArchiveEntry(BaseModel):
    """The archive index's record of one archived file, so auditors find files without listing S3."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    unit_id: str
    type: str
    important: bool
    file: ArchivedFile
    legal_hold: LegalHold | None = None

    @classmethod
    def of(cls, case: Case) -> ArchiveEntry:
        assert case.archive is not None
        return cls(case_id=case.case_id, unit_id=case.unit_id, type=case.type.value,
                   important=case.important is not None, file=case.archive)


class AuditAction(StrEnum):
    RETRIEVE = "retrieve"
    VERIFY = "verify"
    LEGAL_HOLD_ON = "legal-hold-on"
    LEGAL_HOLD_OFF = "legal-hold-off"


class AuditRecord(BaseModel):
    """Who touched which archived file, when, and with what outcome (itself listable)."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    actor: str
    action: AuditAction
    case_id: str
    unit_id: str = ""
    keys: tuple[str, ...]
    version_ids: tuple[str, ...]
    outcome: str
