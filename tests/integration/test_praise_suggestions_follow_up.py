"""Praise, suggestion outcomes and follow-up care (rulebook §1, §5) over the API and in the
weekly report, against moto: what a store manager and the operations manager would check."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from chalicelib.bootstrap import build_escalation_service
from chalicelib.domain import commands as cmd
from tests.conftest import JSON, complaint
from tests.integration.test_reports import Desk, desk  # noqa: F401  (the fixture)


def post(api: Any, path: str, body: dict[str, Any], **headers: str) -> Any:
    return api.post(path, headers={**JSON, **headers}, body=json.dumps(body))


def praise(**overrides: Any) -> dict[str, Any]:
    return complaint(type="praise", channel="in_store", cause=None, expectation=None,
                     five_w={"what": "Chen Jie carried my shopping to the taxi in the rain"}, **overrides)


def test_staff_register_a_praise_naming_people_of_the_directory(api: Any) -> None:
    created = post(api, "/cases", praise(praised={"staff": ["Chen Jie", "Sun Li"]}))
    assert created.status_code == 201, created.json_body
    staff = created.json_body["praise"]["staff"]
    assert [(p["name"], p["unit_id"]) for p in staff] == [("Chen Jie", "store-xh-01"), ("Sun Li", "store-xh-01")]
    assert all(p["staff_id"] for p in staff)
    unknown = post(api, "/cases", praise(praised={"staff": ["Chen Jie", "Nobody Here"]}))
    assert unknown.status_code == 400
    assert unknown.json_body["fields"] == {
        "praised.staff.1": "not an active member of staff of this unit or a unit above it"}
    empty = post(api, "/cases", praise(praised={}))
    assert empty.status_code == 400 and "praised" in empty.json_body["fields"]


def test_a_web_praise_thanks_the_customer_and_staff_link_the_praised_person_later(api: Any) -> None:
    body = {k: v for k, v in praise(praised={"description": "the young man at the bakery"}).items()
            if k != "channel"}
    receipt = api.post("/public/cases", headers={**JSON, "Authorization": ""}, body=json.dumps(body))
    assert receipt.status_code == 201, receipt.json_body
    assert receipt.json_body["next_steps"]["en"].startswith("Thank you for your praise")
    assert receipt.json_body["next_steps"]["zh"].startswith("感谢您的表扬")
    case_id = receipt.json_body["case_number"]
    case = api.get(f"/cases/{case_id}").json_body
    assert case["praise"]["description"] == "the young man at the bakery" and "record-praise" in case[
        "available_actions"]
    named = post(api, f"/cases/{case_id}/record-praise", {"staff": ["Chen Jie"], "version": case["version"]})
    assert named.status_code == 200, named.json_body
    assert [p["name"] for p in named.json_body["praise"]["staff"]] == ["Chen Jie"]
    assert named.json_body["history"][-1]["action"] == "record-praise"


def test_a_suggestion_keeps_the_leaders_decision_and_is_resolved_by_the_reply(api: Any) -> None:
    case = post(api, "/cases", complaint(type="suggestion", cause=None,
                                         five_w={"when": "today", "where": "dairy aisle", "who": "-",
                                                 "what": "please stock oat milk", "how": "by phone"})).json_body
    path = f"/cases/{case['case_id']}"
    accepted = post(api, f"{path}/accept", {"version": 1}).json_body
    promised = post(api, f"{path}/promise-reply", {"version": accepted["version"], "reply_by": "2099-01-15",
                                                   "decision": "trial oat milk in three stores",
                                                   "decided_by": "Qian Hao"})
    assert promised.status_code == 200, promised.json_body
    decision = promised.json_body["suggestion_decision"]
    assert (decision["text"], decision["decided_by"]) == ("trial oat milk in three stores", "Qian Hao")
    assert decision["decided_by_id"]
    version = promised.json_body["version"]
    assert "resolve" not in promised.json_body["available_actions"]
    refused = post(api, f"{path}/resolve", {"version": version, "result": "done"})
    assert refused.status_code == 409 and "record-suggestion-reply" in refused.json_body["message"]
    bad = post(api, f"{path}/record-suggestion-reply", {"version": version, "outcome": "maybe", "reply": "x"})
    assert bad.status_code == 400 and "outcome" in bad.json_body["fields"]
    replied = post(api, f"{path}/record-suggestion-reply", {
        "version": version, "outcome": "partly_adopted", "note": "she prefers a call after 6 pm",
        "reply": "Thank you: oat milk is on trial in three of our stores from January."})
    assert replied.status_code == 200, replied.json_body
    body = replied.json_body
    assert body["status"] == "resolved" and body["deadlines"]["reply"]["state"] == "met"
    assert body["suggestion_outcome"]["outcome"] == "partly_adopted"
    assert body["suggestion_outcome"]["decided_by"] == "Qian Hao"  # the leader named with the decision
    assert body["customer_reply"]["text"] == "Thank you: oat milk is on trial in three of our stores from January."
    assert body["history"][-1]["note"] == "she prefers a call after 6 pm"


def test_a_follow_up_is_due_a_week_after_resolution_warned_and_counted_in_the_weekly_report(
        desk: Desk) -> None:  # noqa: F811
    # Monday 2026-11-23 09:00 Shanghai: a complaint, handled and resolved the same day
    case_id = desk.register()
    desk.act(case_id, "accept")
    desk.act(case_id, "assign", handler="Chen Jie")
    desk.act(case_id, "record-finding", kind="customer_issue", detail="price label misread")
    desk.at(2)
    desk.act(case_id, "resolve", result="explained the promotion, refunded the difference")
    desk.act(case_id, "record-feedback", satisfied=True, satisfaction=4)  # closes the case
    case = desk.read(case_id)
    assert case["status"] == "closed"
    assert case["deadlines"]["follow_up"]["deadline"] == "2026-11-30T23:59:59+08:00"
    assert case["deadlines"]["follow_up"]["state"] == "running"
    assert "record-follow-up" in case["available_actions"]

    # a praise of Chen Jie the same week
    praised = desk.cases.register(cmd.IntakeRequest.model_validate(praise(praised={"staff": ["Chen Jie"]})),
                                  None, "test intake").case.case_id

    # like any clock, the follow-up is warned about before it runs out
    escalator = build_escalation_service(desk.settings, desk.ddb, desk.sns, now=desk.clock)
    desk.delivered()
    desk.clock.now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    escalator.run()
    assert [(m["attributes"]["unit"], m["attributes"]["level"]) for m in desk.delivered()
            if m["attributes"]["clock"] == "follow_up"] == [("store-xh-01", "warning")]

    done = desk.act(case_id, "record-follow-up", reached=True, satisfied=True,
                    offer="free home delivery of the next order", offer_accepted=True)
    assert done["follow_up"]["on_time"] and done["deadlines"]["follow_up"]["state"] == "met"

    weekly = desk.reports.weekly_report("branch-hz", date(2026, 11, 23))
    report = weekly.model_dump(mode="json")  # as the API answers it
    assert report["summary"]["follow_up"] == {"done": 1, "on_time": 1, "late": 0, "reached": 1, "satisfied": 1,
                                              "offers_made": 1, "offers_accepted": 1}
    assert [(p["case_id"], p["staff"], p["what"]) for p in report["praise"]] == [
        (praised, ["Chen Jie"], "Chen Jie carried my shopping to the taxi in the rain")]
    assert [(row["name"], row["count"]) for row in report["praise_by_staff"]] == [("Chen Jie", 1)]
    assert report["summary"]["praise"]["received"] == 1
    assert report["by_unit"]["store-xh-01"]["praise"] == 1
    assert list(report["by_unit"]["store-xh-01"]["praise_by_staff"].values()) == [1]
    # the statistics count praise by staff id (a name can change) and name them from the directory
    stats = desk.reports.statistics("store-xh-01", date(2026, 11, 23), date(2026, 11, 29))
    assert list(stats.staff_names.values()) == ["Chen Jie"]
    assert set(stats.staff_names) == set(stats.summary.praise.by_staff)
    from chalicelib.domain.reports import statistics_rows, weekly_message

    assert {"unit_id": "store-xh-01", "scope": "staff name", "metric": next(iter(stats.staff_names)),
            "value": "Chen Jie"} in statistics_rows(stats)

    body = weekly_message(weekly).payload["texts"]["en"]["body"]
    assert "Praise for the unit meeting:" in body and "Chen Jie: Chen Jie carried my shopping" in body
    assert "Follow-up calls: 1 made, 1 on time, 1 reached, 1 offers, 1 accepted" in body


def test_the_customer_s_tracking_page_does_not_show_the_follow_up_as_an_answer_date(api: Any) -> None:
    body = {k: v for k, v in complaint(channel="web").items() if k != "channel"}
    receipt = api.post("/public/cases", headers={**JSON, "Authorization": ""}, body=json.dumps(body)).json_body
    case_id, token = receipt["case_number"], receipt["tracking_token"]
    version = 1
    for action, fields in [("accept", {}), ("assign", {"handler": "Chen Jie"}),
                           ("record-finding", {"kind": "customer_issue", "detail": "misread label"}),
                           ("resolve", {"result": "explained the offer"})]:
        answer = post(api, f"/cases/{case_id}/{action}", {"version": version, **fields})
        assert answer.status_code == 200, answer.json_body
        version = answer.json_body["version"]
    assert "follow_up" in answer.json_body["deadlines"]  # staff see it
    tracked = api.get(f"/public/track/{token}", headers={"Authorization": ""}).json_body
    assert set(tracked["deadlines"]) == {"acceptance", "handling"}
    assert tracked["reply_by"] == answer.json_body["deadlines"]["handling"]["deadline"]
