"""What needs no sign-in: the pages, the web form's intake and tracking, and the API's description."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.api import http, web
from chalicelib.bootstrap import case_service
from chalicelib.config import get_settings
from chalicelib.domain.commands import PublicIntakeRequest, SurveyAnswer

routes = Blueprint(__name__)
settings = get_settings()
# public filings per source address; replaced by tests that need a fresh allowance
public_filings = http.RateLimiter(settings.public_requests_per_minute)


@routes.route("/", methods=["GET"])
@http.documented("", media=("text/html",))
def intake_form() -> Response:
    """The public web form (Chinese and English): file a case, get a receipt with a tracking link."""
    return web.page("form", settings.auth_signin_url)


@routes.route("/track", methods=["GET"])
@http.documented("", media=("text/html",))
def status_page() -> Response:
    """The complainant's status page for a tracking link (the token stays in the URL fragment)."""
    return web.page("track", settings.auth_signin_url)


@routes.route("/console", methods=["GET"])
@http.documented("", media=("text/html",))
def staff_console() -> Response:
    """The staff console: open cases by deadline, case pages with their actions, statistics."""
    return web.page("console", settings.auth_signin_url)


@routes.route("/c/{target}", methods=["GET"])
@http.documented("", 302, media=("text/html",))
def short_link(target: str) -> Response:
    """The short link SMS and email carry (a Chinese SMS has 70 characters): the case's page in
    the staff console (which asks the person to sign in), or their inbox for a digest."""
    from chalicelib.domain.identifiers import is_case_id

    where = f"../console#case/{target}" if is_case_id(target) else "../console#inbox"
    return Response(body="", status_code=302, headers={"Location": where, "Cache-Control": "no-store"})


@routes.route("/assets/{name}", methods=["GET"])
@http.documented("", media=("text/css", "text/javascript"))
def page_asset(name: str) -> Response:
    return web.asset(name)


@routes.route("/public/units", methods=["GET"], cors=True)
@http.documented("UnitList")
@http.handles_errors
def public_units() -> dict[str, Any]:
    """The units a customer may address on the web form (no contacts)."""
    return {"items": [unit.public_view() for unit in case_service().units()]}


@routes.route("/public/sign-in", methods=["GET"])
@http.documented("SignIn")
@http.handles_errors
def sign_in() -> dict[str, Any]:
    """Where the console sends staff to sign in (Cognito's hosted page, code flow with PKCE)."""
    return web.sign_in(settings.auth_signin_url, settings.auth_audience)


@routes.route("/openapi.json", methods=["GET"], cors=True)
@http.documented("OpenApiDocument")
@http.handles_errors
def openapi_document() -> dict[str, Any]:
    """This API's OpenAPI 3.1 document, generated from its routes and models."""
    return http.openapi_document(routes.current_app)


@routes.route("/public/cases", methods=["POST"], cors=True)
@http.documented("Receipt", 201, PublicIntakeRequest)
@http.handles_errors
def file_public_case() -> Response:
    """The public web form (no sign-in): a receipt with the tracking token, or a clear 400."""
    request = routes.current_request
    public_filings.check(http.source_ip(request))
    body = http.parse(PublicIntakeRequest, http.json_body(request.raw_body, settings.public_max_body_bytes))
    receipt = case_service().register_public(body)
    return Response(body=receipt.model_dump(mode="json"), status_code=201, headers={"Location": receipt.status_url})


@routes.route("/public/track/{token}", methods=["GET"], cors=True)
@http.documented("PublicStatus")
@http.handles_errors
def track_case(token: str) -> dict[str, Any]:
    """A complainant's view of their case: status and deadlines, nothing staff wrote."""
    return case_service().track(token).model_dump(mode="json")


@routes.route("/public/track/{token}/rating", methods=["POST"], cors=True)
@http.documented("PublicStatus", request=SurveyAnswer, conflicts=True, rate_limited=True)
@http.handles_errors
def rate_case(token: str) -> dict[str, Any]:
    """The customer's own satisfaction rating (1–5, and a comment) on their status page, once the
    case is answered: it is recorded as theirs and closes the case; a second rating is 409."""
    request = routes.current_request
    public_filings.check(http.source_ip(request))
    answer = http.parse(SurveyAnswer, http.json_body(request.raw_body, settings.public_max_body_bytes))
    return case_service().rate(token, answer).model_dump(mode="json")

