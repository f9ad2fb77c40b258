"""Units are loaded through the API without a deploy; their managers are the staff directory's
people with a manager's role on them, and nobody is subscribed to the topic per person (the
notifier sends to each person)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.conftest import JSON


def put(api: Any, unit: dict[str, Any], unit_id: str | None = None) -> Any:
    return api.put(f"/units/{unit_id or unit['unit_id']}", headers=JSON, body=json.dumps(unit))


STORE = {"unit_id": "store-xh-09", "name": "Xihu store 9", "kind": "store", "parent_id": "county-xh",
         "time_zone": "Asia/Shanghai", "calendar": "CN"}


def test_a_new_unit_is_stored_and_its_manager_is_a_person_of_the_directory_not_a_subscription(
        api: Any, aws: dict[str, str]) -> None:
    from tests.conftest import sample_token

    stored = put(api, STORE)
    assert stored.status_code == 200, stored.json_body
    assert stored.json_body["unit"]["unit_id"] == "store-xh-09" and "managers" not in stored.json_body["unit"]
    assert "store-xh-09" in {u["unit_id"] for u in api.get("/units").json_body["items"]}
    admin = {**JSON, "Authorization": f"Bearer {sample_token('Gao Min')}"}
    manager = api.post("/staff", headers=admin, body=json.dumps(
        {"name": "Ma Lin", "unit_id": "store-xh-09", "roles": ["unit-manager"], "phone": "138 0000 0909",
         "email": "ma.lin@example.com"}))
    assert manager.status_code == 201
    assert put(api, STORE).json_body["managers"] == 1
    topic = boto3.client("sns").list_subscriptions_by_topic(TopicArn=aws["ESCALATION_TOPIC_ARN"])["Subscriptions"]
    assert not [s for s in topic if s["Protocol"] in ("sms", "email")]


@pytest.mark.parametrize(("change", "path_id", "field"), [
    ({"parent_id": "nowhere"}, None, "parent_id"),
    ({}, "store-xh-10", "unit_id"),
    ({"time_zone": "Mars/Olympus"}, None, "time_zone"),
    ({"unit_id": "county-xh", "parent_id": "store-xh-01"}, None, "parent_id"),
    ({"calendar": "GB-XYZ"}, None, "calendar"),
    ({"calendar": "ZZ"}, None, "calendar"),
    ({"calendar": "england"}, None, "calendar"),
])
def test_a_unit_that_does_not_fit_the_organisation_is_400(api: Any, change: dict[str, Any], path_id: str | None,
                                                          field: str) -> None:
    response = put(api, {**STORE, **change}, path_id)
    assert response.status_code == 400 and field in response.json_body["fields"], response.json_body


def test_a_store_in_england_is_stored_with_englands_calendar(api: Any) -> None:
    london = {**STORE, "unit_id": "store-ldn-02", "time_zone": "Europe/London", "calendar": "GB-ENG"}
    assert put(api, london).status_code == 200
    stored = {u["unit_id"]: u for u in api.get("/units").json_body["items"]}
    assert stored["store-ldn-02"]["calendar"] == "GB-ENG"
    assert stored["store-london-01"]["calendar"] == "GB-ENG"


def test_moving_the_london_store_to_englands_calendar_recounts_its_open_deadlines(settings: Any) -> None:
    """A complaint received on Maundy Thursday 2026 under the UK-wide list is due Wednesday; once
    the store follows England's bank holidays (Easter Monday off) it is due Thursday, and the
    case's history says why."""
    from datetime import UTC, datetime

    from chalicelib.bootstrap import build_case_service, staffed_units
    from chalicelib.domain.commands import IntakeRequest
    from chalicelib.domain.models import Unit
    from chalicelib.services.organisation import OrganisationService
    from tests.conftest import complaint

    ddb, sns = boto3.client("dynamodb"), boto3.client("sns")
    units = staffed_units(settings, ddb)
    cases = build_case_service(settings, ddb, sns, now=lambda: datetime(2026, 4, 2, 10, 0, tzinfo=UTC), units=units)
    organisation = OrganisationService(units, recount=cases.recount_unit_deadlines)
    london = {"unit_id": "store-london-01", "name": "London Flagship", "kind": "store", "parent_id": "branch-hz",
              "time_zone": "Europe/London"}
    organisation.put_unit("store-london-01", Unit.model_validate({**london, "calendar": "GB"}), "Gao Min")
    case = cases.register(IntakeRequest.model_validate(complaint(
        unit_id="store-london-01", customer={"name": "Jane Doe", "phone": "07911 123456"})), None, "Sam Patel").case
    assert case.deadlines["handling"].deadline.isoformat() == "2026-04-08T23:59:59+01:00"

    changed = organisation.put_unit("store-london-01", Unit.model_validate({**london, "calendar": "GB-ENG"}),
                                    "Gao Min")
    assert [(m.case_id, m.clock) for m in changed.moved] == [(case.case_id, "handling")]
    after = cases.get(case.case_id)
    assert after.deadlines["handling"].deadline.isoformat() == "2026-04-09T23:59:59+01:00"
    assert (after.history[-1].action, after.history[-1].actor) == ("recompute-deadlines", "Gao Min")
    assert "GB-ENG" in (after.history[-1].note or "")
    again = organisation.put_unit("store-london-01", Unit.model_validate({**london, "calendar": "GB-ENG"}), "Gao Min")
    assert again.moved == []
