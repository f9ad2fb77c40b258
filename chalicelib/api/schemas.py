"""What the API answers, as pydantic models, for the OpenAPI document.

A case answer is the domain's case document itself (chalicelib/domain/case_document.py), so the
document, the API and the archived files cannot drift apart; the other views describe answers
the services still build as dicts. They allow extra keys: a field added to an answer is not a
breaking change. Imported only when /openapi.json is built, never on the request path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from chalicelib.domain.archive_records import ArchiveEntry, AuditRecord
from chalicelib.domain.case_document import CaseDocument, CaseSummary
from chalicelib.domain.models import CaseType, Status
from chalicelib.domain.staff import StaffMember


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


class PublicDeadline(View):
    deadline: datetime
    state: str


class PublicSurvey(View):
    """The satisfaction survey on the status page: open while the answered case awaits a rating."""

    open: bool
    rating: int | None = None
    by_customer: bool = False


class PublicStatus(View):
    """What a complainant sees with their tracking token."""

    case_number: str
    type: CaseType
    status: Status
    unit: str
    received_at: datetime
    reply_by: datetime | None
    deadlines: dict[str, PublicDeadline]
    updated_at: datetime
    answer: str | None = None
    survey: PublicSurvey | None = None


class Receipt(PublicStatus):
    """The web form's receipt: the status, plus the token shown only this once."""

    tracking_token: str
    status_url: str
    next_steps: dict[str, str]


class UnitView(View):
    unit_id: str
    name: str
    kind: str
    parent_id: str | None = None
    time_zone: str
    calendar: str


class UnitList(View):
    items: list[UnitView]


class UnitChanged(View):
    unit: UnitView
    managers: int  # people of the staff directory with a manager's role on the unit
    moved: list[dict[str, Any]]  # open deadlines counted again when the unit's calendar changed


class CalendarView(View):
    country: str
    overrides: dict[str, str]


class CalendarLoaded(CalendarView):
    moved: list[dict[str, Any]]


class RiskPhrases(View):
    """The escalation-risk phrases intake checks against: the stored list, or the defaults."""

    phrases: list[str]
    source: str
    updated_by: str | None
    updated_at: str | None
    defaults: list[str]


class RiskPhraseCheck(View):
    matched: list[str]


class ArchiveList(View):
    items: list[ArchiveEntry]
    next_cursor: str | None


class ArchivedFiles(View):
    case_id: str
    files: list[ArchiveEntry]


class Retrieval(View):
    case_id: str
    format: str
    url: str
    expires_in: int
    key: str
    version_id: str
    sha256: str
    files: list[dict[str, Any]]


class Verification(View):
    case_id: str
    ok: bool
    files: list[dict[str, Any]]


class AuditLog(View):
    items: list[AuditRecord]


class AuditChainDay(View):
    day: str
    sha256: str | None
    previous_sha256: str | None
    records: int
    ok: bool
    problem: str | None
    key: str | None
    version_id: str | None
    url: str | None


class AuditChain(View):
    """The audit log's daily files from `from` to `to`, each checked against the day before's and
    against the table's records of its day; `first_break` is the first day that does not hold."""

    ok: bool
    first_break: str | None
    days: list[AuditChainDay]


class OpenApiDocument(View):
    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]


class StatisticsReport(View):
    unit_id: str
    units: list[str]
    summary: dict[str, Any]
    by_unit: dict[str, Any]
    items_read: int


class DailyRegister(View):
    unit_id: str
    date: str
    open: int
    due_today: list[str]
    due_tomorrow: list[str]
    breached: list[str]
    awaiting_feedback: list[str] = []
    cases: list[dict[str, Any]]


class WeeklyReport(View):
    unit_id: str
    summary: dict[str, Any]
    trend: dict[str, Any]
    repeated_causes: list[dict[str, Any]]
    complaints: list[dict[str, Any]]
    praise: list[dict[str, Any]]
    praise_by_staff: list[dict[str, Any]]


class SpotCheck(View):
    check_id: str
    unit_id: str
    share: float
    seed: str
    sample: list[str]
    results: dict[str, Any]


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


class InboxMessage(View):
    """One SMS or email the signed-in person was sent, with the escalations it carried."""

    at: datetime
    medium: str
    state: str
    language: str
    text: str
    segments: int | None = None
    escalations: list[dict[str, Any]] = []


class Inbox(View):
    items: list[InboxMessage]
