"""DynamoDB adapters: cases with their history, and the organisation's units.

Key design (docs/dynamodb.md): one table, `pk`/`sk`; a case and its history share the
partition `CASE#<id>`; GSIs `by_unit` and `by_unit_status` serve the lists without a Scan.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.adapters.statistics_store import stats_updates
from chalicelib.domain.archive import archive_due_at, keeps_hot_copy_until
from chalicelib.domain.delivery import Delivery
from chalicelib.domain.errors import CaseNotFound, InvalidInput, StaleVersion
from chalicelib.domain.escalation import Alarm, Escalation
from chalicelib.domain.models import Case, HistoryEvent, Status, Unit
from chalicelib.domain.statistics import StatsDelta

CASE_SK = "CASE"
EVENT_PREFIX = "EVENT#"
ESCALATION_PREFIX = "ESC#"
OPEN_DEADLINES = "open_deadlines"
DUE_SHARDS = 4
BY_UNIT = "by_unit"
BY_UNIT_STATUS = "by_unit_status"
ORG_PK = "ORG"

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
    return _plain({k: _deserializer.deserialize(v) for k, v in item.items()})


@dataclass(frozen=True)
class IntakeKey:
    """An intake's Idempotency-Key, claimed in the case's own transaction: even if the idempotency
    record is lost between two writes (a crash after the case was stored), the key cannot make a
    second case. Kept as long as the idempotency record."""

    key_hash: str
    expires_at: datetime


class AlreadyRegistered(Exception):
    def __init__(self, case_id: str) -> None:
        super().__init__(f"this Idempotency-Key already made case {case_id}")
        self.case_id = case_id


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


@dataclass(frozen=True)
class CaseRecord:
    """Everything in a case's partition that a reader wants: the case, its history, its escalations."""

    case: Case
    history: list[HistoryEvent]
    escalations: list[Escalation]
    # Sort keys of every other item in the partition (events, escalations, alarms), e.g. for TTL.
    item_sks: list[str] = field(default_factory=list)
    # What became of each escalation's SMS and email to each person (chalicelib/domain/delivery.py).
    deliveries: list[Delivery] = field(default_factory=list)
    # What the customer was sent, as staff and the archive see it (customer_messages.CustomerMessage.view).
    customer_messages: list[dict[str, Any]] = field(default_factory=list)


class CaseRepository(Protocol):
    def add(self, case: Case, event: HistoryEvent, alarms: Sequence[Alarm] = (),
            escalations: Sequence[Escalation] = (), tracking_hash: str | None = None,
            intake_key: IntakeKey | None = None, stats: Sequence[StatsDelta] = (),
            also_write: Sequence[dict[str, Any]] = ()) -> None: ...
    def tracked_case(self, tracking_hash: str) -> str | None: ...
    def case_of_intake_key(self, key_hash: str) -> str | None: ...
    def get(self, case_id: str) -> CaseRecord: ...
    def save(self, case: Case, event: HistoryEvent, expected_version: int,
             alarms: Sequence[Alarm] = (), stopped_clocks: Sequence[str] = (),
             also_write: Sequence[dict[str, Any]] = (), stats: Sequence[StatsDelta] = ()) -> None: ...
    def list_by_unit(self, unit_id: str, status: Status | None, limit: int,
                     cursor: str | None) -> tuple[list[Case], str | None]: ...
    def acknowledgement(self, case_id: str, clock: str, deadline_version: int, level: str) -> dict[str, Any]: ...
    def cases_in(self, unit_id: str, statuses: Iterable[Status]) -> list[Case]: ...
    def received_between(self, unit_id: str, start: datetime, end: datetime,
                         statuses: frozenset[Status] | None = None) -> list[Case]: ...


class DynamoCaseRepository:
    """Every write is one transaction: the case item under a version condition plus its event."""

    def __init__(self, client: Any, table_name: str, archive_settle: timedelta = timedelta(hours=72)) -> None:
        self._client = client
        self._table = table_name
        self._archive_settle = archive_settle

    def _case_item(self, case: Case) -> dict[str, Any]:
        """A closed case waits in `open_deadlines` (partition ARCHIVE#n) until its settle period is
        over; an archived one carries the TTL of its hot copy."""
        order = f"{due_key(case.received_at)}#{case.case_id}"  # UTC, fixed width: string order is time order
        extra: dict[str, Any] = {}
        archive_at = archive_due_at(case, self._archive_settle)
        if archive_at is not None:
            extra = {"due_pk": archive_shard(case.case_id), "due_at": due_key(archive_at)}
        elif (expires := keeps_hot_copy_until(case)) is not None:
            extra = {"expires_at": epoch_seconds(expires)}
        return to_item({**extra,
            "pk": case_pk(case.case_id), "sk": CASE_SK, "entity": "case",
            "case_id": case.case_id, "version": case.version, "unit_id": case.unit_id,
            "status": case.status.value,
            "gsi1pk": f"UNIT#{case.unit_id}", "gsi1sk": order,
            "gsi2pk": f"UNIT#{case.unit_id}#STATUS#{case.status.value}", "gsi2sk": order,
            "doc": case.model_dump(mode="json"),
        })

    def _event_put(self, case: Case, event: HistoryEvent) -> dict[str, Any]:
        expires = keeps_hot_copy_until(case)
        expiry = {"expires_at": epoch_seconds(expires)} if expires else {}
        return {"Put": {
            "TableName": self._table,
            "Item": to_item({"pk": case_pk(case.case_id), "sk": event_sk(event.seq), "entity": "event",
                             "doc": event.model_dump(mode="json"), **expiry}),
            "ConditionExpression": "attribute_not_exists(pk)",
        }}

    def add(self, case: Case, event: HistoryEvent, alarms: Sequence[Alarm] = (),
            escalations: Sequence[Escalation] = (), tracking_hash: str | None = None,
            intake_key: IntakeKey | None = None, stats: Sequence[StatsDelta] = (),
            also_write: Sequence[dict[str, Any]] = ()) -> None:
        """Raises StaleVersion if the id is already taken (the caller draws a new id), and
        AlreadyRegistered if the intake's Idempotency-Key already made a case. The clocks' alarms,
        any intake notices, a web case's tracking entry and the key's claim are written in the same
        transaction as the case."""
        if not self._transact([
            {"Put": {"TableName": self._table, "Item": self._case_item(case),
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            self._event_put(case, event),
            *({"Put": {"TableName": self._table, "Item": alarm_item(alarm)}} for alarm in alarms),
            *({"Put": {"TableName": self._table, "Item": escalation_item(esc, due=esc.created_at)}}
              for esc in escalations),
            *([{"Put": {"TableName": self._table, "ConditionExpression": "attribute_not_exists(pk)",
                        "Item": to_item({"pk": f"TRACK#{tracking_hash}", "sk": "TRACK", "entity": "tracking",
                                         "case_id": case.case_id})}}] if tracking_hash else []),
            *([{"Put": {"TableName": self._table, "ConditionExpression": "attribute_not_exists(pk)",
                        "Item": to_item({"pk": f"INTAKE#{intake_key.key_hash}", "sk": "INTAKE",
                                         "entity": "intake-key", "case_id": case.case_id,
                                         "expires_at": epoch_seconds(intake_key.expires_at)})}}]
              if intake_key else []),
            *stats_updates(self._table, stats),
            *also_write,  # e.g. the customer's receipt (services/customer_contact.py)
        ]):
            existing = self.case_of_intake_key(intake_key.key_hash) if intake_key else None
            if existing is not None:
                raise AlreadyRegistered(existing)
            raise StaleVersion(f"case id {case.case_id} is already taken")

    def case_of_intake_key(self, key_hash: str) -> str | None:
        """The case an intake's Idempotency-Key (stored as its SHA-256) made, if any."""
        found = self._client.get_item(TableName=self._table, ConsistentRead=True,
                                      Key=to_item({"pk": f"INTAKE#{key_hash}", "sk": "INTAKE"}))
        return from_item(found["Item"])["case_id"] if "Item" in found else None

    def save(self, case: Case, event: HistoryEvent, expected_version: int,
             alarms: Sequence[Alarm] = (), stopped_clocks: Sequence[str] = (),
             also_write: Sequence[dict[str, Any]] = (), stats: Sequence[StatsDelta] = ()) -> None:
        """Optimistic lock: the write happens only if the stored version is still the expected one.
        Alarms of clocks that started or moved are replaced, those of stopped clocks deleted;
        `also_write` (transaction items, e.g. an archive index entry) and the statistics the change
        adds to go in the same transaction."""
        if self._transact([
            {"Put": {"TableName": self._table, "Item": self._case_item(case),
                     "ConditionExpression": "attribute_exists(pk) AND version = :expected",
                     "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}}}},
            self._event_put(case, event),
            *({"Put": {"TableName": self._table, "Item": alarm_item(alarm)}} for alarm in alarms),
            *also_write,
            *stats_updates(self._table, stats),
            *({"Delete": {"TableName": self._table,
                          "Key": to_item({"pk": case_pk(case.case_id), "sk": alarm_sk(name)})}}
              for name in stopped_clocks),
        ]):
            return
        if not self._exists(case.case_id):
            raise CaseNotFound(f"no case {case.case_id}")
        raise StaleVersion(f"case {case.case_id} was changed by someone else; reload it and try again")

    def acknowledgement(self, case_id: str, clock: str, deadline_version: int, level: str) -> dict[str, Any]:
        """The transaction item that records an acknowledged level on the clock's alarm."""
        return acknowledgement_update(self._table, case_id, clock, deadline_version, level)

    def _transact(self, items: list[dict[str, Any]]) -> bool:
        return transact(self._client, items)

    def tracked_case(self, tracking_hash: str) -> str | None:
        """The case a complainant's tracking token (stored only as its SHA-256) belongs to."""
        found = self._client.get_item(TableName=self._table, ConsistentRead=True,
                                      Key=to_item({"pk": f"TRACK#{tracking_hash}", "sk": "TRACK"}))
        return from_item(found["Item"])["case_id"] if "Item" in found else None

    def _exists(self, case_id: str) -> bool:
        found = self._client.get_item(TableName=self._table, ConsistentRead=True,
                                      Key=to_item({"pk": case_pk(case_id), "sk": CASE_SK}),
                                      ProjectionExpression="pk")
        return "Item" in found

    def get(self, case_id: str) -> CaseRecord:
        """One Query over the case's partition returns the case, its whole history and its
        escalations (alarms are the escalation run's and are skipped)."""
        case: Case | None = None
        events: list[HistoryEvent] = []
        escalations: list[Escalation] = []
        deliveries: list[Delivery] = []
        customer_messages: list[dict[str, Any]] = []
        item_sks: list[str] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table, "ConsistentRead": True,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": case_pk(case_id)}},
        }
        while True:
            page = self._client.query(**kwargs)
            for raw in page["Items"]:
                item = from_item(raw)
                if item["sk"] == CASE_SK:
                    case = Case.model_validate(item["doc"])
                    continue
                item_sks.append(item["sk"])
                if item["sk"].startswith(EVENT_PREFIX):
                    events.append(HistoryEvent.model_validate(item["doc"]))
                elif item["sk"].startswith(ESCALATION_PREFIX):
                    escalations.append(Escalation.model_validate(item["doc"]))
                elif item["sk"].startswith("DELIVERY#"):
                    deliveries.append(Delivery.model_validate(item["doc"]))
                elif item["sk"].startswith("CUSTMSG#"):
                    from chalicelib.domain.customer_messages import CustomerMessage

                    customer_messages.append(CustomerMessage.model_validate(item["doc"]).view())
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        if case is None:
            raise CaseNotFound(f"no case {case_id}")
        return CaseRecord(case, events, escalations, item_sks, deliveries, customer_messages)

    def list_by_unit(self, unit_id: str, status: Status | None, limit: int,
                     cursor: str | None) -> tuple[list[Case], str | None]:
        """Newest first, one GSI Query per page; the cursor is the opaque LastEvaluatedKey."""
        if status is None:
            index, key_attr, key = BY_UNIT, "gsi1pk", f"UNIT#{unit_id}"
        else:
            index, key_attr, key = BY_UNIT_STATUS, "gsi2pk", f"UNIT#{unit_id}#STATUS#{status.value}"
        kwargs: dict[str, Any] = {
            "TableName": self._table, "IndexName": index, "Limit": limit,
            "ScanIndexForward": False,
            "KeyConditionExpression": f"{key_attr} = :k",
            "ExpressionAttributeValues": {":k": {"S": key}},
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = decode_cursor(cursor, key_attr, key)
        page = self._client.query(**kwargs)
        cases = [Case.model_validate(from_item(raw)["doc"]) for raw in page["Items"]]
        last = page.get("LastEvaluatedKey")
        return cases, (encode_cursor(last) if last else None)

    def received_between(self, unit_id: str, start: datetime, end: datetime,
                         statuses: frozenset[Status] | None = None) -> list[Case]:
        """The unit's cases received in [start, end) (optionally only in `statuses`), oldest first:
        GSI Queries on the unit's receipt order."""
        kwargs: dict[str, Any] = {
            "TableName": self._table, "IndexName": BY_UNIT,
            "KeyConditionExpression": "gsi1pk = :k AND gsi1sk BETWEEN :a AND :b",
            "ExpressionAttributeValues": {":k": {"S": f"UNIT#{unit_id}"},
                                          ":a": {"S": due_key(start)}, ":b": {"S": due_key(end)}},
        }
        found: list[Case] = []
        while True:
            page = self._client.query(**kwargs)
            for raw in page["Items"]:
                case = Case.model_validate(from_item(raw)["doc"])
                if start <= case.received_at < end and (statuses is None or case.status in statuses):
                    found.append(case)
            if "LastEvaluatedKey" not in page:
                return sorted(found, key=lambda c: c.received_at)
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def cases_in(self, unit_id: str, statuses: Iterable[Status]) -> list[Case]:
        """Every case of the unit in one of `statuses`: GSI Queries per status, all pages."""
        found: list[Case] = []
        for status in statuses:
            cursor = None
            while True:
                page, cursor = self.list_by_unit(unit_id, status, 100, cursor)
                found += page
                if not cursor:
                    break
        return found


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


class DynamoUnitRegistry:
    """Units live in one small partition (`ORG`); read once and kept for `cache_seconds`."""

    def __init__(self, client: Any, table_name: str, cache_seconds: float = 60.0) -> None:
        self._client = client
        self._table = table_name
        self._cache_seconds = cache_seconds
        self._units: dict[str, Unit] = {}
        self._loaded_at = float("-inf")

    def put(self, unit: Unit) -> None:
        self._client.put_item(TableName=self._table, Item=to_item({
            "pk": ORG_PK, "sk": f"UNIT#{unit.unit_id}", "entity": "unit",
            "doc": unit.model_dump(mode="json")}))
        self._loaded_at = float("-inf")

    def _refresh(self) -> None:
        units: dict[str, Unit] = {}
        kwargs: dict[str, Any] = {"TableName": self._table, "KeyConditionExpression": "pk = :pk",
                                  "ExpressionAttributeValues": {":pk": {"S": ORG_PK}}}
        while True:
            page = self._client.query(**kwargs)
            for raw in page["Items"]:
                unit = Unit.model_validate(from_item(raw)["doc"])
                units[unit.unit_id] = unit
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        self._units, self._loaded_at = units, time.monotonic()

    def all(self) -> list[Unit]:
        if time.monotonic() - self._loaded_at > self._cache_seconds:
            self._refresh()
        return sorted(self._units.values(), key=lambda u: u.unit_id)

    def get(self, unit_id: str) -> Unit | None:
        """A unit missing from the cache triggers one re-read, so a new unit is seen at once."""
        self.all()
        if unit_id not in self._units:
            self._refresh()
        return self._units.get(unit_id)

    def lineage(self, unit_id: str) -> list[str]:
        """The unit and every unit above it, nearest first; empty for an unknown unit."""
        chain: list[str] = []
        unit = self.get(unit_id)
        while unit is not None and unit.unit_id not in chain:
            chain.append(unit.unit_id)
            unit = self.get(unit.parent_id) if unit.parent_id else None
        return chain


class DynamoCalendarOverrides:
    """Official dates an administrator loaded per country (`CALENDAR#<country>`), cached briefly."""

    def __init__(self, client: Any, table_name: str, cache_seconds: float = 60.0) -> None:
        self._client = client
        self._table = table_name
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, dict[date, bool]]] = {}

    def get(self, country: str) -> dict[date, bool]:
        cached = self._cache.get(country)
        if cached and time.monotonic() - cached[0] <= self._cache_seconds:
            return cached[1]
        found = self._client.get_item(TableName=self._table, ConsistentRead=True,
                                      Key=to_item({"pk": f"CALENDAR#{country}", "sk": "OVERRIDES"}))
        dates = {date.fromisoformat(day): working
                 for day, working in from_item(found.get("Item", {})).get("dates", {}).items()}
        self._cache[country] = (time.monotonic(), dates)
        return dates

    def merge(self, country: str, dates: dict[date, bool], actor: str, now: datetime) -> dict[date, bool]:
        """Adds to what was loaded before (a later load of the same date wins)."""
        merged = {**self.get(country), **dates}
        self._client.put_item(TableName=self._table, Item=to_item({
            "pk": f"CALENDAR#{country}", "sk": "OVERRIDES", "entity": "calendar",
            "dates": {day.isoformat(): working for day, working in sorted(merged.items())},
            "updated_by": actor, "updated_at": now.isoformat()}))
        self._cache[country] = (time.monotonic(), merged)
        return merged
