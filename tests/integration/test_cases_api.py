"""The case API over Chalice's test client against moto-backed DynamoDB."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import JSON, complaint, staff_token


def post(api: Any, path: str, body: Any, **headers: str) -> Any:
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return api.post(path, headers={**JSON, **headers}, body=raw)


def create(api: Any, **overrides: Any) -> dict[str, Any]:
    response = post(api, "/cases", complaint(**overrides))
    assert response.status_code == 201, response.json_body
    return response.json_body


def test_hotline_complaint_is_registered_and_read_back_with_history(api: Any) -> None:
    response = post(api, "/cases", complaint())
    assert response.status_code == 201
    body = response.json_body
    assert body["status"] == "received" and body["version"] == 1
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/cases/{body['case_id']}"
    assert body["deadlines"]["acceptance"]["state"] == "running"
    assert body["deadlines"]["acceptance"]["deadline"].endswith("+08:00")
    handling = body["deadlines"]["handling"]
    assert handling["deadline"].endswith("T23:59:59+08:00") and handling["state"] == "running"
    assert handling["provisional"] is (datetime.now(UTC).year > 2026)
    read = api.get(f"/cases/{body['case_id']}")
    assert read.status_code == 200
    assert read.json_body == body  # the 201 body is exactly what is stored
    assert read.json_body["five_w"]["what"] == "charged twice for one carton of milk"
    assert [e["action"] for e in read.json_body["history"]] == ["receive"]


def test_full_complaint_lifecycle_keeps_every_step_in_history(api: Any) -> None:
    case = create(api)
    path = f"/cases/{case['case_id']}"
    steps = [
        ("accept", {"actor": "Li Na"}),
        ("assign", {"actor": "Sun Li", "handler": "Chen Jie"}),
        ("record-finding", {"actor": "Chen Jie", "kind": "ordinary_mistake",
                            "detail": "item scanned twice", "corrective_plan": "retrain cashier"}),
        ("resolve", {"actor": "Chen Jie", "result": "refunded 12.50", "remedies": ["compensation", "apology"]}),
        ("record-feedback", {"actor": "Li Na", "satisfied": True, "satisfaction": 5}),
    ]
    version = case["version"]
    for action, body in steps:
        response = post(api, f"{path}/{action}", {**body, "version": version})
        assert response.status_code == 200, (action, response.json_body)
        version = response.json_body["version"]
    final = api.get(path).json_body
    assert final["status"] == "closed" and final["version"] == 6
    assert final["deadlines"]["acceptance"]["state"] == "met"
    assert final["finding"]["corrective_plan"] == "retrain cashier"
    assert [e["action"] for e in final["history"]] == ["receive"] + [a for a, _ in steps]
    assert [e["to_status"] for e in final["history"]] == [
        "received", "accepted", "assigned", "investigating", "resolved", "closed"]
    assert final["history"][2]["changes"]["handler"] == {"before": None, "after": "Chen Jie"}


def test_illegal_transition_is_409_with_the_reason(api: Any) -> None:
    case = create(api)
    response = post(api, f"/cases/{case['case_id']}/resolve", {"actor": "x", "result": "r", "version": 1})
    assert response.status_code == 409
    assert response.json_body["error"] == "illegal_transition"
    assert "received" in response.json_body["message"]
    assert api.get(f"/cases/{case['case_id']}").json_body["version"] == 1


def test_stale_version_is_409_and_changes_nothing(api: Any) -> None:
    case = create(api)
    path = f"/cases/{case['case_id']}"
    assert post(api, f"{path}/accept", {"actor": "a", "version": 1}).status_code == 200
    stale = post(api, f"{path}/close", {"actor": "b", "reason": "dup", "version": 1})
    assert stale.status_code == 409 and stale.json_body["error"] == "stale_version"
    assert api.get(path).json_body["status"] == "accepted"


def test_missing_version_is_428(api: Any) -> None:
    case = create(api)
    response = post(api, f"/cases/{case['case_id']}/accept", {"actor": "a"})
    assert response.status_code == 428
    assert response.json_body["error"] == "version_required"


def test_if_match_header_carries_the_version(api: Any) -> None:
    case = create(api)
    ok = post(api, f"/cases/{case['case_id']}/accept", {"actor": "a"}, **{"If-Match": '"1"'})
    assert ok.status_code == 200 and ok.headers["ETag"] == '"2"'
    stale = post(api, f"/cases/{case['case_id']}/close", {"actor": "a", "reason": "r"},
                 **{"If-Match": '"1"'})
    assert stale.status_code == 409


def test_if_match_and_body_version_that_disagree_are_400(api: Any) -> None:
    case = create(api)
    response = post(api, f"/cases/{case['case_id']}/accept", {"actor": "a", "version": 2},
                    **{"If-Match": '"1"'})
    assert response.status_code == 400 and "version" in response.json_body["fields"]


def test_same_idempotency_key_returns_the_same_case_and_stores_one(api: Any) -> None:
    first = post(api, "/cases", complaint(), **{"Idempotency-Key": "hotline-call-7781"})
    again = post(api, "/cases", complaint(), **{"Idempotency-Key": "hotline-call-7781"})
    assert first.status_code == again.status_code == 201
    assert first.json_body["case_id"] == again.json_body["case_id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    listed = api.get("/cases?unit_id=store-xh-01").json_body["items"]
    assert [c["case_id"] for c in listed] == [first.json_body["case_id"]]


def test_replay_returns_the_case_as_it_is_now(api: Any) -> None:
    first = post(api, "/cases", complaint(), **{"Idempotency-Key": "k-now"}).json_body
    post(api, f"/cases/{first['case_id']}/accept", {"actor": "a", "version": 1})
    again = post(api, "/cases", complaint(), **{"Idempotency-Key": "k-now"}).json_body
    assert again["case_id"] == first["case_id"] and again["status"] == "accepted"


def test_idempotency_key_reused_with_another_body_is_422(api: Any) -> None:
    post(api, "/cases", complaint(), **{"Idempotency-Key": "k-1"})
    other = post(api, "/cases", complaint(expectation="something else"), **{"Idempotency-Key": "k-1"})
    assert other.status_code == 422 and other.json_body["error"] == "idempotency_key_reused"


def test_different_keys_make_different_cases(api: Any) -> None:
    a = post(api, "/cases", complaint(), **{"Idempotency-Key": "k-a"}).json_body
    b = post(api, "/cases", complaint(), **{"Idempotency-Key": "k-b"}).json_body
    assert a["case_id"] != b["case_id"]


@pytest.mark.parametrize(("body", "field", "reason"), [
    (complaint(type="grumble"), "type", "Input should be"),
    (complaint(channel="fax"), "channel", "Input should be"),
    (complaint(customer={"name": "Wang"}), "customer.phone", "Field required"),
    (complaint(customer={"name": "Wang", "phone": "call me"}), "customer.phone", "a phone number: 6 to 25 digits"),
    (complaint(customer={"name": "Wang", "phone": "138", "email": "wang@"}), "customer.email",
     "an email address such as name@example.com"),
    (complaint(customer={"name": "Wang", "phone": "123456"}), "customer.phone", "not a valid number for CN"),
    (complaint(customer={"name": "Wang", "phone": "1380000123"}), "customer.phone", "called back on"),
    (complaint(unit_id="store-london-01", customer={"name": "Jane", "phone": "000 0000 0000"}), "customer.phone",
     "not a valid number for GB"),
    (complaint(five_w={"what": ""}), "five_w.what", "at least 1 character"),
    (complaint(five_w={"what": "x" * 4001}), "five_w.what", "at most 4000"),
    (complaint(cause={"category": "weather"}), "cause.category", "Input should be"),
    (complaint(cause=None), "cause", "a complaint needs a cause category"),
    (complaint(channel="hotline", five_w={"what": "w"}), "five_w.when", "all of the 5W"),
    (complaint(unit_id="store-nowhere"), "unit_id", "no unit 'store-nowhere'"),
    (complaint(received_at="2999-01-01T00:00:00+08:00"), "received_at", "cannot be in the future"),
    (complaint(received_at="2026-01-01T00:00:00"), "received_at", "timezone"),
    (complaint(channel="web", received_at="2026-01-01T00:00:00Z"), "received_at", "set by the service"),
    (complaint(status="closed"), "status", "not a field you can set"),
    (complaint(version=9), "version", "not a field you can set"),
    (complaint(history=[]), "history", "not a field you can set"),
])
def test_invalid_fields_are_400_naming_the_field_and_reason(api: Any, body: dict, field: str,
                                                            reason: str) -> None:
    response = post(api, "/cases", body)
    assert response.status_code == 400
    assert response.json_body["error"] == "invalid_input"
    assert reason in response.json_body["fields"][field]
    assert api.get("/cases?unit_id=store-xh-01").json_body["items"] == []


def test_a_call_back_number_is_read_in_the_units_country_unless_it_names_its_own(api: Any) -> None:
    """A Chinese mobile at a Hangzhou store, a British mobile given with its country code there too,
    and a London number without one at the London store."""
    for unit_id, phone in (("store-xh-01", "139 0000 5678"), ("store-xh-01", "+44 7911 123456"),
                           ("store-london-01", "07911 123456")):
        answer = post(api, "/cases", complaint(unit_id=unit_id, customer={"name": "Wang", "phone": phone}))
        assert answer.status_code == 201, answer.json_body
    # typed on a Chinese keyboard: full-width digits and hyphens are read as the digits they are
    typed = post(api, "/cases", complaint(customer={"name": "王芳", "phone": "１３９－０００５－５６７８"}))
    assert typed.status_code == 201 and typed.json_body["customer"]["phone"] == "139-0005-5678"


@pytest.mark.parametrize(("raw", "reason"), [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ("", "empty"),
    (b"\xff\xfe{}", "not UTF-8"),
    ("[" * 100_00 + "]" * 100_00, "nests too deeply"),
])
def test_malformed_bodies_are_400_with_a_readable_message(api: Any, raw: Any, reason: str) -> None:
    response = post(api, "/cases", raw)
    assert response.status_code == 400
    assert reason in response.json_body["message"]


def test_oversized_body_is_413(api: Any) -> None:
    response = post(api, "/cases", complaint(expectation="x" * 70_000))
    assert response.status_code == 413 and response.json_body["error"] == "payload_too_large"


def test_wrong_content_type_is_415_in_the_same_error_shape(api: Any) -> None:
    response = api.post("/cases", headers={"Content-Type": "text/plain"}, body="hello")
    assert response.status_code == 415
    assert set(response.json_body) == {"error", "message", "fields"}


@pytest.mark.parametrize("case_id", ["CD-ZZZZ-ZZZZ-ZZZZ", "nope", "..%2F..%2Fetc%2Fpasswd", "CD-" + "A" * 300])
def test_unknown_or_malformed_case_id_is_404(api: Any, case_id: str) -> None:
    assert api.get(f"/cases/{case_id}").status_code == 404
    response = post(api, f"/cases/{case_id}/accept", {"actor": "a", "version": 1})
    assert response.status_code == 404 and response.json_body["error"] == "case_not_found"


def test_action_with_unknown_field_or_somebody_elses_actor_is_400(api: Any) -> None:
    case = create(api)
    response = post(api, f"/cases/{case['case_id']}/accept", {"version": 1, "status": "closed"})
    assert response.status_code == 400 and set(response.json_body["fields"]) == {"status"}
    impostor = post(api, f"/cases/{case['case_id']}/accept", {"version": 1, "actor": "Sun Li"},
                    Authorization=f"Bearer {staff_token('Li Na')}")
    assert impostor.status_code == 400 and set(impostor.json_body["fields"]) == {"actor"}
    signed_in = post(api, f"/cases/{case['case_id']}/accept", {"version": 1},
                     Authorization=f"Bearer {staff_token('Li Na')}")
    assert signed_in.status_code == 200 and signed_in.json_body["history"][-1]["actor"] == "Li Na"


def test_forward_to_an_unknown_unit_is_400_and_to_a_known_one_moves_the_list(api: Any) -> None:
    case = create(api)
    path = f"/cases/{case['case_id']}/forward"
    bad = post(api, path, {"actor": "a", "version": 1, "to_unit_id": "store-nowhere", "reason": "r"})
    assert bad.status_code == 400 and "to_unit_id" in bad.json_body["fields"]
    ok = post(api, path, {"actor": "a", "version": 1, "to_unit_id": "store-xh-02", "reason": "r"})
    assert ok.status_code == 200
    assert api.get("/cases?unit_id=store-xh-01").json_body["items"] == []
    assert [c["case_id"] for c in api.get("/cases?unit_id=store-xh-02").json_body["items"]] == [case["case_id"]]


def test_list_pages_through_every_case_once_newest_first(api: Any) -> None:
    made = [create(api, channel="letter", received_at=f"2026-11-0{day}T09:00:00+08:00")["case_id"]
            for day in range(1, 8)]
    seen, cursor, pages = [], None, 0
    while True:
        query = "/cases?unit_id=store-xh-01&limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(query).json_body
        seen += [c["case_id"] for c in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(made))
    assert pages == 3


def test_list_filters_by_status(api: Any) -> None:
    a, b = create(api), create(api)
    post(api, f"/cases/{a['case_id']}/accept", {"actor": "x", "version": 1})
    accepted = api.get("/cases?unit_id=store-xh-01&status=accepted").json_body["items"]
    received = api.get("/cases?unit_id=store-xh-01&status=received").json_body["items"]
    assert [c["case_id"] for c in accepted] == [a["case_id"]]
    assert [c["case_id"] for c in received] == [b["case_id"]]


@pytest.mark.parametrize(("query", "field"), [
    ("", "unit_id"), ("?unit_id=store-nowhere", "unit_id"), ("?unit_id=store-xh-01&status=lost", "status"),
    ("?unit_id=store-xh-01&limit=0", "limit"), ("?unit_id=store-xh-01&limit=abc", "limit"),
    ("?unit_id=store-xh-01&limit=1000", "limit"), ("?unit_id=store-xh-01&cursor=garbage", "cursor"),
])
def test_bad_list_queries_are_400(api: Any, query: str, field: str) -> None:
    response = api.get(f"/cases{query}")
    assert response.status_code == 400 and field in response.json_body["fields"]


def test_cursor_of_one_unit_cannot_read_another(api: Any) -> None:
    for _ in range(2):
        create(api)
    cursor = api.get("/cases?unit_id=store-xh-01&limit=1").json_body["next_cursor"]
    response = api.get(f"/cases?unit_id=store-xh-02&cursor={cursor}")
    assert response.status_code == 400


def test_units_are_listed_without_manager_contacts(api: Any) -> None:
    units = api.get("/units").json_body["items"]
    store = next(u for u in units if u["unit_id"] == "store-xh-01")
    assert store == {"unit_id": "store-xh-01", "name": "西湖一号店 Xihu Store No. 1", "kind": "store",
                     "parent_id": "county-xh", "time_zone": "Asia/Shanghai", "calendar": "CN"}
    assert {u["unit_id"] for u in units} >= {"branch-hz", "county-xh", "store-london-01"}


def test_special_extension_needs_a_manager_of_the_unit_or_above(api: Any) -> None:
    """An agent requests; the signed-in manager approves (the approver is who signed in, never a
    name typed in the body); both steps are in the history."""
    from tests.conftest import sample_token

    case = create(api)
    path = f"/cases/{case['case_id']}/mark-special"
    agent = {"Authorization": f"Bearer {sample_token('Li Na')}"}
    manager = {"Authorization": f"Bearer {sample_token('Sun Li')}"}
    assert post(api, path, {"version": 1, "reason": "lab test"}, **agent).status_code == 403
    typed = post(api, path, {"version": 1, "reason": "lab test", "approver": "Qian Hao"}, **manager)
    assert typed.status_code == 400 and "approver" in typed.json_body["fields"]
    requested = post(api, f"/cases/{case['case_id']}/request-special", {"version": 1, "reason": "lab test"}, **agent)
    assert requested.status_code == 200, requested.json_body
    assert requested.json_body["special"] is None
    assert requested.json_body["deadlines"]["handling"] == case["deadlines"]["handling"]
    approved = post(api, path, {"version": 2}, **manager)
    assert approved.status_code == 200, approved.json_body
    body = approved.json_body
    assert (body["special"]["approver"], body["special"]["requested_by"], body["special"]["reason"]) == (
        "Sun Li", "Li Na", "lab test")
    assert body["special"]["approver_id"] == body["history"][-1]["actor_id"]
    assert [e["action"] for e in body["history"]][-2:] == ["request-special", "mark-special"]
    assert body["deadlines"]["handling"]["deadline"] > case["deadlines"]["handling"]["deadline"]
    assert "deadlines.handling" in body["history"][-1]["changes"]


def test_calendar_overrides_are_loaded_over_http_and_read_back(api: Any) -> None:
    body = {"actor": "admin Gao", "dates": {"2027-02-06": "working", "2027-02-11": "holiday"}}
    loaded = api.put("/calendars/cn/overrides", body=json.dumps(body), headers=JSON)
    assert loaded.status_code == 200, loaded.body
    assert loaded.json_body["overrides"] == {"2027-02-06": "working", "2027-02-11": "holiday"}
    assert api.get("/calendars/CN").json_body["overrides"]["2027-02-06"] == "working"
    # a date loaded by mistake is taken back: the library's own answer again
    undo = {"actor": "admin Gao", "dates": {"2027-02-11": "default"}}
    taken_back = api.put("/calendars/CN/overrides", body=json.dumps(undo), headers=JSON)
    assert taken_back.status_code == 200, taken_back.body
    assert taken_back.json_body["overrides"] == {"2027-02-06": "working"}


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/calendars/CN/overrides", {"actor": "a", "dates": {"2027-02-30": "holiday"}}, "dates"),
    ("/calendars/CN/overrides", {"actor": "a", "dates": {"2027-02-03": "day off"}}, "dates.2027-02-03"),
    ("/calendars/CN/overrides", {"actor": "a", "dates": {}}, "dates"),
    ("/calendars/C1/overrides", {"actor": "a", "dates": {"2027-02-03": "holiday"}}, "country"),
])
def test_bad_calendar_overrides_are_400(api: Any, path: str, body: dict, field: str) -> None:
    answer = api.put(path, body=json.dumps(body), headers=JSON)
    assert answer.status_code == 400
    assert any(name.startswith(field) for name in answer.json_body["fields"]), answer.json_body


def test_a_reply_date_is_promised_only_for_suggestions_and_shows_as_a_clock(api: Any) -> None:
    case_id = create(api, type="suggestion", cause=None,
                     five_w={**complaint()["five_w"], "what": "open a second bakery counter"})["case_id"]
    post(api, f"/cases/{case_id}/accept", {"actor": "Li Na", "version": 1})
    promised = post(api, f"/cases/{case_id}/promise-reply",
                    {"actor": "Li Na", "version": 2, "reply_by": "2099-01-31", "decision": "trial in spring"})
    assert promised.status_code == 200, promised.body
    assert promised.json_body["deadlines"]["reply"]["deadline"] == "2099-01-31T23:59:59+08:00"
    other = create(api)["case_id"]
    post(api, f"/cases/{other}/accept", {"actor": "Li Na", "version": 1})
    refused = post(api, f"/cases/{other}/promise-reply", {"actor": "Li Na", "version": 2, "reply_by": "2099-01-31"})
    assert refused.status_code == 409 and "for suggestions" in refused.json_body["message"]


def test_a_back_dated_receipt_with_its_own_offset_is_listed_in_time_order(api: Any) -> None:
    """The register's order is the instant of receipt, whatever offset the receipt was given in."""
    from datetime import timedelta, timezone

    shanghai = timezone(timedelta(hours=8))
    earlier = post(api, "/cases", complaint(received_at=(datetime.now(shanghai) - timedelta(hours=1)).isoformat()))
    later = post(api, "/cases", complaint())
    listed = [c["case_id"] for c in api.get("/cases?unit_id=store-xh-01").json_body["items"]]
    assert listed == [later.json_body["case_id"], earlier.json_body["case_id"]]
