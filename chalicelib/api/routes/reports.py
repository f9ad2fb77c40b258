"""Managers' reports (statistics, the daily register, the weekly report; JSON or CSV) and the
branch's spot checks (rulebook §4, §6)."""

from __future__ import annotations

from datetime import date
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.api import http
from chalicelib.api.queries import Query
from chalicelib.bootstrap import report_service
from chalicelib.config import get_settings
from chalicelib.domain.commands import SpotCheckResult, StartSpotCheck

routes = Blueprint(__name__)
settings = get_settings()


def _report_query(*days: tuple[str, bool]) -> tuple[str, str, list[date | None]]:
    """A report's query: its format, its unit and its days (name, required), or one 400 for all."""
    query = routes.current_request.query_params
    fmt = http.report_format(query)
    asked = Query(query)
    unit_id = asked.text("unit_id", "required")
    found = [asked.day(name, required) for name, required in days]
    asked.checked("the report cannot be made as asked")
    assert unit_id
    return fmt, unit_id, found


@routes.route("/reports/statistics", methods=["GET"])
@http.documented("StatisticsReport", query=("unit_id", "from", "to", "format"), csv=True)
@http.handles_errors
def statistics_report() -> Response:
    """Classified statistics of a unit and the units below it for a date range."""
    fmt, unit_id, (start, end) = _report_query(("from", True), ("to", True))
    assert start and end
    report = report_service().statistics(unit_id, start, end, http.principal())
    from chalicelib.domain.reports import STATISTICS_COLUMNS, statistics_rows

    return http.report_response(report, fmt, statistics_rows, STATISTICS_COLUMNS,
                                f"statistics-{report.unit_id}-{report.start}-{report.end}")


@routes.route("/reports/daily-register", methods=["GET"])
@http.documented("DailyRegister", query=("unit_id", "date", "format"), csv=True)
@http.handles_errors
def daily_register() -> Response:
    """A unit's open cases, nearest deadline first, with what falls due today and tomorrow."""
    from chalicelib.domain.reports import REGISTER_COLUMNS

    fmt, unit_id, (day,) = _report_query(("date", False))
    register = report_service().daily_register(unit_id, day, http.principal())
    return http.report_response(register, fmt, lambda r: [row.model_dump(mode="json") for row in r.cases],
                                REGISTER_COLUMNS, f"daily-register-{register.unit_id}-{register.day}")


@routes.route("/reports/weekly", methods=["GET"])
@http.documented("WeeklyReport", query=("unit_id", "week_of", "format"), csv=True)
@http.handles_errors
def weekly_report() -> Response:
    """The operations manager's weekly report: complaints, handling, on-time rates, trends."""
    from chalicelib.domain.reports import WEEKLY_COLUMNS, weekly_rows

    fmt, unit_id, (week_of,) = _report_query(("week_of", False))
    report = report_service().weekly_report(unit_id, week_of, http.principal())
    return http.report_response(report, fmt, weekly_rows, WEEKLY_COLUMNS,
                                f"weekly-report-{report.unit_id}-{report.start}")


@routes.route("/spot-checks", methods=["POST"])
@http.documented("SpotCheck", 201, StartSpotCheck, conflicts=True)
@http.handles_errors
def start_spot_check() -> Response:
    """The branch samples a share of a unit's handled cases to verify (rulebook §6)."""
    body = http.command(StartSpotCheck, routes.current_request.raw_body, settings.max_body_bytes)
    check = report_service().start_spot_check(body.unit_id, body.from_date, body.to_date,
                                              body.share, body.actor, http.principal())
    return Response(body=check.model_dump(mode="json"), status_code=201,
                    headers={"Location": f"/spot-checks/{check.check_id}"})


@routes.route("/spot-checks/{check_id}", methods=["GET"])
@http.documented("SpotCheck")
@http.handles_errors
def get_spot_check(check_id: str) -> dict[str, Any]:
    return report_service().spot_check(check_id, http.principal()).model_dump(mode="json")


@routes.route("/spot-checks/{check_id}/results", methods=["POST"])
@http.documented("SpotCheck", request=SpotCheckResult)
@http.handles_errors
def record_spot_check_result(check_id: str) -> dict[str, Any]:
    """One sampled case verified; a mismatch orders rectification by a deadline (限期整改)."""
    body = http.command(SpotCheckResult, routes.current_request.raw_body, settings.max_body_bytes)
    return report_service().record_result(check_id, body.case_id, body.matches, body.note, body.actor,
                                          body.rectify_within_working_days, http.principal()).model_dump(mode="json")
