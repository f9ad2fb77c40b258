"""The one DynamoDB table (docs/dynamodb.md): its codec, its key formats, the items other
adapters share (alarms, escalation records), one pagination helper and the transaction writer.
Every adapter builds its keys and reads its pages through this module."""

from __future__ import annotations

import base64
import binascii
import json
import random
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.escalation import Alarm, Escalation

CASE_SK = "CASE"
EVENT_PREFIX = "EVENT#"
ESCALATION_PREFIX = "ESC#"
OPEN_DEADLINES = "open_deadlines"
DUE_SHARDS = 4
BY_UNIT = "by_unit"
BY_UNIT_STATUS = "by_unit_status"
ORG_PK = "ORG"
# Other items of a case's partition: a person's delivery of an escalation, a message to the customer.
DELIVERY_PREFIX = "DELIVERY#"
MESSAGE_PREFIX = "CUSTMSG#"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the domain wants int (or float)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _numbers(value: Any) -> Any:
    """DynamoDB takes no floats; a float is stored as the Decimal of its shortest repr."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_numbers(v) for v in value]
    return value


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(_numbers(v)) for k, v in values.items()}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = _plain({k: _deserializer.deserialize(v) for k, v in item.items()})
    return plain


def transact(client: Any, items: list[dict[str, Any]], conflict_retries: int = 4) -> bool:
    """True when written; False when a condition failed (the callers turn that into StaleVersion,
    or skip a rung already taken). A transaction that only lost a race on a shared item (the
    statistics counters) with another one is tried again; still losing, it raises a retryable
    `TransactionConflict` (503). Other errors raise."""
    for attempt in range(conflict_retries + 1):
        try:
            client.transact_write_items(TransactItems=items)
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = {r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])}
            if not reasons or "ConditionalCheckFailed" in reasons or not reasons & {"TransactionConflict"}:
                return False
            if attempt == conflict_retries:
                raise ClientError({"Error": {"Code": "TransactionConflict",
                                             "Message": "lost to concurrent writes"}}, "TransactWriteItems") from exc
            time.sleep(random.uniform(0.01, 0.05) * 2 ** attempt)
    return False


def case_pk(case_id: str) -> str:
    return f"CASE#{case_id}"


def case_id_of(pk: str) -> str:
    """The case id of a case partition's key."""
    return pk.removeprefix("CASE#")


def unit_key(unit_id: str, status: str | None = None) -> str:
    """A unit's key in the by-unit indexes (and in the organisation's partition), by status too."""
    return f"UNIT#{unit_id}" if status is None else f"UNIT#{unit_id}#STATUS#{status}"


def message_sk(message_id: str) -> str:
    return f"{MESSAGE_PREFIX}{message_id}"


def event_sk(seq: int) -> str:
    return f"{EVENT_PREFIX}{seq:06d}"


def alarm_sk(clock: str) -> str:
    return f"ALARM#{clock}"


def escalation_sk(esc: Escalation) -> str:
    return f"{ESCALATION_PREFIX}{esc.clock}#v{esc.deadline_version:04d}#{esc.level}"


def due_key(moment: datetime) -> str:
    """The open-deadlines sort key: UTC, fixed width, so string order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def shard_of(key: str, shards: int = DUE_SHARDS) -> int:
    """Spreads the sparse index over a few partitions so no single key takes every write."""
    return zlib.crc32(key.encode()) % shards


def due_shard(case_id: str) -> str:
    return f"DUE#{shard_of(case_id)}"


def archive_partition(shard: int) -> str:
    """Closed cases waiting for the archive share the due-time index under their own partitions."""
    return f"TO-ARCHIVE#{shard}"


def archive_shard(case_id: str) -> str:
    return archive_partition(shard_of(case_id))


def query_all(client: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item a Query finds, page after page (DynamoDB answers at most 1 MB a page)."""
    while True:
        page = client.query(**kwargs)
        yield from page["Items"]
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def query_due(client: Any, table: str, shard: str, until: datetime, limit: int) -> Iterator[dict[str, Any]]:
    """Items of one `open_deadlines` partition due by `until`, oldest first, at most `limit`."""
    kwargs: dict[str, Any] = {
        "TableName": table, "IndexName": OPEN_DEADLINES,
        "KeyConditionExpression": "due_pk = :shard AND due_at <= :until",
        "ExpressionAttributeValues": {":shard": {"S": shard}, ":until": {"S": due_key(until)}},
    }
    read = 0
    while read < limit:  # pages of up to 1 MB, as DynamoDB decides; Limit only caps the run
        page = client.query(**kwargs, Limit=limit - read)
        yield from page["Items"]
        read += len(page["Items"])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def epoch_seconds(moment: datetime) -> int:
    """The form DynamoDB's TTL attribute (`expires_at`) takes."""
    return int(moment.timestamp())


def alarm_item(alarm: Alarm) -> dict[str, Any]:
    """A running clock's alarm; it sits in the open-deadlines index while a rung is still ahead.
    Acknowledged levels are a string set (`acked`) that an acknowledgement adds to in place."""
    values: dict[str, Any] = {
        "pk": case_pk(alarm.case_id), "sk": alarm_sk(alarm.clock), "entity": "alarm",
        "dv": alarm.deadline_version, "last_level": alarm.last_level or "-",
        "doc": alarm.model_dump(mode="json", exclude={"acknowledged"}),
    }
    item = to_item(values)
    if alarm.acknowledged:
        item["acked"] = {"SS": sorted(set(alarm.acknowledged))}
    if alarm.next_at is not None:
        item |= to_item({"due_pk": due_shard(alarm.case_id), "due_at": due_key(alarm.next_at)})
    return item


def alarm_from_item(item: dict[str, Any]) -> Alarm:
    """An alarm as stored (see alarm_item), from a decoded item."""
    return Alarm.model_validate({**item["doc"], "acknowledged": sorted(item.get("acked") or ())})


def acknowledgement_update(table: str, case_id: str, clock: str, deadline_version: int,
                           level: str) -> dict[str, Any]:
    """A manager acknowledged `level` of this deadline version: the alarm records it, so daily
    reminders to the top stop once the top has acknowledged (only while that version runs)."""
    return {"Update": {
        "TableName": table, "Key": to_item({"pk": case_pk(case_id), "sk": alarm_sk(clock)}),
        "UpdateExpression": "ADD acked :level",
        "ConditionExpression": "dv = :dv",
        "ExpressionAttributeValues": {":level": {"SS": [level]}, ":dv": {"N": str(deadline_version)}},
    }}


def escalation_item(esc: Escalation, due: datetime | None) -> dict[str, Any]:
    """An escalation record; `due` puts it in the open-deadlines index (a retry or a lease to check)."""
    values: dict[str, Any] = {
        "pk": case_pk(esc.case_id), "sk": escalation_sk(esc), "entity": "escalation",
        "state": esc.state.value, "doc": esc.model_dump(mode="json"),
    }
    if due is not None:
        values |= {"due_pk": due_shard(esc.case_id), "due_at": due_key(due)}
    return to_item(values)


def encode_cursor(last_key: dict[str, Any]) -> str:
    plain = {k: v["S"] for k, v in last_key.items()}
    return base64.urlsafe_b64encode(json.dumps(plain, sort_keys=True).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, key_attr: str, key: str) -> dict[str, Any]:
    """A cursor only continues the list it came from; anything else is a 400, not a 500."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        plain = json.loads(base64.urlsafe_b64decode(padded.encode()))
        valid = (isinstance(plain, dict) and plain.get(key_attr) == key
                 and all(isinstance(v, str) for v in plain.values())
                 and set(plain) <= {"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"})
    except (ValueError, binascii.Error, UnicodeDecodeError):
        valid = False
    if not valid:
        raise InvalidInput("the cursor is invalid or belongs to another list",
                           {"cursor": "use next_cursor from the previous page of the same list"})
    return {k: {"S": v} for k, v in plain.items()}
