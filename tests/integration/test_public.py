"""The public web form and the complainant's tracking token: no sign-in, but limited in
size and rate, and the token shows status and deadlines only."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import JSON, complaint

ANONYMOUS = {**JSON, "Authorization": ""}


def web_complaint(**overrides: Any) -> dict[str, Any]:
    body = complaint(**overrides)
    for staff_only in ("channel",):
        body.pop(staff_only)
    return body


def file(api: Any, body: dict[str, Any]) -> Any:
    return api.post("/public/cases", headers=ANONYMOUS, body=json.dumps(body))


def test_a_complainant_files_without_signing_in_and_tracks_the_case_with_the_token(api: Any) -> None:
    filed = file(api, web_complaint())
    assert filed.status_code == 201, filed.json_body
    receipt = filed.json_body
    assert receipt["case_number"].startswith("CD-") and receipt["status"] == "received"
    assert len(receipt["tracking_token"]) >= 32 and filed.headers["Location"] == receipt["status_url"]
    assert receipt["reply_by"] == receipt["deadlines"]["handling"]["deadline"]  # the 3rd working day
    assert "3" in receipt["next_steps"]["en"] and "工作日" in receipt["next_steps"]["zh"]

    staff_view = api.get(f"/cases/{receipt['case_number']}").json_body
    assert staff_view["channel"] == "web" and staff_view["history"][0]["actor"] == "web form"
    api.post(f"/cases/{receipt['case_number']}/accept", headers=JSON, body=json.dumps({"version": 1}))

    tracked = api.get(receipt["status_url"], headers={"Authorization": ""})
    assert tracked.status_code == 200
    assert tracked.json_body["status"] == "accepted" and tracked.json_body["deadlines"]["acceptance"]["state"] == "met"
    assert not {"customer", "five_w", "history", "handler", "finding", "escalations"} & set(tracked.json_body)
    assert receipt["tracking_token"] not in json.dumps(staff_view)  # stored only as a hash


@pytest.mark.parametrize("token", ["x" * 32, "short", "a" * 200])
def test_an_unknown_token_finds_nothing(api: Any, token: str) -> None:
    response = api.get(f"/public/track/{token}", headers={"Authorization": ""})
    assert response.status_code == 404


@pytest.mark.parametrize(("field", "value"), [("channel", "hotline"), ("received_at", "2026-01-01T00:00:00Z"),
                                              ("receiver", "Li Na"), ("status", "closed")])
def test_the_form_cannot_set_what_staff_set(api: Any, field: str, value: str) -> None:
    response = file(api, {**web_complaint(), field: value})
    assert response.status_code == 400 and response.json_body["fields"][field] == "not a field you can set"


def test_the_form_is_size_limited_and_rate_limited(api: Any) -> None:
    huge = file(api, web_complaint(expectation="x" * 17_000))
    assert huge.status_code == 413
    statuses = [file(api, web_complaint()).status_code for _ in range(10)]
    assert statuses.count(201) == 9  # the oversized request counted too: 10 a minute from one address
    limited = file(api, web_complaint())
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "60"
    assert limited.json_body["error"] == "too_many_requests"


def test_validation_errors_of_the_form_name_the_field(api: Any) -> None:
    response = file(api, {**web_complaint(), "customer": {"name": "Wang Fang", "phone": "call me"}})
    assert response.status_code == 400 and "customer.phone" in response.json_body["fields"]


def hotline_call(**overrides: Any) -> dict[str, Any]:
    return {**web_complaint(), "receiver": "Chen Jie", **overrides}


def test_a_hotline_system_registers_calls_with_its_api_key_and_retries_safely(api: Any) -> None:
    from tests.conftest import HOTLINE_KEY

    keyed = {**ANONYMOUS, "x-api-key": HOTLINE_KEY, "Idempotency-Key": "call-0001"}
    first = api.post("/intake/hotline", headers=keyed, body=json.dumps(hotline_call()))
    assert first.status_code == 201, first.json_body
    assert (first.json_body["channel"], first.json_body["receiver"]) == ("hotline", "Chen Jie")
    again = api.post("/intake/hotline", headers=keyed, body=json.dumps(hotline_call()))
    assert again.headers["Idempotent-Replayed"] == "true" and again.json_body["case_id"] == first.json_body["case_id"]
    for headers in (ANONYMOUS, {**ANONYMOUS, "x-api-key": "guessed"}):
        refused = api.post("/intake/hotline", headers=headers, body=json.dumps(hotline_call()))
        assert refused.status_code == 403
    incomplete = api.post("/intake/hotline", headers={**keyed, "Idempotency-Key": "call-0002"},
                          body=json.dumps(hotline_call(five_w={"what": "no 5W"})))
    assert incomplete.status_code == 400 and "five_w.when" in incomplete.json_body["fields"]


def test_the_short_link_in_an_sms_opens_the_case_in_the_console(api: Any) -> None:
    answer = api.get("/c/CD-ABCD-EFGH-JKLM", headers={"Authorization": ""})
    assert answer.status_code == 302 and answer.headers["Location"] == "../console#case/CD-ABCD-EFGH-JKLM"
    other = api.get("/c/inbox", headers={"Authorization": ""})
    assert other.status_code == 302 and other.headers["Location"] == "../console#inbox"
