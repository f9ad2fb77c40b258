"""Case work: intake by staff and hotline systems, reading and listing cases, every lifecycle
action (one route per declared action), and the signed-in person's inbox."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.api import http
from chalicelib.api.queries import Query
from chalicelib.bootstrap import case_service, staff_writes
from chalicelib.config import get_settings
from chalicelib.domain.commands import ActionCommand, HotlineIntakeRequest, IntakeRequest
from chalicelib.domain.lifecycle import ACTIONS
from chalicelib.domain.models import Status

routes = Blueprint(__name__)
settings = get_settings()


@routes.route("/cases", methods=["POST"])
@http.documented("CaseView", 201, IntakeRequest, headers=("Idempotency-Key",), rate_limited=True)
@http.handles_errors
def register_case() -> Response:
    request = routes.current_request
    intake = http.parse(IntakeRequest, http.json_body(request.raw_body, settings.max_body_bytes))
    user = http.principal()
    staff_writes().hit(user.subject)
    case_service().bind_lambda_context(routes.lambda_context)
    outcome = case_service().register(intake, http.idempotency_key(request.headers, http.staff_caller(user)), user)
    return http.registered(outcome.case, outcome.replayed)


@routes.route("/intake/hotline", methods=["POST"], api_key_required=True)
@http.documented("CaseView", 201, HotlineIntakeRequest, headers=("Idempotency-Key",))
@http.handles_errors
def hotline_intake() -> Response:
    """A hotline system registers a call (API key, throttled by its usage plan); Idempotency-Key
    makes its retries safe."""
    request = routes.current_request
    call = http.parse(HotlineIntakeRequest, http.json_body(request.raw_body, settings.max_body_bytes))
    case_service().bind_lambda_context(routes.lambda_context)
    key = http.idempotency_key(request.headers, http.api_key_caller(request))
    outcome = case_service().register(call.as_intake(), key, "hotline system")
    return http.registered(outcome.case, outcome.replayed)


@routes.route("/cases", methods=["GET"])
@http.documented("CaseList", query=("unit_id", "status", "limit", "cursor"))
@http.handles_errors
def list_cases() -> dict[str, Any]:
    asked = Query(routes.current_request.query_params)
    unit_id = asked.text("unit_id", "required: cases are listed per unit")
    status = asked.choice("status", Status)
    size = asked.page_size(settings.default_page_size, settings.max_page_size)
    asked.checked("the list cannot be read as asked")
    assert unit_id
    page = case_service().of_unit(unit_id, status, size, asked.text("cursor"), http.principal())
    return {"items": [case.model_dump(mode="json") for case in page.items], "next_cursor": page.next_cursor}


@routes.route("/cases/{case_id}", methods=["GET"])
@http.documented("CaseView")
@http.handles_errors
def get_case(case_id: str) -> Response:
    return http.case_response(case_service().get(case_id, http.principal()))


def _action_route(action: str, command_type: type[ActionCommand]) -> None:
    @routes.route(f"/cases/{{case_id}}/{action}", methods=["POST"], name=f"case_{action.replace('-', '_')}")
    @http.documented("CaseView", request=command_type, headers=("If-Match",), rate_limited=True)
    @http.handles_errors
    def act(case_id: str) -> Response:
        request = routes.current_request
        command = http.command(command_type, request.raw_body, settings.max_body_bytes)
        staff_writes().hit(http.principal().subject)
        return http.case_response(case_service().act(case_id, action, command,
                                                     http.if_match_version(request.headers), http.principal()))


for _name, _action in ACTIONS.items():
    _action_route(_name, _action.command)


@routes.route("/inbox", methods=["GET"])
@http.documented("Inbox")
@http.handles_errors
def my_inbox() -> dict[str, Any]:
    """The signed-in person's escalations, newest first, as their SMS and email carried them."""
    from chalicelib.bootstrap import notifier_service

    return {"items": [m.model_dump(mode="json") for m in notifier_service().inbox(http.principal().subject)]}
