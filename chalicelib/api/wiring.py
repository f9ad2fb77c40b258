"""The HTTP side of the app: the middleware every request passes and the routes by area
(chalicelib/api/routes). Only the API's function loads it; see `app.serves_http`."""

from __future__ import annotations

import uuid

from chalice.app import Chalice

from chalicelib.api import http
from chalicelib.api.routes import admin, cases, public, reports
from chalicelib.api.routes import archive as auditors
from chalicelib.bootstrap import archive_service, signed_in
from chalicelib.config import get_settings
from chalicelib.domain.auth import API_KEY_ROUTES, PUBLIC_ROUTES, Principal
from chalicelib.observability import logger


def serve_http(app: Chalice) -> None:
    """Registers the error mapping, the log context, the sign-in check and every route."""

    def request_context(event, get_response):  # type: ignore[no-untyped-def]
        """A fresh log context per request, so one case's id never leaks into another's lines."""
        logger.thread_safe_clear_keys()
        logger.thread_safe_append_keys(path=event.path, method=event.method,
                                       request_id=event.context.get("requestId") or uuid.uuid4().hex)
        try:
            return get_response(event)
        except Exception:  # raised outside a route's own error mapping (e.g. the token check)
            return http.internal_error()

    def authenticate(event, get_response):  # type: ignore[no-untyped-def]
        """A staff token and a role the route allows (chalicelib/domain/auth.py: ROUTE_ROLES)."""
        return http.authenticated(event, get_response, signed_in, PUBLIC_ROUTES, API_KEY_ROUTES, local_api_keys(),
                                  archive_refusal)

    app.register_middleware(http.uniform_errors, "http")
    app.register_middleware(request_context, "http")
    app.register_middleware(authenticate, "http")
    for area in (public, cases, admin, auditors, reports):
        app.register_blueprint(area.routes)


def local_api_keys() -> frozenset[str]:
    """The hotline keys the local stack checks (`INTAKE_API_KEYS`); in AWS, API Gateway checks
    them and this is empty."""
    return frozenset(key for key in get_settings().intake_api_keys.split(",") if key)


def archive_refusal(route: tuple[str, str], principal: Principal, params: dict[str, str], request_id: str) -> None:
    """A refused attempt on an archive route is in the audit log like any access (rulebook §7)."""
    from chalicelib.domain.archive_records import ARCHIVE_ROUTE_ACTIONS

    if route in ARCHIVE_ROUTE_ACTIONS:
        archive_service().refused(ARCHIVE_ROUTE_ACTIONS[route], params.get("case_id", "")[:40], principal,
                                  request_id, 403)
