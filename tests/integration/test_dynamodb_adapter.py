"""The DynamoDB adapter's guarantees, proved at the conditional write itself."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from chalicelib.adapters.case_repository import DynamoCaseRepository
from chalicelib.domain import commands as cmd
from chalicelib.domain import lifecycle
from chalicelib.domain.calendar import UnitClock, WorkingCalendar
from chalicelib.domain.errors import CaseIdTaken, CaseNotFound, StaleVersion
from tests.conftest import complaint, served_dynamodb

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def repo(aws: dict[str, str]) -> DynamoCaseRepository:
    return DynamoCaseRepository(boto3.client("dynamodb"), aws["TABLE_NAME"])


def registered(repo: DynamoCaseRepository, case_id: str = "CD-AAAA-BBBB-CCCC") -> Any:
    case, event = lifecycle.register(case_id, cmd.IntakeRequest.model_validate(complaint()), NOW, "t",
                                     UnitClock("Asia/Shanghai", WorkingCalendar("CN")))
    repo.add(case, event)
    return case


def test_two_writers_on_the_same_version_one_wins_one_is_stale(repo: DynamoCaseRepository) -> None:
    case = registered(repo)
    accepted, e1 = lifecycle.apply_action(case, "accept", cmd.Accept(actor="a"), NOW)
    closed, e2 = lifecycle.apply_action(case, "close", cmd.Close(actor="b", reason="dup"), NOW)
    repo.save(accepted, e1, expected_version=1)
    with pytest.raises(StaleVersion):
        repo.save(closed, e2, expected_version=1)
    record = repo.get(case.case_id)
    stored, history = record.case, record.history
    assert stored.status.value == "accepted"
    assert [e.action for e in history] == ["receive", "accept"]


@pytest.fixture(scope="module")
def served_repo() -> Iterator[DynamoCaseRepository]:
    """In-process moto is not thread-safe, so concurrent writers need the emulator as a server."""
    with served_dynamodb("cases") as client:
        yield DynamoCaseRepository(client, "cases")


def test_concurrent_writers_apply_exactly_one_change(served_repo: DynamoCaseRepository) -> None:
    repo = served_repo
    case = registered(repo)
    outcomes: list[str] = []

    def write(i: int) -> None:
        updated, event = lifecycle.apply_action(case, "accept", cmd.Accept(actor=f"w{i}"), NOW)
        try:
            repo.save(updated, event, expected_version=1)
            outcomes.append("saved")
        except StaleVersion:
            outcomes.append("stale")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["saved"] + ["stale"] * 7
    record = repo.get(case.case_id)
    stored, history = record.case, record.history
    assert stored.version == 2 and len(history) == 2


def test_saving_a_case_that_does_not_exist_is_not_found(repo: DynamoCaseRepository) -> None:
    case, _ = lifecycle.register("CD-ZZZZ-ZZZZ-ZZZZ", cmd.IntakeRequest.model_validate(complaint()), NOW, "t",
                                     UnitClock("Asia/Shanghai", WorkingCalendar("CN")))
    updated, event = lifecycle.apply_action(case, "accept", cmd.Accept(actor="a"), NOW)
    with pytest.raises(CaseNotFound):
        repo.save(updated, event, expected_version=1)


def test_a_taken_case_id_is_never_overwritten(repo: DynamoCaseRepository) -> None:
    registered(repo)
    with pytest.raises(CaseIdTaken):
        registered(repo)
    history = repo.get("CD-AAAA-BBBB-CCCC").history
    assert len(history) == 1


def test_case_and_history_share_one_partition(repo: DynamoCaseRepository, aws: dict[str, str]) -> None:
    case = registered(repo)
    accepted, event = lifecycle.apply_action(case, "accept", cmd.Accept(actor="a"), NOW)
    repo.save(accepted, event, expected_version=1)
    items = boto3.client("dynamodb").query(
        TableName=aws["TABLE_NAME"], KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"CASE#{case.case_id}"}})["Items"]
    assert [i["sk"]["S"] for i in items] == ["CASE", "EVENT#000001", "EVENT#000002"]
