"""Complaint Desk API: routes only; each parses, calls one service, returns its result."""

from __future__ import annotations

from chalice import Chalice, Response

from chalicelib.api import http
from chalicelib.bootstrap import case_service
from chalicelib.config import get_settings
from chalicelib.domain.commands import ACTION_COMMANDS, IntakeRequest
from chalicelib.observability import logger, mask_logger

app = Chalice(app_name="complaint-desk")
app.register_middleware(http.uniform_errors, "http")
mask_logger(app.log)
settings = get_settings()


@app.middleware("http")
def request_context(event, get_response):  # type: ignore[no-untyped-def]
    """A fresh log context per request, so one case's id never leaks into another's lines."""
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(path=event.path, method=event.method)
    return get_response(event)


@app.route("/units", methods=["GET"])
@http.handles_errors
def list_units() -> dict:
    return {"items": case_service().units()}


@app.route("/cases", methods=["POST"])
@http.handles_errors
def register_case() -> Response:
    request = app.current_request
    intake = http.parse(IntakeRequest, http.json_body(request.raw_body, settings.max_body_bytes))
    actor = intake.receiver or f"{intake.channel.value} intake"
    case_service().bind_lambda_context(app.lambda_context)
    outcome = case_service().register(intake, http.idempotency_key(request.headers), actor)
    headers = {"Location": f"/cases/{outcome.case['case_id']}"}
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    return http.case_response(outcome.case, 201, headers)


@app.route("/cases", methods=["GET"])
@http.handles_errors
def list_cases() -> dict:
    query = app.current_request.query_params or {}
    return case_service().list(query.get("unit_id"), query.get("status"), query.get("limit"),
                               query.get("cursor"), settings.max_page_size, settings.default_page_size)


@app.route("/cases/{case_id}", methods=["GET"])
@http.handles_errors
def get_case(case_id: str) -> Response:
    return http.case_response(case_service().get(case_id))


def _action_route(action: str, command_type: type) -> None:
    @app.route(f"/cases/{{case_id}}/{action}", methods=["POST"], name=f"case_{action.replace('-', '_')}")
    @http.handles_errors
    def act(case_id: str) -> Response:
        request = app.current_request
        command = http.parse(command_type, http.json_body(request.raw_body, settings.max_body_bytes))
        return http.case_response(case_service().act(case_id, action, command,
                                                     http.if_match_version(request.headers)))


for _action, _command in ACTION_COMMANDS.items():
    _action_route(_action, _command)
