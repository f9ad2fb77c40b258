"""The auditors' archive: archived case files, their retrieval, verification and legal holds, and
the audit log of every access (rulebook §7)."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.api import http
from chalicelib.api.queries import Query
from chalicelib.bootstrap import archive_service
from chalicelib.config import get_settings
from chalicelib.domain.commands import RetrieveArchivedFile, SetLegalHold, VerifyArchivedFiles

routes = Blueprint(__name__)
settings = get_settings()


@routes.route("/archive", methods=["GET"])
@http.documented("ArchiveList", query=("unit_id", "closed_from", "closed_to", "limit", "cursor"))
@http.handles_errors
def list_archive() -> dict[str, Any]:
    """Archived case files of a unit closed in a date range, from the archive index."""
    asked = Query(routes.current_request.query_params)
    unit_id = asked.text("unit_id", "required: archived cases are listed per unit")
    start, end = asked.day("closed_from"), asked.day("closed_to")
    size = asked.page_size(settings.default_page_size, settings.max_page_size)
    asked.checked("the archive cannot be listed as asked")
    assert unit_id and start and end
    page = archive_service().of_unit(unit_id, start, end, size, asked.text("cursor"), http.principal(),
                                     http.request_id())
    return {"items": [entry.model_dump(mode="json") for entry in page.items], "next_cursor": page.next_cursor}


@routes.route("/archive/{case_id}", methods=["GET"])
@http.documented("ArchivedFiles")
@http.handles_errors
def archived_files(case_id: str) -> dict[str, Any]:
    files = archive_service().files(case_id, http.principal(), http.request_id())
    return {"case_id": case_id, "files": [entry.model_dump(mode="json") for entry in files]}


@routes.route("/archive/{case_id}/retrieve", methods=["POST"])
@http.documented("Retrieval", request=RetrieveArchivedFile)
@http.handles_errors
def retrieve_archived_file(case_id: str) -> dict[str, Any]:
    body = http.command(RetrieveArchivedFile, routes.current_request.raw_body, settings.max_body_bytes)
    return archive_service().retrieve(case_id, body.format.value, body.actor, http.principal(),
                                      http.request_id()).model_dump(mode="json")


@routes.route("/archive/{case_id}/verify", methods=["POST"])
@http.documented("Verification", request=VerifyArchivedFiles)
@http.handles_errors
def verify_archived_files(case_id: str) -> dict[str, Any]:
    body = http.command(VerifyArchivedFiles, routes.current_request.raw_body, settings.max_body_bytes)
    return archive_service().verify(case_id, body.actor, http.principal(), http.request_id()).model_dump(mode="json")


@routes.route("/archive/{case_id}/legal-hold", methods=["PUT"])
@http.documented("ArchivedFiles", request=SetLegalHold)
@http.handles_errors
def set_legal_hold(case_id: str) -> dict[str, Any]:
    body = http.command(SetLegalHold, routes.current_request.raw_body, settings.max_body_bytes)
    files = archive_service().legal_hold(case_id, body.hold, body.actor, body.reason, http.principal(),
                                         http.request_id())
    return {"case_id": case_id, "files": [entry.model_dump(mode="json") for entry in files]}


@routes.route("/audit-log", methods=["GET"])
@http.documented("AuditLog", query=("case_id", "date"))
@http.handles_errors
def audit_log() -> dict[str, Any]:
    """Every retrieval, verification and legal hold of an archived file: by case or by day."""
    asked = Query(routes.current_request.query_params)
    case_id, day = asked.text("case_id"), asked.day("date", required=False)
    asked.checked("the audit log cannot be read as asked")
    records = archive_service().audit_log(case_id, day, http.principal(), http.request_id())
    return {"items": [record.model_dump(mode="json") for record in records]}


@routes.route("/audit-log/chain", methods=["GET"])
@http.documented("AuditChain", query=("from", "to"))
@http.handles_errors
def audit_chain() -> dict[str, Any]:
    """The audit log's daily exported files, each read back, hashed and linked to the day before."""
    asked = Query(routes.current_request.query_params)
    start, end = asked.day("from"), asked.day("to")
    asked.checked("the audit chain cannot be checked as asked")
    assert start and end
    return archive_service().audit_chain(start, end, http.principal(), http.request_id()).model_dump(mode="json")
