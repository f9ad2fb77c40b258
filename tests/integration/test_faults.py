"""Storage faults: the caller gets a retryable 503, nothing is half-written, a retry with the same
Idempotency-Key makes exactly one case."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.adapters.case_repository import DynamoCaseRepository
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


class Killed(BaseException):
    """The Lambda dying mid-call (timeout, out of memory): nothing below gets to handle it."""


def test_a_crash_after_the_case_is_stored_but_before_idempotency_records_it_makes_no_second_case(
        api: Any, aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Two writes: the case's transaction, then powertools' COMPLETED record. Dying between them
    leaves the record INPROGRESS; once that expires a retry runs the intake again, and the key's
    claim in the case's own transaction turns it into a replay of the stored case."""
    import boto3
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

    def killed(*_: Any, **__: Any) -> None:
        raise Killed("the Lambda was killed after the case was stored")

    real_save_success = BasePersistenceLayer.save_success
    monkeypatch.setattr(BasePersistenceLayer, "save_success", killed)
    headers = {**JSON, "Idempotency-Key": "call-then-crash"}
    with pytest.raises(Killed):
        api.post("/cases", headers=headers, body=json.dumps(complaint()))
    monkeypatch.setattr(BasePersistenceLayer, "save_success", real_save_success)
    [stored] = api.get("/cases?unit_id=store-xh-01").json_body["items"]
    assert api.post("/cases", headers=headers, body=json.dumps(complaint())).status_code == 409  # in progress

    ddb = boto3.client("dynamodb")  # the in-progress record expires (the Lambda's time is up)
    records = ddb.query(TableName=aws["TABLE_NAME"], KeyConditionExpression="pk = :pk",
                        ExpressionAttributeValues={":pk": {"S": "IDEMPOTENCY#intake"}})["Items"]
    assert [r["status"]["S"] for r in records] == ["INPROGRESS"]
    ddb.delete_item(TableName=aws["TABLE_NAME"], Key={"pk": records[0]["pk"], "sk": records[0]["sk"]})

    retried = api.post("/cases", headers=headers, body=json.dumps(complaint()))
    assert retried.status_code == 201 and retried.headers.get("Idempotent-Replayed") == "true"
    assert retried.json_body["case_id"] == stored["case_id"]
    again = api.post("/cases", headers=headers, body=json.dumps(complaint()))
    assert again.json_body["case_id"] == stored["case_id"]
    assert [c["case_id"] for c in api.get("/cases?unit_id=store-xh-01").json_body["items"]] == [stored["case_id"]]


def test_an_update_whose_answer_is_lost_is_503_and_its_retry_is_409_not_a_second_change(
        api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applied the transaction but the answer timed out: the caller is told to retry; the
    retry's version is stale, so the change is not made twice, and the case shows it once."""
    from botocore.exceptions import ReadTimeoutError

    case = api.post("/cases", headers=JSON, body=json.dumps(complaint())).json_body
    original = DynamoCaseRepository._transact

    def applied_then_timed_out(self: DynamoCaseRepository, items: list[dict[str, Any]]) -> bool:
        original(self, items)
        raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    monkeypatch.setattr(DynamoCaseRepository, "_transact", applied_then_timed_out)
    path = f"/cases/{case['case_id']}"
    lost = api.post(f"{path}/accept", headers=JSON, body=json.dumps({"version": 1}))
    monkeypatch.setattr(DynamoCaseRepository, "_transact", original)
    assert lost.status_code == 503 and lost.headers["Retry-After"] == "1"
    retried = api.post(f"{path}/accept", headers=JSON, body=json.dumps({"version": 1}))
    assert retried.status_code == 409 and retried.json_body["error"] == "stale_version"
    read = api.get(path).json_body
    assert [e["action"] for e in read["history"]] == ["receive", "accept"] and read["version"] == 2


def test_a_taken_case_id_is_drawn_again_and_the_intake_still_makes_one_case(
        api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The case item's condition fails (its id exists): the intake draws another id."""
    from chalicelib.services import cases as case_service_module

    first = api.post("/cases", headers=JSON, body=json.dumps(complaint())).json_body
    drawn = iter([first["case_id"], "CD-AAAA-BBBB-CCCC"])
    monkeypatch.setattr(case_service_module, "new_case_id", lambda: next(drawn))
    second = api.post("/cases", headers={**JSON, "Idempotency-Key": "k-2"}, body=json.dumps(complaint()))
    assert second.status_code == 201 and second.json_body["case_id"] == "CD-AAAA-BBBB-CCCC"
    assert api.get(f"/cases/{first['case_id']}").json_body["version"] == 1  # the first case is untouched
    assert len(api.get("/cases?unit_id=store-xh-01").json_body["items"]) == 2


def test_intake_while_the_customer_key_cannot_be_read_is_503_and_the_retry_links_the_case(
        api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The customer index's key comes from Secrets Manager: while it cannot be read, an intake is
    answered 503 (a case without its link would never count as a repeat complaint); the retry is
    registered and linked to the customer's earlier case."""
    from chalicelib import bootstrap

    first = api.post("/cases", headers=JSON, body=json.dumps(complaint()))
    assert first.status_code == 201
    read_key = bootstrap.customer_key
    calls = {"n": 0}

    def unreachable_once(secret_arn: str) -> bytes:
        calls["n"] += 1
        if calls["n"] == 1:
            raise EndpointConnectionError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com")
        return read_key(secret_arn)

    unreachable_once.cache_clear = read_key.cache_clear  # type: ignore[attr-defined]  # as the fixtures expect
    monkeypatch.setattr(bootstrap, "customer_key", unreachable_once)
    bootstrap.case_service.cache_clear()  # a new container: the key is read again
    headers = {**JSON, "Idempotency-Key": "while-the-key-is-unreachable"}
    refused = api.post("/cases", headers=headers, body=json.dumps(complaint()))
    assert refused.status_code == 503 and refused.json_body["error"] == "temporarily_unavailable"
    retry = api.post("/cases", headers=headers, body=json.dumps(complaint()))
    assert retry.status_code == 201, retry.json_body
    assert [c["case_id"] for c in retry.json_body["earlier_cases"]] == [first.json_body["case_id"]]
