"""Storage faults: the caller gets a retryable 503, nothing is half-written, a retry with the same
Idempotency-Key makes exactly one case."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.adapters.dynamodb import DynamoCaseRepository
from tests.conftest import JSON, complaint

THROTTLED = ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                        "TransactWriteItems")


def fail_once(monkeypatch: pytest.MonkeyPatch, method: str, error: Exception) -> None:
    original = getattr(DynamoCaseRepository, method)
    calls = {"n": 0}

    def flaky(self: DynamoCaseRepository, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise error
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoCaseRepository, method, flaky)


@pytest.mark.parametrize("error", [THROTTLED, EndpointConnectionError(endpoint_url="http://dynamodb")])
def test_intake_during_an_outage_is_503_and_the_retry_makes_exactly_one_case(
        api: Any, monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    fail_once(monkeypatch, "add", error)
    headers = {**JSON, "Idempotency-Key": "call-during-outage"}
    first = api.post("/cases", headers=headers, body=json.dumps(complaint()))
    assert first.status_code == 503
    assert first.headers["Retry-After"] == "1" and first.json_body["error"] == "temporarily_unavailable"
    assert api.get("/cases?unit_id=store-xh-01").json_body["items"] == []
    retry = api.post("/cases", headers=headers, body=json.dumps(complaint()))
    again = api.post("/cases", headers=headers, body=json.dumps(complaint()))
    assert retry.status_code == again.status_code == 201
    assert retry.json_body["case_id"] == again.json_body["case_id"]
    listed = api.get("/cases?unit_id=store-xh-01").json_body["items"]
    assert [c["case_id"] for c in listed] == [retry.json_body["case_id"]]


def test_update_during_an_outage_is_503_and_changes_nothing(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    case = api.post("/cases", headers=JSON, body=json.dumps(complaint())).json_body
    fail_once(monkeypatch, "save", THROTTLED)
    path = f"/cases/{case['case_id']}"
    failed = api.post(f"{path}/accept", headers=JSON, body=json.dumps({"actor": "a", "version": 1}))
    assert failed.status_code == 503
    unchanged = api.get(path).json_body
    assert unchanged["version"] == 1 and len(unchanged["history"]) == 1
    retried = api.post(f"{path}/accept", headers=JSON, body=json.dumps({"actor": "a", "version": 1}))
    assert retried.status_code == 200 and len(retried.json_body["history"]) == 2
