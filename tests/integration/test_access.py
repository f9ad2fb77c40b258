"""Who may do what: every route × every role × own/foreign unit, tokens that must be
refused, and fields a client may not set."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.conftest import JSON, complaint, staff_token

WORKERS = {"agent", "unit-manager", "branch-supervisor"}
MANAGERS = {"unit-manager", "branch-supervisor"}
READERS = WORKERS | {"auditor"}
AUDITORS = {"auditor"}
ADMINS = {"admin"}
ROLES = ["agent", "unit-manager", "branch-supervisor", "auditor", "admin"]
OWN, FOREIGN = "store-xh-01", "store-xh-02"  # the cases live at store-xh-01; store-xh-02 is its sibling

ACTION_BODIES = {
    "accept": {}, "assign": {"handler": "Chen Jie"},
    "forward": {"to_unit_id": "store-xh-02", "reason": "wrong store"},
    "record-finding": {"kind": "customer_issue", "detail": "misread label"},
    "resolve": {"result": "explained"}, "record-feedback": {"satisfied": True, "satisfaction": 5},
    "close": {"reason": "duplicate"}, "reopen": {"reason": "called back"},
    "mark-special": {"reason": "lab report"},
    "request-special": {"reason": "lab report"},
    "promise-reply": {"reply_by": "2099-01-01"}, "acknowledge": {"clock": "acceptance", "level": "breach"},
    "mark-important": {"reason": "press"},
}


def matrix(case_id: str, archived_id: str, day: str) -> list[tuple[str, str, Any, set[str], int, int]]:
    """(method, path, body, roles allowed, status in own unit, status from a foreign unit)."""
    archive_range = f"closed_from={day}&closed_to={day}"
    rows: list[tuple[str, str, Any, set[str], int, int]] = [
        ("GET", "/units", None, READERS | ADMINS, 200, 200),
        ("PUT", "/units/store-xh-09", {"unit_id": "store-xh-09", "name": "Store 9", "kind": "store",
                                       "parent_id": "county-xh", "time_zone": "Asia/Shanghai", "calendar": "CN"},
         ADMINS, 200, 200),
        ("POST", "/cases", complaint(unit_id=OWN), WORKERS, 201, 400),
        ("GET", f"/cases?unit_id={OWN}", None, READERS, 200, 400),
        ("GET", f"/cases/{case_id}", None, READERS, 200, 404),
        ("GET", "/calendars/CN", None, READERS | ADMINS, 200, 200),
        ("PUT", "/calendars/CN/overrides", {"dates": {"2099-02-06": "working"}}, ADMINS, 200, 200),
        ("GET", f"/archive?unit_id={OWN}&{archive_range}", None, AUDITORS, 200, 400),
        ("GET", f"/archive/{archived_id}", None, AUDITORS, 200, 404),
        ("POST", f"/archive/{archived_id}/retrieve", {"format": "html"}, AUDITORS, 200, 404),
        ("POST", f"/archive/{archived_id}/verify", {}, AUDITORS, 200, 404),
        ("PUT", f"/archive/{archived_id}/legal-hold", {"hold": False, "reason": "check"}, AUDITORS, 200, 404),
        ("GET", f"/audit-log?case_id={archived_id}", None, AUDITORS, 200, 404),
    ]
    for action, body in ACTION_BODIES.items():
        allowed = MANAGERS if action in ("mark-special", "acknowledge", "mark-important") else WORKERS
        # version 999 is stale: a request that gets past both checks ends in 409 without changing anything
        rows.append(("POST", f"/cases/{case_id}/{action}", {**body, "version": 999}, allowed, 409, 404))
    return rows


def archived_case(api: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    from chalicelib.bootstrap import build_archive_service
    from chalicelib.config import get_settings
    from tests.conftest import _clear_service_caches

    monkeypatch.setenv("ARCHIVE_SETTLE_HOURS", "0")
    _clear_service_caches()
    case = api.post("/cases", headers=JSON, body=json.dumps(complaint())).json_body
    closed = api.post(f"/cases/{case['case_id']}/close", headers=JSON,
                      body=json.dumps({"version": 1, "reason": "withdrawn"})).json_body
    assert build_archive_service(get_settings()).run().archived == 1
    return closed


def test_every_route_answers_every_role_in_its_own_and_a_foreign_unit_as_the_rules_say(
        api: Any, monkeypatch: pytest.MonkeyPatch, staff_writes_per_minute: Any) -> None:
    staff_writes_per_minute(100_000)  # one user per role sends hundreds of changes here
    case = api.post("/cases", headers=JSON, body=json.dumps(complaint())).json_body
    archived = archived_case(api, monkeypatch)
    rows = matrix(case["case_id"], archived["case_id"], archived["closed_at"][:10])
    wrong = []
    for method, path, body, allowed, own_status, foreign_status in rows:
        for role in ROLES:
            for unit, expected in ((OWN, own_status), (FOREIGN, foreign_status)):
                if role not in allowed:
                    expected = 403
                headers = {**JSON, "Authorization": f"Bearer {staff_token('Li Na', [role], unit)}"}
                got = api.request(method, path, headers=headers, body=json.dumps(body) if body is not None else b"")
                if got.status_code != expected:
                    wrong.append(f"{method} {path} as {role}@{unit}: {got.status_code}, expected {expected} "
                                 f"{got.json_body}")
    assert not wrong, "\n".join(wrong)
    assert len(rows) * len(ROLES) * 2 >= 250


def test_every_route_has_a_decision_about_who_may_call_it() -> None:
    from app import app
    from chalicelib.domain.auth import API_KEY_ROUTES, PUBLIC_ROUTES, ROUTE_ROLES

    routes = {(method, path) for path, entries in app.routes.items() for method in entries}
    assert routes == set(ROUTE_ROLES) | PUBLIC_ROUTES | API_KEY_ROUTES
    assert not (set(ROUTE_ROLES) & PUBLIC_ROUTES or set(ROUTE_ROLES) & API_KEY_ROUTES or PUBLIC_ROUTES & API_KEY_ROUTES)
    # API Gateway checks the key on exactly the API-key routes
    assert {(m, p) for p, e in app.routes.items() for m, r in e.items() if r.api_key_required} == API_KEY_ROUTES


def test_a_foreign_case_is_404_exactly_like_a_case_that_does_not_exist(api: Any) -> None:
    case = api.post("/cases", headers=JSON, body=json.dumps(complaint())).json_body
    foreign = {"Authorization": f"Bearer {staff_token('Zhou Yu', ['agent'], FOREIGN)}"}
    hidden = api.get(f"/cases/{case['case_id']}", headers=foreign)
    missing = api.get("/cases/CD-ZZZZ-ZZZZ-ZZZZ", headers=foreign)
    assert (hidden.status_code, missing.status_code) == (404, 404)
    assert hidden.json_body["error"] == missing.json_body["error"] == "case_not_found"
    listed = api.get(f"/cases?unit_id={OWN}", headers=foreign)
    unknown = api.get("/cases?unit_id=store-nowhere", headers=foreign)
    assert listed.status_code == unknown.status_code == 400
    # the branch sees every unit below it
    branch = {"Authorization": f"Bearer {staff_token('Zhao Min', ['branch-supervisor'], 'branch-hz')}"}
    assert api.get(f"/cases/{case['case_id']}", headers=branch).status_code == 200


def _forged(**claims: Any) -> str:
    return staff_token("Li Na", ["agent"], OWN, **claims)


def _tampered() -> str:
    header, payload, signature = staff_token("Li Na", ["agent"], OWN).split(".")
    import base64

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["cognito:groups"] = ["admin"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


@pytest.mark.parametrize("authorization", [
    "",
    "Basic bGk6bmE=",
    "Bearer ",
    "Bearer not-a-jwt",
    f"Bearer {_tampered()}",
    f"Bearer {_forged(exp=int(time.time()) - 3600)}",
    f"Bearer {_forged(aud='another-app')}",
    f"Bearer {_forged(iss='https://cognito-idp.us-east-1.amazonaws.com/someone-else')}",
    f"Bearer {_forged(token_use='access')}",
    f"Bearer {_forged(**{'cognito:groups': ['root']})}",
    f"Bearer {_forged(**{'custom:unit_id': None})}",
], ids=["missing", "basic", "empty", "garbage", "tampered", "expired", "wrong-audience", "wrong-issuer",
        "access-token", "unknown-role", "no-unit"])
def test_a_token_that_is_not_right_is_401_and_says_nothing_about_why(api: Any, authorization: str) -> None:
    response = api.get(f"/cases?unit_id={OWN}", headers={"Authorization": authorization} if authorization
                       else {"Authorization": ""})
    assert response.status_code == 401
    assert response.json_body == {"error": "unauthenticated", "message": "sign in: this needs a valid bearer token",
                                  "fields": {}}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_clients_cannot_set_fields_they_do_not_own(api: Any) -> None:
    owned_by_the_service = {"case_id": "CD-AAAA-BBBB-CCCC", "status": "closed", "version": 7, "history": [],
                            "deadlines": {}, "clocks": {}, "archive": None, "important": None,
                            "created_at": "2026-01-01T00:00:00Z"}
    response = api.post("/cases", headers=JSON, body=json.dumps({**complaint(), **owned_by_the_service}))
    assert response.status_code == 400
    assert set(owned_by_the_service) <= set(response.json_body["fields"])
    assert all(reason == "not a field you can set" for reason in response.json_body["fields"].values())
    case = api.post("/cases", headers=JSON, body=json.dumps(complaint())).json_body
    sneaky = api.post(f"/cases/{case['case_id']}/accept", headers=JSON,
                      body=json.dumps({"version": 1, "status": "closed", "unit_id": FOREIGN}))
    assert sneaky.status_code == 400 and set(sneaky.json_body["fields"]) == {"status", "unit_id"}
    assert api.get(f"/cases/{case['case_id']}").json_body["version"] == 1


def test_customer_names_and_phones_never_reach_the_log(api: Any, monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    import io

    from chalicelib.observability import logger

    written = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", written)
    body = complaint(customer={"name": "Ouyang Xiuying", "phone": "13912345678"})
    case = api.post("/cases", headers=JSON, body=json.dumps(body)).json_body
    api.post(f"/cases/{case['case_id']}/accept", headers=JSON, body=json.dumps({"version": 1}))
    bad = {**body, "customer": {"name": "Ouyang Xiuying", "phone": "13912345678", "age": 40}}
    assert api.post("/cases", headers=JSON, body=json.dumps(bad)).status_code == 400
    logged = written.getvalue() + caplog.text
    assert case["case_id"] in logged
    assert "Ouyang" not in logged and "13912345678" not in logged
