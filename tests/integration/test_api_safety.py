"""Safe by default at the API's edge: idempotency keys belong to their caller, personal data is
neither cached nor sniffed, staff writes are rate limited per user across containers, and an
unexpected error leaves the operator a masked traceback with the request id."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest

from chalicelib.observability import logger
from tests.conftest import HOTLINE_KEY, JSON, complaint, staff_token


def signed_in(name: str, unit_id: str = "branch-hz") -> dict[str, str]:
    return {**JSON, "Authorization": f"Bearer {staff_token(name, unit_id=unit_id)}"}


def hotline_call() -> dict[str, Any]:
    return {k: v for k, v in complaint(receiver="Chen Jie").items() if k != "channel"}


# --- idempotency keys ---------------------------------------------------------------------------

def test_the_same_idempotency_key_from_two_staff_users_makes_two_cases(api: Any) -> None:
    key = {"Idempotency-Key": "call-20261122-0042"}
    mine = api.post("/cases", headers={**signed_in("Li Na"), **key}, body=json.dumps(complaint()))
    theirs = api.post("/cases", headers={**signed_in("Zhou Yu", "store-xh-02"), **key},
                      body=json.dumps(complaint(unit_id="store-xh-02")))
    assert (mine.status_code, theirs.status_code) == (201, 201), theirs.json_body
    assert mine.json_body["case_id"] != theirs.json_body["case_id"]
    assert "Idempotent-Replayed" not in theirs.headers
    # a key claimed in advance by somebody else blocks nothing either, with the very same body
    same_body = api.post("/cases", headers={**signed_in("Chen Jie"), **key}, body=json.dumps(complaint()))
    assert same_body.status_code == 201 and same_body.json_body["case_id"] != mine.json_body["case_id"]
    again = api.post("/cases", headers={**signed_in("Li Na"), **key}, body=json.dumps(complaint()))
    assert again.headers["Idempotent-Replayed"] == "true" and again.json_body["case_id"] == mine.json_body["case_id"]


def test_the_same_idempotency_key_from_two_hotline_keys_makes_two_cases(api: Any,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.config import get_settings

    monkeypatch.setenv("INTAKE_API_KEYS", f"{HOTLINE_KEY},other-hotline-key")
    get_settings.cache_clear()
    key = {"Idempotency-Key": "call-0001", "Authorization": ""}
    first = api.post("/intake/hotline", headers={**JSON, **key, "x-api-key": HOTLINE_KEY},
                     body=json.dumps(hotline_call()))
    other = api.post("/intake/hotline", headers={**JSON, **key, "x-api-key": "other-hotline-key"},
                     body=json.dumps(hotline_call()))
    staff = api.post("/cases", headers={**signed_in("Li Na"), "Idempotency-Key": "call-0001"},
                     body=json.dumps(complaint()))
    assert (first.status_code, other.status_code, staff.status_code) == (201, 201, 201)
    assert len({first.json_body["case_id"], other.json_body["case_id"], staff.json_body["case_id"]}) == 3


# --- headers ------------------------------------------------------------------------------------

def test_every_api_answer_with_personal_data_is_no_store_and_nosniff(api: Any) -> None:
    created = api.post("/cases", headers=JSON, body=json.dumps(complaint()))
    case_id = created.json_body["case_id"]
    public = api.post("/public/cases", headers={**JSON, "Authorization": ""},
                      body=json.dumps({k: v for k, v in complaint().items() if k != "channel"}))
    answers = {
        "intake": created, "case": api.get(f"/cases/{case_id}"), "list": api.get("/cases?unit_id=store-xh-01"),
        "action": api.post(f"/cases/{case_id}/accept", headers=JSON, body=json.dumps({"version": 1})),
        "receipt": public, "track": api.get(public.json_body["status_url"], headers={"Authorization": ""}),
        "refusal": api.post("/cases", headers=JSON, body=json.dumps(complaint(customer={"name": "x"}))),
        "not found": api.get("/cases/CD-AAAA-BBBB-CCCC"), "units": api.get("/units"),
        "unauthenticated": api.get("/cases?unit_id=store-xh-01", headers={"Authorization": ""}),
        "report": api.get("/reports/daily-register?unit_id=store-xh-01"),
    }
    wrong = {name: dict(r.headers) for name, r in answers.items()
             if r.headers.get("Cache-Control") != "no-store" or r.headers.get("X-Content-Type-Options") != "nosniff"}
    assert not wrong, wrong
    page = api.get("/console", headers={"Authorization": ""})
    assert page.headers["X-Content-Type-Options"] == "nosniff" and page.headers["Cache-Control"] == "no-cache"


# --- rate limit ---------------------------------------------------------------------------------

def test_staff_intake_and_actions_are_limited_per_user_with_retry_after(api: Any,
                                                                       staff_writes_per_minute: Any) -> None:
    staff_writes_per_minute(3)
    li_na = signed_in("Li Na")
    created = api.post("/cases", headers=li_na, body=json.dumps(complaint())).json_body
    api.post(f"/cases/{created['case_id']}/accept", headers=li_na, body=json.dumps({"version": 1}))
    assert api.post("/cases", headers=li_na, body=json.dumps(complaint())).status_code == 201
    for refused in (api.post("/cases", headers=li_na, body=json.dumps(complaint())),
                    api.post(f"/cases/{created['case_id']}/assign", headers=li_na,
                             body=json.dumps({"version": 2, "handler": "Chen Jie"}))):
        assert refused.status_code == 429 and refused.json_body["error"] == "too_many_requests"
        assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert api.post("/cases", headers=signed_in("Zhou Yu"), body=json.dumps(complaint())).status_code == 201
    assert api.get(f"/cases/{created['case_id']}", headers=li_na).status_code == 200  # reads are not limited


def test_the_limit_holds_across_containers_and_each_window_starts_afresh(settings: Any) -> None:
    from chalicelib.adapters.rate_limits import DynamoRateLimit
    from chalicelib.domain.errors import TooManyRequests

    now = [1_800_000_010.0]
    client = boto3.client("dynamodb")
    containers = [DynamoRateLimit(client, settings.table_name, 5, clock=lambda: now[0]) for _ in range(2)]
    for i in range(5):
        containers[i % 2].hit("user-1")
    for container in containers:
        with pytest.raises(TooManyRequests) as refused:
            container.hit("user-1")
        assert refused.value.retry_after == 51  # the window ends at ...:060
    containers[0].hit("user-2")
    item = client.get_item(TableName=settings.table_name,
                           Key={"pk": {"S": "RATE#user-1"}, "sk": {"S": "W#1800000000"}})["Item"]
    assert item["hits"]["N"] == "5" and item["expires_at"]["N"] == "1800000120"  # refused calls not counted; TTL
    now[0] += 60
    containers[1].hit("user-1")


# --- 500s ---------------------------------------------------------------------------------------

def test_a_500_logs_the_exception_type_and_a_masked_traceback_with_the_request_id(
        api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.services.cases import CaseService

    def broken(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise KeyError("stored customer phone 13800138000 unreadable")

    written = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", written)
    monkeypatch.setattr(CaseService, "get", broken)
    response = api.get("/cases/CD-AAAA-BBBB-CCCC")
    assert response.status_code == 500 and response.json_body["error"] == "internal_server"
    lines = [json.loads(line) for line in written.getvalue().splitlines()]
    error = next(line for line in lines if line["level"] == "ERROR")
    assert error["exception_name"] == "KeyError" and "in broken" in error["exception"]
    assert "******00" in error["exception"] and "13800138000" not in written.getvalue()
    assert error["request_id"] and error["path"] == "/cases/{case_id}"


def test_an_error_outside_a_route_such_as_the_token_check_is_a_logged_uniform_500(
        api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib import bootstrap

    def unreachable(header: str | None) -> Any:
        raise ConnectionError("JWKS endpoint unreachable")

    written = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", written)
    monkeypatch.setattr(bootstrap.token_verifier(), "principal", unreachable)
    response = api.get("/cases?unit_id=store-xh-01")
    assert response.status_code == 500 and response.json_body["error"] == "internal_server"
    assert response.headers["Cache-Control"] == "no-store"
    error = next(json.loads(line) for line in written.getvalue().splitlines() if '"ERROR"' in line)
    assert error["exception_name"] == "ConnectionError" and error["request_id"]
