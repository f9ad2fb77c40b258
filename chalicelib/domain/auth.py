"""Who may do what (rulebook §4 "tiered responsibility, territorial management").

Two checks, each in one place: the role check (`ROUTE_ROLES`, applied to every request by the
API's middleware) and the territorial check (`in_territory`, applied by the services to the unit
of whatever a request touches). Pure: no tokens, no AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.domain.lifecycle import ACTIONS
from chalicelib.domain.roles import (
    ADMINS,
    AUDITORS,
    CASE_WORKERS,
    MANAGERS,
    READERS,
    SUPERVISORS,
    Role,
)

__all__ = [
    "ADMINS",
    "AUDITORS",
    "CASE_WORKERS",
    "MANAGERS",
    "READERS",
    "SUPERVISORS",
    "Principal",
    "Role",
    "Unauthenticated",
    "in_territory",
    "may_act",
    "may_call",
]


@dataclass(frozen=True)
class Principal:
    """The signed-in user: from a verified token, never from the request body."""

    subject: str
    name: str
    unit_id: str
    roles: frozenset[Role]


class Unauthenticated(Exception):
    """No valid token. Deliberately without detail: the response says only that a token is needed."""


R = Role

# (method, route) → the roles that may call it. Every route of the app is here or in PUBLIC_ROUTES
# (a test holds the app to that), so a new route cannot be added without deciding who may use it.
ROUTE_ROLES: dict[tuple[str, str], frozenset[Role]] = {
    ("GET", "/units"): READERS | ADMINS,
    ("PUT", "/units/{unit_id}"): ADMINS,
    ("GET", "/inbox"): CASE_WORKERS | {R.REGIONAL_SPECIALIST},
    ("GET", "/staff"): CASE_WORKERS | ADMINS,
    ("POST", "/staff"): ADMINS,
    ("POST", "/staff/import"): ADMINS,
    ("GET", "/staff/{staff_id}"): CASE_WORKERS | ADMINS,
    ("PUT", "/staff/{staff_id}"): ADMINS,
    ("POST", "/staff/{staff_id}/deactivate"): ADMINS,
    ("POST", "/cases"): CASE_WORKERS,
    ("GET", "/cases"): READERS,
    ("GET", "/cases/{case_id}"): READERS,
    # each case action's route, with the roles its declaration names (chalicelib/domain/lifecycle.py)
    **{("POST", f"/cases/{{case_id}}/{name}"): action.roles for name, action in ACTIONS.items()},
    ("GET", "/calendars/{country}"): READERS | ADMINS,
    ("PUT", "/calendars/{country}/overrides"): ADMINS,
    ("GET", "/risk-phrases"): READERS | ADMINS,
    ("PUT", "/risk-phrases"): ADMINS,
    ("POST", "/risk-phrases/check"): ADMINS,
    ("GET", "/archive"): AUDITORS,
    ("GET", "/archive/{case_id}"): AUDITORS,
    ("POST", "/archive/{case_id}/retrieve"): AUDITORS,
    ("POST", "/archive/{case_id}/verify"): AUDITORS,
    ("PUT", "/archive/{case_id}/legal-hold"): AUDITORS,
    ("GET", "/audit-log"): AUDITORS,
    ("GET", "/audit-log/chain"): AUDITORS,
    ("GET", "/reports/statistics"): MANAGERS | AUDITORS,
    ("GET", "/reports/daily-register"): MANAGERS | AUDITORS,
    ("GET", "/reports/weekly"): MANAGERS | AUDITORS,
    ("POST", "/spot-checks"): SUPERVISORS,
    ("GET", "/spot-checks/{check_id}"): MANAGERS | AUDITORS,
    ("POST", "/spot-checks/{check_id}/results"): SUPERVISORS,
}
# Routes for machines with an API key (hotline systems): API Gateway checks the key and throttles
# the key's usage plan (infra/resources.yaml); the local stack checks INTAKE_API_KEYS itself.
API_KEY_ROUTES: frozenset[tuple[str, str]] = frozenset({("POST", "/intake/hotline")})
# The complainant's own routes (the web form, its units, the status page of a tracking token),
# the pages and the API's description.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset({
    ("POST", "/public/cases"), ("GET", "/public/track/{token}"), ("GET", "/public/units"), ("GET", "/public/sign-in"),
    ("GET", "/openapi.json"),
    # the customer's satisfaction rating on their status page
    ("POST", "/public/track/{token}/rating"),
    # the pages (the console's data needs a token; the page itself holds none)
    ("GET", "/"), ("GET", "/track"), ("GET", "/console"), ("GET", "/assets/{name}"), ("GET", "/c/{target}")})


def may_call(principal: Principal, method: str, route: str) -> bool:
    return bool(principal.roles & ROUTE_ROLES.get((method, route), frozenset()))


def may_act(principal: Principal, action: str) -> bool:
    """May the user take this case action (by its declaration, not by its URL)?"""
    return bool(principal.roles & ACTIONS[action].roles)


def in_territory(principal: Principal, unit_id: str, lineage: Callable[[str], list[str]]) -> bool:
    """A user acts on their own unit and every unit below it (`lineage` gives a unit and the units
    above it). A branch supervisor's unit is the branch, so that is every unit of the branch."""
    return principal.unit_id in lineage(unit_id)
