"""The staff directory: administration, sign-in from the directory, and people (not typed names)
as handlers, receivers, approvers, acknowledgers and escalation recipients (rulebook §4)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from tests.conftest import JSON, complaint, sample_token, staff_token


def as_person(name: str) -> dict[str, str]:
    return {**JSON, "Authorization": f"Bearer {sample_token(name)}"}


def call(api: Any, method: str, path: str, body: Any = None, who: str = "Gao Min") -> Any:
    return getattr(api, method)(path, headers=as_person(who), **({"body": json.dumps(body)} if body is not None
                                                                 else {}))


def person(name: str = "Xu Wei", unit_id: str = "store-xh-01", roles: tuple[str, ...] = ("agent",),
           **extra: Any) -> dict[str, Any]:
    return {"name": name, "unit_id": unit_id, "roles": list(roles), **extra}


def test_an_administrator_adds_a_person_whose_phone_is_read_in_the_units_country(api: Any) -> None:
    added = call(api, "post", "/staff", person(phone="13800138000", email="xu.wei@example.com"))
    assert added.status_code == 201, added.json_body
    body = added.json_body
    assert body["phone"] == "+8613800138000" and body["language"] == "zh" and body["active"] is True
    london = call(api, "post", "/staff", person("Jo Bloggs", "store-london-01", phone="07911 123456"))
    assert london.json_body["phone"] == "+447911123456"
    listed = call(api, "get", "/staff?unit_id=store-xh-01").json_body["items"]
    assert body["staff_id"] in {m["staff_id"] for m in listed}
    assert all(m["unit_id"] == "store-xh-01" for m in listed)


@pytest.mark.parametrize(("body", "field"), [
    (person(phone="12345"), "phone"),
    (person(unit_id="store-nowhere"), "unit_id"),
    (person(roles=()), "roles"),
    (person(roles=("boss",)), "roles.0"),
    ({**person(), "staff_id": "chosen"}, "staff_id"),
])
def test_a_person_who_cannot_be_stored_is_a_400_naming_the_field(api: Any, body: dict, field: str) -> None:
    answer = call(api, "post", "/staff", body)
    assert answer.status_code == 400, answer.json_body
    assert field in answer.json_body["fields"]


def test_only_an_administrator_changes_the_directory(api: Any) -> None:
    assert call(api, "post", "/staff", person(), who="Sun Li").status_code == 403
    assert call(api, "get", "/staff", who="Li Na").status_code == 200


def test_a_bulk_import_of_500_with_3_bad_rows_stores_497_and_reports_3_by_line(api: Any) -> None:
    header = "name,unit_id,roles,phone,email,language\n"
    lines = [f"Person {n},store-xh-02,agent,1380000{n:04d},p{n}@example.com,zh" for n in range(500)]
    lines[10] = "Person 10,store-nowhere,agent,,,zh"        # line 12: no such unit
    lines[200] = "Person 200,store-xh-02,agent,999,,zh"      # line 202: not a phone number
    lines[499] = "Person 499,store-xh-02,janitor,,,zh"       # line 501: no such role
    answer = call(api, "post", "/staff/import", {"csv": header + "\n".join(lines)})
    assert answer.status_code == 200, answer.json_body
    report = answer.json_body
    assert len(report["created"]) == 497
    assert sorted(bad["line"] for bad in report["refused"]) == [12, 202, 501]
    assert {next(iter(bad["fields"])) for bad in report["refused"]} == {"unit_id", "phone", "roles.0"}
    names = {m["name"] for m in call(api, "get", "/staff?unit_id=store-xh-02").json_body["items"]}
    assert {"Person 10", "Person 200", "Person 499"}.isdisjoint(names)
    assert {"Person 0", "Person 498"} <= names


def test_a_deactivated_person_cannot_sign_in_and_a_token_of_someone_unknown_is_refused(api: Any) -> None:
    sun_li = next(m for m in call(api, "get", "/staff").json_body["items"] if m["name"] == "Sun Li")
    assert call(api, "get", "/cases?unit_id=store-xh-01", who="Sun Li").status_code == 200
    assert call(api, "post", f"/staff/{sun_li['staff_id']}/deactivate", {}).json_body["active"] is False
    assert call(api, "get", "/cases?unit_id=store-xh-01", who="Sun Li").status_code == 401
    stranger = staff_token("Not Hired", ["admin"], "branch-hz", enrol=False)
    answer = api.get("/units", headers={"Authorization": f"Bearer {stranger}"})
    assert answer.status_code == 401


def test_a_unit_with_embedded_managers_is_refused_managers_are_staff(api: Any) -> None:
    unit = {"unit_id": "store-xh-09", "name": "Xihu 9", "kind": "store", "parent_id": "county-xh",
            "time_zone": "Asia/Shanghai", "calendar": "CN",
            "managers": [{"name": "Typed Name", "role": "store manager", "phone": "+8613800000009"}]}
    answer = call(api, "put", "/units/store-xh-09", unit)
    assert answer.status_code == 400 and "managers" in answer.json_body["fields"]


def _new_case(api: Any, unit_id: str = "store-xh-01", **extra: Any) -> dict[str, Any]:
    created = call(api, "post", "/cases", complaint(unit_id=unit_id, **extra), who="Zhao Min")
    assert created.status_code == 201, created.json_body
    return created.json_body


# (who, expected): Sun Li manages store-xh-01; Qian Hao its county; Zhao Min the branch; Zhou Yu a
# sibling store; Li Na is an agent of the store.
@pytest.mark.parametrize(("handler", "ok"), [
    ("Li Na", True), ("Sun Li", True), ("Qian Hao", True), ("Zhou Yu", False), ("Nobody Atall", False)])
def test_a_handler_is_active_staff_of_the_unit_or_above(api: Any, handler: str, ok: bool) -> None:
    case = _new_case(api)
    call(api, "post", f"/cases/{case['case_id']}/accept", {"version": 1}, who="Li Na")
    answer = call(api, "post", f"/cases/{case['case_id']}/assign", {"version": 2, "handler": handler}, who="Li Na")
    assert (answer.status_code == 200) is ok, answer.json_body
    if ok:
        assert answer.json_body["handler"] == handler and answer.json_body["handler_id"]
    else:
        assert answer.status_code == 400 and "handler" in answer.json_body["fields"]


def test_an_inactive_member_of_staff_is_no_handler_nor_receiver(api: Any) -> None:
    added = call(api, "post", "/staff", person("Temp Worker")).json_body
    call(api, "post", f"/staff/{added['staff_id']}/deactivate", {})
    case = _new_case(api)
    answer = call(api, "post", f"/cases/{case['case_id']}/accept", {"version": 1, "receiver": added["staff_id"]},
                  who="Li Na")
    assert answer.status_code == 400 and "receiver" in answer.json_body["fields"]
    by_id = call(api, "post", f"/cases/{case['case_id']}/accept", {"version": 1, "receiver": "Chen Jie"}, who="Li Na")
    assert by_id.status_code == 200 and by_id.json_body["receiver"] == "Chen Jie"


@pytest.mark.parametrize(("who", "status"), [
    ("Sun Li", 200), ("Qian Hao", 200), ("Zhao Min", 200),  # the unit's manager, the county's, the branch's
    ("Zhou Yu", 404),                                      # a sibling store's manager cannot see the case
    ("Li Na", 403),                                        # an agent may only request
])
def test_who_may_approve_a_special_extension(api: Any, who: str, status: int) -> None:
    case = _new_case(api)
    answer = call(api, "post", f"/cases/{case['case_id']}/mark-special", {"version": 1, "reason": "lab report"},
                  who=who)
    assert answer.status_code == status, answer.json_body
    if status == 200:
        assert answer.json_body["special"]["approver"] == who
        assert answer.json_body["history"][-1]["actor_id"] == answer.json_body["special"]["approver_id"]


def test_a_manager_acknowledges_once_and_the_escalation_names_its_recipients(api: Any, settings: Any) -> None:
    from chalicelib.bootstrap import build_escalation_service

    case = _new_case(api, received_at=(datetime.now(UTC) - timedelta(hours=25)).isoformat(), channel="letter")
    build_escalation_service(settings, boto3.client("dynamodb"), boto3.client("sns")).run()
    read = call(api, "get", f"/cases/{case['case_id']}", who="Sun Li").json_body
    [breach] = [e for e in read["escalations"] if e["level"] == "breach"]
    directory = {m["name"]: m["staff_id"] for m in call(api, "get", "/staff").json_body["items"]}
    assert breach["recipients"] == [directory["Sun Li"]]
    path = f"/cases/{case['case_id']}/acknowledge"
    body = {"version": read["version"], "clock": "acceptance", "level": "breach"}
    assert call(api, "post", path, body, who="Li Na").status_code == 403
    assert call(api, "post", path, body, who="Zhou Yu").status_code == 404
    first = call(api, "post", path, body, who="Sun Li")
    assert first.status_code == 200, first.json_body
    assert first.json_body["acknowledgements"][-1]["by_id"] == directory["Sun Li"]
    again = call(api, "post", path, {**body, "version": first.json_body["version"]}, who="Sun Li")
    assert again.status_code == 200 and len(again.json_body["history"]) == len(first.json_body["history"])


def test_the_person_who_registers_a_case_is_its_first_history_events_staff_id(api: Any) -> None:
    case = call(api, "post", "/cases", complaint(), who="Li Na").json_body
    directory = {m["name"]: m["staff_id"] for m in call(api, "get", "/staff").json_body["items"]}
    assert (case["history"][0]["actor"], case["history"][0]["actor_id"]) == ("Li Na", directory["Li Na"])
