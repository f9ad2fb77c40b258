"""Administration: the organisation's units, the staff directory, the working-day calendars and the
escalation-risk phrases every intake is checked against."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.api import http
from chalicelib.api.queries import Query
from chalicelib.bootstrap import case_service, organisation_service, risk_phrase_service, staff_service
from chalicelib.config import get_settings
from chalicelib.domain.commands import CalendarOverridesRequest, StaffImport
from chalicelib.domain.models import Unit
from chalicelib.domain.risk import RiskPhrasesRequest, RiskPhraseTry
from chalicelib.domain.staff import StaffDetails

routes = Blueprint(__name__)
settings = get_settings()


@routes.route("/units", methods=["GET"])
@http.documented("UnitList")
@http.handles_errors
def list_units() -> dict[str, Any]:
    return {"items": [unit.public_view() for unit in case_service().units()]}


@routes.route("/units/{unit_id}", methods=["PUT"])
@http.documented("UnitChanged", request=Unit)
@http.handles_errors
def put_unit(unit_id: str) -> dict[str, Any]:
    """An administrator adds or changes a unit; its managers' SMS/email subscriptions follow."""
    unit = http.parse(Unit, http.json_body(routes.current_request.raw_body, settings.max_body_bytes))
    return organisation_service().put_unit(unit_id, unit, http.principal().name).model_dump(mode="json")


@routes.route("/staff", methods=["GET"])
@http.documented("StaffList", query=("unit_id",))
@http.handles_errors
def list_staff() -> dict[str, Any]:
    """The staff directory, or one unit's staff and the units below it."""
    unit_id = Query(routes.current_request.query_params).text("unit_id")
    return {"items": [member.model_dump(mode="json") for member in staff_service().list(unit_id)]}


@routes.route("/staff", methods=["POST"])
@http.documented("StaffView", 201, StaffDetails)
@http.handles_errors
def add_staff() -> Response:
    """An administrator adds a person: the identity provider creates their sign-in and their id."""
    details = http.parse(StaffDetails, http.json_body(routes.current_request.raw_body, settings.max_body_bytes))
    member = staff_service().add(details)
    return Response(body=member.model_dump(mode="json"), status_code=201,
                    headers={"Location": f"/staff/{member.staff_id}"})


@routes.route("/staff/import", methods=["POST"])
@http.documented("StaffImported", request=StaffImport)
@http.handles_errors
def import_staff() -> dict[str, Any]:
    """Many people at once (JSON rows or CSV text): each row stored whole or refused with its line."""
    from dataclasses import asdict

    from chalicelib.domain.staff import rows_from_csv

    body = http.parse(StaffImport, http.json_body(routes.current_request.raw_body, settings.max_import_bytes))
    rows = (rows_from_csv(body.csv) if body.csv is not None
            else [(int(row.pop("line", n)) if str(row.get("line", n)).isdigit() else n, row)
                  for n, row in enumerate(body.rows or [], start=1)])
    return asdict(staff_service().import_rows(rows))


@routes.route("/staff/{staff_id}", methods=["GET"])
@http.documented("StaffView")
@http.handles_errors
def get_staff(staff_id: str) -> dict[str, Any]:
    return staff_service().get(staff_id).model_dump(mode="json")


@routes.route("/staff/{staff_id}", methods=["PUT"])
@http.documented("StaffView", request=StaffDetails)
@http.handles_errors
def update_staff(staff_id: str) -> dict[str, Any]:
    details = http.parse(StaffDetails, http.json_body(routes.current_request.raw_body, settings.max_body_bytes))
    return staff_service().update(staff_id, details).model_dump(mode="json")


@routes.route("/staff/{staff_id}/deactivate", methods=["POST"])
@http.documented("StaffView")
@http.handles_errors
def deactivate_staff(staff_id: str) -> dict[str, Any]:
    """The person can no longer sign in nor receive escalations; their name stays on their cases."""
    return staff_service().deactivate(staff_id).model_dump(mode="json")


@routes.route("/calendars/{country}", methods=["GET"])
@http.documented("CalendarDates")
@http.handles_errors
def get_calendar(country: str) -> dict[str, Any]:
    return case_service().calendar(http.country_code(country)).model_dump(mode="json")


@routes.route("/calendars/{country}/overrides", methods=["PUT"])
@http.documented("CalendarLoaded", request=CalendarOverridesRequest)
@http.handles_errors
def load_calendar_overrides(country: str) -> dict[str, Any]:
    """Official holiday / working dates, loaded without a deploy; open deadlines follow."""
    body = http.command(CalendarOverridesRequest, routes.current_request.raw_body, settings.max_body_bytes)
    return case_service().load_calendar_overrides(http.country_code(country), body.working_days(),
                                                  body.actor).model_dump(mode="json")


@routes.route("/risk-phrases", methods=["GET"])
@http.documented("PhraseList")
@http.handles_errors
def get_risk_phrases() -> dict[str, Any]:
    """The escalation-risk phrases every intake is checked against."""
    return risk_phrase_service().view().model_dump(mode="json")


@routes.route("/risk-phrases", methods=["PUT"])
@http.documented("PhraseList", request=RiskPhrasesRequest, conflicts=True)
@http.handles_errors
def put_risk_phrases() -> dict[str, Any]:
    """An administrator replaces the list (Chinese and English phrases, matched case-insensitively)."""
    body = http.command(RiskPhrasesRequest, routes.current_request.raw_body, settings.max_body_bytes)
    return risk_phrase_service().replace(body).model_dump(mode="json")


@routes.route("/risk-phrases/check", methods=["POST"])
@http.documented("PhraseMatch", request=RiskPhraseTry)
@http.handles_errors
def check_risk_phrases() -> dict[str, Any]:
    """Which phrases of the current list a text would be flagged for."""
    body = http.command(RiskPhraseTry, routes.current_request.raw_body, settings.max_body_bytes)
    return risk_phrase_service().check(body.text).model_dump(mode="json")
