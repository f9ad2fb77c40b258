"""Units are loaded through the API without a deploy, and managers' subscriptions follow them."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.conftest import JSON


def put(api: Any, unit: dict[str, Any], unit_id: str | None = None) -> Any:
    return api.put(f"/units/{unit_id or unit['unit_id']}", headers=JSON, body=json.dumps(unit))


STORE = {"unit_id": "store-xh-09", "name": "Xihu store 9", "kind": "store", "parent_id": "county-xh",
         "time_zone": "Asia/Shanghai", "calendar": "CN",
         "managers": [{"name": "Ma Lin", "role": "store manager", "phone": "+86 138 0000 0909",
                       "email": "ma.lin@example.com"}]}


def subscriptions(aws: dict[str, str]) -> dict[str, dict[str, Any]]:
    sns = boto3.client("sns")
    subs = sns.list_subscriptions_by_topic(TopicArn=aws["ESCALATION_TOPIC_ARN"])["Subscriptions"]
    return {s["Endpoint"]: json.loads(sns.get_subscription_attributes(SubscriptionArn=s["SubscriptionArn"])
                                      ["Attributes"]["FilterPolicy"]) for s in subs}


def test_a_new_unit_is_stored_and_its_manager_subscribed_and_a_departed_manager_unsubscribed(
        api: Any, aws: dict[str, str]) -> None:
    stored = put(api, STORE)
    assert stored.status_code == 200, stored.json_body
    assert stored.json_body["unit"]["unit_id"] == "store-xh-09" and "managers" not in stored.json_body["unit"]
    assert "store-xh-09" in {u["unit_id"] for u in api.get("/units").json_body["items"]}
    subs = subscriptions(aws)
    assert subs["+8613800000909"] == subs["ma.lin@example.com"] == {"unit": ["store-xh-09"]}
    assert put(api, STORE).json_body["subscriptions_changed"] == 0  # a repeat changes nothing

    successor = {**STORE, "managers": [{"name": "Qi Yue", "role": "store manager", "email": "qi.yue@example.com"}]}
    assert put(api, successor).json_body["subscriptions_changed"] == 3  # one in, two out
    subs = subscriptions(aws)
    assert "+8613800000909" not in subs and "ma.lin@example.com" not in subs
    assert subs["qi.yue@example.com"] == {"unit": ["store-xh-09"]}


@pytest.mark.parametrize(("change", "path_id", "field"), [
    ({"parent_id": "nowhere"}, None, "parent_id"),
    ({}, "store-xh-10", "unit_id"),
    ({"time_zone": "Mars/Olympus"}, None, "time_zone"),
    ({"unit_id": "county-xh", "parent_id": "store-xh-01"}, None, "parent_id"),
])
def test_a_unit_that_does_not_fit_the_organisation_is_400(api: Any, change: dict[str, Any], path_id: str | None,
                                                          field: str) -> None:
    response = put(api, {**STORE, **change}, path_id)
    assert response.status_code == 400 and field in response.json_body["fields"], response.json_body
