"""Escalation-risk language and repeat complainants over the API, against moto: what a hotline
agent, a store manager, a branch supervisor and an administrator see."""

from __future__ import annotations

import json
from typing import Any

import boto3

from tests.conftest import JSON, complaint, hangzhou_today, sample_token


def as_person(name: str) -> dict[str, str]:
    return {**JSON, "Authorization": f"Bearer {sample_token(name)}"}


def register(api: Any, who: str = "Li Na", **overrides: Any) -> dict[str, Any]:
    response = api.post("/cases", headers=as_person(who), body=json.dumps(complaint(**overrides)))
    assert response.status_code == 201, response.json_body
    return response.json_body


THREAT = {"five_w": {"when": "昨天下午三点", "where": "2号收银台", "who": "收银员",
                     "what": "同一盒牛奶扫了两次,多收了12.5元", "how": "扫码两次"},
          "expectation": "今天之内退款并道歉,否则我就打12315,再找记者曝光你们。"}


def test_a_threat_on_the_hotline_flags_the_case_and_tells_owner_and_specialist_at_once(api: Any) -> None:
    case = register(api, **THREAT)
    assert case["risk"]["phrases"] == ["曝光", "记者", "12315"] and case["risk"]["cleared_at"] is None
    notices = {(e["clock"], e["level"]): e for e in case["escalations"]}
    assert set(notices) == {("risk", "notice-owner"), ("risk", "notice-specialist")}
    assert notices[("risk", "notice-owner")]["target_unit_id"] == "store-xh-01"
    read = api.get(f"/cases/{case['case_id']}", headers=as_person("Sun Li")).json_body
    assert {e["state"] for e in read["escalations"]} == {"sent"}
    assert all(e["recipients"] for e in read["escalations"])
    listed = api.get("/cases?unit_id=store-xh-01", headers=as_person("Sun Li")).json_body["items"]
    assert next(i for i in listed if i["case_id"] == case["case_id"])["risk"]["phrases"] == ["曝光", "记者", "12315"]
    assert "clear-risk-flag" in case["available_actions"]


def test_an_ordinary_complaint_is_not_flagged_and_sends_no_notice(api: Any) -> None:
    case = register(api, expectation="refund of the double charge and an apology; Sue on the till was courteous")
    assert case["risk"] is None and case["escalations"] == []
    assert "clear-risk-flag" not in case["available_actions"]


def test_the_public_web_form_is_checked_too_and_may_not_set_the_customers_value(api: Any) -> None:
    body = {"type": "complaint", "unit_id": "store-london-01",
            "customer": {"name": "Jane Doe", "phone": "07911 123456"},
            "five_w": {"what": "The kettle I bought leaked and scalded my hand."},
            "cause": {"category": "product"},
            "expectation": "A full refund, or I'll take you to court and go to the press."}
    filed = api.post("/public/cases", headers={**JSON, "Authorization": ""}, body=json.dumps(body))
    assert filed.status_code == 201, filed.json_body
    case = api.get(f"/cases/{filed.json_body['case_number']}", headers=as_person("Zhao Min")).json_body
    assert set(case["risk"]["phrases"]) == {"go to the press", "take you to court"}
    body["customer"]["value"] = "gold member"
    refused = api.post("/public/cases", headers={**JSON, "Authorization": ""}, body=json.dumps(body))
    assert refused.status_code == 400 and "customer.value" in refused.json_body["fields"]


def test_staff_clear_a_false_flag_with_a_reason_and_the_reports_count_both(api: Any) -> None:
    case = register(api, channel="in_store", five_w={"what": "新买的相机拍出来的照片全部曝光过度", "how": "门店购买"},
                    expectation="换一台")
    assert case["risk"]["phrases"] == ["曝光"]
    path = f"/cases/{case['case_id']}/clear-risk-flag"
    no_reason = api.post(path, headers={**as_person("Li Na"), "If-Match": '"1"'}, body="{}")
    assert no_reason.status_code == 400 and "reason" in no_reason.json_body["fields"]
    cleared = api.post(path, headers={**as_person("Li Na"), "If-Match": '"1"'},
                       body=json.dumps({"reason": "曝光过度 is about the camera's photos, not a threat"}))
    assert cleared.status_code == 200, cleared.json_body
    risk = cleared.json_body["risk"]
    assert risk["cleared_by"] == "Li Na" and risk["cleared_reason"].startswith("曝光过度")
    assert risk["phrases"] == ["曝光"]  # the record keeps what was found
    assert cleared.json_body["history"][-1]["action"] == "clear-risk-flag"
    again = api.post(path, headers={**as_person("Li Na"), "If-Match": '"2"'}, body=json.dumps({"reason": "again"}))
    assert again.status_code == 409
    day = hangzhou_today().isoformat()  # the store counts by its own day
    stats = api.get(f"/reports/statistics?unit_id=store-xh-01&from={day}&to={day}", headers=as_person("Sun Li"))
    assert stats.json_body["summary"]["risk_language"] == {"flagged": 1, "cleared": 1}


def test_an_administrator_keeps_the_phrase_list_and_intake_follows_it(api: Any) -> None:
    admin = as_person("Gao Min")
    shown = api.get("/risk-phrases", headers=admin).json_body
    assert shown["source"] == "defaults" and "12315" in shown["phrases"] and "曝光" in shown["phrases"]
    assert shown["version"] == 0
    stored = api.put("/risk-phrases", headers=admin,
                     body=json.dumps({"phrases": ["投诉到总部", "12345热线", "BBC"], "version": 0}))
    assert stored.status_code == 200 and stored.json_body["source"] == "stored"
    assert (stored.json_body["updated_by"], stored.json_body["version"]) == ("Gao Min", 1)
    tried = api.post("/risk-phrases/check", headers=admin, body=json.dumps({"text": "我要打１２３４５热线"}))
    assert tried.json_body == {"matched": ["12345热线"]}
    assert register(api, expectation="不退款我就投诉到总部")["risk"]["phrases"] == ["投诉到总部"]
    assert register(api, expectation="否则找记者曝光")["risk"] is None  # no longer on the list
    twice = api.put("/risk-phrases", headers=admin, body=json.dumps({"phrases": ["BBC", "bbc"], "version": 1}))
    assert twice.status_code == 400 and "phrases" in twice.json_body["fields"]
    too_long = api.put("/risk-phrases", headers=admin, body=json.dumps({"phrases": ["x" * 101], "version": 1}))
    assert too_long.status_code == 400 and any(f.startswith("phrases") for f in too_long.json_body["fields"])
    refused = api.put("/risk-phrases", headers=as_person("Sun Li"), body=json.dumps({"phrases": [], "version": 1}))
    assert refused.status_code == 403


def test_two_administrators_changing_the_phrase_list_at_once_cannot_undo_each_other(api: Any) -> None:
    """Both read the list and add a phrase: the second change is refused (409), not stored over the
    first; read again, it keeps both. Without a version the change is refused as incomplete."""
    admin = as_person("Gao Min")
    first_read = api.get("/risk-phrases", headers=admin).json_body
    second_read = api.get("/risk-phrases", headers=admin).json_body
    added = api.put("/risk-phrases", headers=admin, body=json.dumps(
        {"phrases": [*first_read["phrases"], "微博"], "version": first_read["version"]}))
    assert added.status_code == 200 and added.json_body["version"] == 1
    lost = api.put("/risk-phrases", headers=admin, body=json.dumps(
        {"phrases": [*second_read["phrases"], "抖音"], "version": second_read["version"]}))
    assert lost.status_code == 409 and lost.json_body["error"] == "stale_version"
    again = api.get("/risk-phrases", headers=admin).json_body
    both = api.put("/risk-phrases", headers=admin, body=json.dumps(
        {"phrases": [*again["phrases"], "抖音"], "version": again["version"]}))
    assert both.status_code == 200 and {"微博", "抖音"} <= set(both.json_body["phrases"])
    assert both.json_body["version"] == 2
    unversioned = api.put("/risk-phrases", headers=admin, body=json.dumps({"phrases": ["BBC"]}))
    assert unversioned.status_code == 400 and "version" in unversioned.json_body["fields"]


def test_a_phrase_list_stored_before_lists_had_versions_reads_as_version_1(api: Any, aws: dict[str, str]) -> None:
    admin = as_person("Gao Min")
    boto3.client("dynamodb").put_item(TableName=aws["TABLE_NAME"], Item={  # as an older release stored it
        "pk": {"S": "CONFIG#RISK-PHRASES"}, "sk": {"S": "CURRENT"}, "entity": {"S": "risk-phrases"},
        "phrases": {"L": [{"S": "曝光"}]}, "updated_by": {"S": "Gao Min"},
        "updated_at": {"S": "2026-11-01T08:00:00+00:00"}})
    from chalicelib import bootstrap

    bootstrap.risk_phrase_service.cache_clear()  # its minute's cache
    assert api.get("/risk-phrases", headers=admin).json_body["version"] == 1
    stale = api.put("/risk-phrases", headers=admin, body=json.dumps({"phrases": ["BBC"], "version": 2}))
    assert stale.status_code == 409
    stored = api.put("/risk-phrases", headers=admin, body=json.dumps({"phrases": ["曝光", "BBC"], "version": 1}))
    assert stored.status_code == 200 and stored.json_body["version"] == 2


def test_a_customers_earlier_cases_are_shown_within_the_readers_territory(api: Any, aws: dict[str, str]) -> None:
    first = register(api, customer={"name": "Wang Fang", "phone": "138 0000 1234", "value": "金卡会员 gold member"})
    elsewhere = register(api, who="Liu Yang", unit_id="store-xh-02",
                         customer={"name": "Wang Fang", "phone": "+86 138-0000-1234"})
    other_customer = register(api, customer={"name": "Li Lei", "phone": "13900005678"})
    latest = register(api, who="Li Na", type="inquiry", customer={"name": "王芳", "phone": "13800001234"})

    seen_by_agent = api.get(f"/cases/{latest['case_id']}", headers=as_person("Li Na")).json_body
    assert [e["case_id"] for e in seen_by_agent["earlier_cases"]] == [first["case_id"]]
    entry = seen_by_agent["earlier_cases"][0]
    assert entry["type"] == "complaint" and entry["status"] == "received"
    assert entry["received_at"][:19] == first["received_at"][:19]
    seen_by_branch = api.get(f"/cases/{latest['case_id']}", headers=as_person("Zhao Min")).json_body
    assert [e["case_id"] for e in seen_by_branch["earlier_cases"]] == [elsewhere["case_id"], first["case_id"]]
    assert other_customer["case_id"] not in {e["case_id"] for e in seen_by_branch["earlier_cases"]}
    assert api.get(f"/cases/{first['case_id']}", headers=as_person("Zhao Min")).json_body["earlier_cases"] == []
    assert first["customer"]["value"] == "金卡会员 gold member"

    items = boto3.client("dynamodb").scan(TableName=aws["TABLE_NAME"])["Items"]
    index = [item for item in items if item["pk"]["S"].startswith("CUSTOMER#")]
    assert len(index) == 4 and len({item["pk"]["S"] for item in index}) == 2
    assert not any(digits in json.dumps(index) for digits in ("13800001234", "0000 1234", "0000-1234", "Wang"))
