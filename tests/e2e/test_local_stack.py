"""Starts the README's local stack as a person would and talks to it over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
import requests

from local.harness import RunningStack, running_stack
from tests.conftest import complaint


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    with running_stack() as running:
        yield running
    assert running.exit_code == 0, running.output()
    assert "Complaint Desk stopped." in running.output()


def test_case_round_trip_over_http_and_visible_in_emulated_dynamodb(stack: RunningStack) -> None:
    created = requests.post(f"{stack.api}/cases", json=complaint(),
                            headers={"Idempotency-Key": "e2e-1"}, timeout=10)
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]
    accepted = requests.post(f"{stack.api}/cases/{case_id}/accept", json={"actor": "Li Na"},
                             headers={"If-Match": created.headers["ETag"]}, timeout=10)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    read = requests.get(f"{stack.api}/cases/{case_id}", timeout=10).json()
    assert [e["action"] for e in read["history"]] == ["receive", "accept"]

    ddb = boto3.client("dynamodb", endpoint_url=stack.aws, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    item = ddb.get_item(TableName="complaint-desk-local",
                        Key={"pk": {"S": f"CASE#{case_id}"}, "sk": {"S": "CASE"}})["Item"]
    assert item["status"]["S"] == "accepted" and item["version"]["N"] == "2"


def test_errors_over_http_have_one_shape(stack: RunningStack) -> None:
    missing = requests.get(f"{stack.api}/cases/CD-ZZZZ-ZZZZ-ZZZZ", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"] == "case_not_found"
    invalid = requests.post(f"{stack.api}/cases", data="{oops", timeout=10,
                            headers={"Content-Type": "application/json"})
    assert invalid.status_code == 400 and "body" in invalid.json()["fields"]
    assert "13800001234" not in stack.output()
