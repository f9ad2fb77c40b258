"""What the API answers, as pydantic models, for the OpenAPI document.

A case answer is the domain's case document itself (chalicelib/domain/case_document.py), so the
document, the API and the archived files cannot drift apart. The same holds for every answer a
service returns as a model (the public status and receipt, the reports, the archive's checks):
this module imports it by name. The views defined here describe answers the API assembles
itself; they allow extra keys, so a field added to an answer is not a breaking change.
Imported only when /openapi.json is built, never on the request path.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from chalicelib.domain.archive_records import ArchiveEntry, AuditChain, AuditRecord, Retrieval, Verification  # noqa: F401
from chalicelib.domain.calendar import CalendarDates, CalendarLoaded  # noqa: F401
from chalicelib.domain.case_document import CaseDocument, CaseSummary
from chalicelib.domain.delivery import SentMessage
from chalicelib.domain.models import UnitView
from chalicelib.domain.public_status import PublicStatus, Receipt  # noqa: F401  (answers of the public routes)
from chalicelib.domain.reports import DailyRegister, SpotCheck, StatisticsReport, WeeklyReport  # noqa: F401
from chalicelib.domain.risk import PhraseList, PhraseMatch  # noqa: F401
from chalicelib.domain.staff import StaffMember
from chalicelib.services.organisation import UnitChanged  # noqa: F401


class View(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorBody(View):
    """Every refusal: a machine code, a sentence for people, and field → reason for 400s."""

    error: str
    message: str
    fields: dict[str, str]


class CaseView(CaseDocument):
    """A case as staff see it: the case document, exactly what GET /cases/{case_id} answers."""

    model_config = ConfigDict(extra="allow")


class CaseList(View):
    items: list[CaseSummary]
    next_cursor: str | None


class UnitList(View):
    items: list[UnitView]


class ArchiveList(View):
    items: list[ArchiveEntry]
    next_cursor: str | None


class ArchivedFiles(View):
    case_id: str
    files: list[ArchiveEntry]


class AuditLog(View):
    items: list[AuditRecord]


class OpenApiDocument(View):
    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]


class SignIn(View):
    """Cognito's OAuth endpoints for the console, all null where there is no hosted sign-in."""

    authorize_url: str | None
    token_url: str | None
    logout_url: str | None
    client_id: str | None


# A member of staff as the directory holds them (id = the identity provider's `sub`).
StaffView = StaffMember


class StaffList(View):
    items: list[StaffMember]


class StaffImported(View):
    """A bulk import: who was added or changed, and each refused row with its line and reasons."""

    created: list[str]
    updated: list[str]
    refused: list[dict[str, Any]]


class Inbox(View):
    items: list[SentMessage]
