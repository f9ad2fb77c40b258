"""Who may do what (issue 5, rulebook §4 "tiered responsibility, territorial management").

Two checks, each in one place: the role check (`ROUTE_ROLES`, applied to every request by the
API's middleware) and the territorial check (`in_territory`, applied by the services to the unit
of whatever a request touches). Pure: no tokens, no AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from chalicelib.domain.commands import ACTION_COMMANDS


class Role(StrEnum):
    AGENT = "agent"                          # works the cases of their unit
    UNIT_MANAGER = "unit-manager"            # also approves extensions, acknowledges escalations
    BRANCH_SUPERVISOR = "branch-supervisor"  # every unit below the branch; spot checks
    AUDITOR = "auditor"                      # archive retrieval and legal holds; reads elsewhere
    ADMIN = "admin"                          # organisation, staff and calendars
    REGIONAL_SPECIALIST = "regional-specialist"  # told of media and regulator cases at once (rulebook §2)


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
CASE_WORKERS = frozenset({R.AGENT, R.UNIT_MANAGER, R.BRANCH_SUPERVISOR})
MANAGERS = frozenset({R.UNIT_MANAGER, R.BRANCH_SUPERVISOR})
READERS = CASE_WORKERS | {R.AUDITOR}
AUDITORS = frozenset({R.AUDITOR})
SUPERVISORS = frozenset({R.BRANCH_SUPERVISOR})  # spot checks (rulebook §6: the branch verifies)
ADMINS = frozenset({R.ADMIN})

# Actions that need a manager: an extension is approved, an escalation acknowledged, a record
# kept longer. Every other action is case work.
_MANAGER_ACTIONS = {"mark-special", "acknowledge", "mark-important"}

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
    **{("POST", f"/cases/{{case_id}}/{action}"): MANAGERS if action in _MANAGER_ACTIONS else CASE_WORKERS
       for action in ACTION_COMMANDS},
    ("GET", "/calendars/{country}"): READERS | ADMINS,
    ("PUT", "/calendars/{country}/overrides"): ADMINS,
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


def in_territory(principal: Principal, unit_id: str, lineage: Callable[[str], list[str]]) -> bool:
    """A user acts on their own unit and every unit below it (`lineage` gives a unit and the units
    above it). A branch supervisor's unit is the branch, so that is every unit of the branch."""
    return principal.unit_id in lineage(unit_id)
