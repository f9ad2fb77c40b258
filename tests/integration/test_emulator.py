"""The local emulator keeps DynamoDB's transaction semantics with its narrow rollback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import served_dynamodb


@pytest.fixture(scope="module")
def ddb() -> Iterator[Any]:
    with served_dynamodb("t") as client:
        yield client


def key(pk: str, sk: str = "A") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def test_cancelled_transaction_rolls_back_its_put_and_its_update(ddb: Any) -> None:
    ddb.put_item(TableName="t", Item={**key("p1"), "n": {"N": "1"}})
    ddb.put_item(TableName="t", Item={**key("p1", "B"), "n": {"N": "1"}})
    with pytest.raises(ClientError, match="TransactionCanceled"):
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "t", "Item": {**key("p1", "C"), "n": {"N": "9"}}}},
            {"Update": {"TableName": "t", "Key": key("p1"), "UpdateExpression": "SET n = :n",
                        "ExpressionAttributeValues": {":n": {"N": "2"}}}},
            {"ConditionCheck": {"TableName": "t", "Key": key("p1", "B"),
                                "ConditionExpression": "n = :v",
                                "ExpressionAttributeValues": {":v": {"N": "5"}}}},
        ])
    assert ddb.get_item(TableName="t", Key=key("p1"))["Item"]["n"] == {"N": "1"}
    assert "Item" not in ddb.get_item(TableName="t", Key=key("p1", "C"))


def test_successful_transaction_applies_every_write(ddb: Any) -> None:
    ddb.put_item(TableName="t", Item={**key("p2"), "n": {"N": "1"}})
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": "t", "Item": {**key("p2", "C"), "n": {"N": "9"}},
                 "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Update": {"TableName": "t", "Key": key("p2"), "UpdateExpression": "SET n = :n",
                    "ConditionExpression": "n = :one",
                    "ExpressionAttributeValues": {":n": {"N": "2"}, ":one": {"N": "1"}}}},
    ])
    assert ddb.get_item(TableName="t", Key=key("p2"))["Item"]["n"] == {"N": "2"}
    assert ddb.get_item(TableName="t", Key=key("p2", "C"))["Item"]["n"] == {"N": "9"}


def test_cancelled_transaction_rolls_back_a_delete_and_a_put_that_replaced_an_item(ddb: Any) -> None:
    ddb.put_item(TableName="t", Item={**key("p3"), "n": {"N": "1"}})
    ddb.put_item(TableName="t", Item={**key("p3", "B"), "n": {"N": "1"}})
    with pytest.raises(ClientError, match="TransactionCanceled"):
        ddb.transact_write_items(TransactItems=[
            {"Delete": {"TableName": "t", "Key": key("p3")}},
            {"Put": {"TableName": "t", "Item": {**key("p3", "B"), "n": {"N": "7"}}}},
            {"Put": {"TableName": "t", "Item": {**key("p4"), "n": {"N": "7"}}}},
            {"Put": {"TableName": "t", "Item": {**key("p5"), "n": {"N": "7"}},
                     "ConditionExpression": "attribute_exists(pk)"}},
        ])
    assert ddb.get_item(TableName="t", Key=key("p3"))["Item"]["n"] == {"N": "1"}
    assert ddb.get_item(TableName="t", Key=key("p3", "B"))["Item"]["n"] == {"N": "1"}
    assert "Item" not in ddb.get_item(TableName="t", Key=key("p4"))
    assert ddb.query(TableName="t", KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues={":p": {"S": "p4"}})["Count"] == 0


def test_a_query_reads_its_partition_and_a_gsi_query_still_finds_its_items(ddb: Any) -> None:
    for pk, sk in (("P1", "A"), ("P1", "B"), ("P2", "A")):
        ddb.put_item(TableName="t", Item={**key(pk, sk), "v": {"S": f"{pk}{sk}"}})
    page = ddb.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "P1"}})
    assert [i["v"]["S"] for i in page["Items"]] == ["P1A", "P1B"]
    assert ddb.query(TableName="t", KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues={":p": {"S": "P9"}})["Items"] == []
