"""Cases with their history, escalations and deliveries: one partition per case (`CASE#<id>`),
every change one transaction (the case under a version condition, its event, its alarms, its
statistics and whatever else the unit of work carries). GSIs `by_unit` and `by_unit_status` serve
the lists without a Scan."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.statistics_store import stats_updates
from chalicelib.adapters.table import (
    BY_UNIT,
    BY_UNIT_STATUS,
    CASE_SK,
    DELIVERY_PREFIX,
    ESCALATION_PREFIX,
    EVENT_PREFIX,
    MESSAGE_PREFIX,
    acknowledgement_update,
    alarm_item,
    alarm_sk,
    archive_shard,
    case_pk,
    decode_cursor,
    due_key,
    encode_cursor,
    epoch_seconds,
    escalation_item,
    event_sk,
    from_item,
    query_all,
    to_item,
    transact,
    unit_key,
)
from chalicelib.domain.archive import archive_due_at, keeps_hot_copy_until
from chalicelib.domain.customer_messages import CustomerMessage, CustomerMessageView
from chalicelib.domain.delivery import Delivery
from chalicelib.domain.errors import AlreadyRegistered, CaseIdTaken, CaseNotFound, StaleVersion
from chalicelib.domain.escalation import Alarm, Escalation, EscalationState
from chalicelib.domain.models import Case, HistoryEvent, Status
from chalicelib.domain.statistics import StatsDelta
from chalicelib.services.ports import (
    AcknowledgedLevel,
    AlsoWritten,
    ArchiveConfirmation,
    CaseRecord,
    FiledUnderCustomer,
    IntakeKey,
    SpotCheckOutcome,
)


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
            "gsi1pk": unit_key(case.unit_id), "gsi1sk": order,
            "gsi2pk": unit_key(case.unit_id, case.status.value), "gsi2sk": order,
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
            also: Sequence[AlsoWritten] = ()) -> None:
        """Raises CaseIdTaken if the id is already taken (the caller draws a new id), and
        AlreadyRegistered if the intake's Idempotency-Key already made a case. The clocks' alarms,
        any intake notices, a web case's tracking entry, the key's claim and what the intake `also`
        writes (the customer index's entry) are written in the same transaction as the case."""
        if not self._transact([
            {"Put": {"TableName": self._table, "Item": self._case_item(case),
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            self._event_put(case, event),
            *({"Put": {"TableName": self._table, "Item": alarm_item(alarm)}} for alarm in alarms),
            *({"Put": {"TableName": self._table, "Item": escalation_item(
                esc, due=esc.created_at if esc.state is EscalationState.PENDING else None)}}
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
            *(item for write in also for item in self._also_written(write)),
        ]):
            existing = self.case_of_intake_key(intake_key.key_hash) if intake_key else None
            if existing is not None:
                raise AlreadyRegistered(existing)
            raise CaseIdTaken(f"case id {case.case_id} is already taken")

    def case_of_intake_key(self, key_hash: str) -> str | None:
        """The case an intake's Idempotency-Key (stored as its SHA-256) made, if any."""
        found = self._client.get_item(TableName=self._table, ConsistentRead=True,
                                      Key=to_item({"pk": f"INTAKE#{key_hash}", "sk": "INTAKE"}))
        return from_item(found["Item"])["case_id"] if "Item" in found else None

    def save(self, case: Case, event: HistoryEvent, expected_version: int,
             alarms: Sequence[Alarm] = (), stopped_clocks: Sequence[str] = (),
             also: Sequence[AlsoWritten] = (), stats: Sequence[StatsDelta] = ()) -> None:
        """Optimistic lock: the write happens only if the stored version is still the expected one.
        Alarms of clocks that started or moved are replaced, those of stopped clocks deleted; what
        the change `also` writes (an acknowledged level, an archive entry, a spot-check outcome) and
        the statistics it adds to go in the same transaction: all of it, or none."""
        if self._transact([
            {"Put": {"TableName": self._table, "Item": self._case_item(case),
                     "ConditionExpression": "attribute_exists(pk) AND version = :expected",
                     "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}}}},
            self._event_put(case, event),
            *({"Put": {"TableName": self._table, "Item": alarm_item(alarm)}} for alarm in alarms),
            *(item for write in also for item in self._also_written(write)),
            *stats_updates(self._table, stats),
            *({"Delete": {"TableName": self._table,
                          "Key": to_item({"pk": case_pk(case.case_id), "sk": alarm_sk(name)})}}
              for name in stopped_clocks),
        ]):
            return
        if not self._exists(case.case_id):
            raise CaseNotFound(f"no case {case.case_id}")
        raise StaleVersion(f"case {case.case_id} was changed by someone else; reload it and try again")

    def _also_written(self, write: AlsoWritten) -> list[dict[str, Any]]:
        """The transaction items of one typed write of the unit of work."""
        from chalicelib.adapters.archive_store import confirmation_items
        from chalicelib.adapters.customer_outbox import customer_item
        from chalicelib.adapters.customers import customer_link_put
        from chalicelib.adapters.spot_check_store import outcome_put

        match write:
            case AcknowledgedLevel():
                return [acknowledgement_update(self._table, write.case_id, write.clock, write.deadline_version,
                                               write.level)]
            case ArchiveConfirmation():
                return confirmation_items(self._table, write.entry, write.item_sks)
            case SpotCheckOutcome():
                return [outcome_put(self._table, write.check_id, write.result)]
            case FiledUnderCustomer():
                return [customer_link_put(self._table, write)]
            case _:  # what the customer is told, stored with the change that tells them
                return [customer_item(self._table, write)]

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
        customer_messages: list[CustomerMessageView] = []
        item_sks: list[str] = []
        for raw in query_all(self._client, TableName=self._table, ConsistentRead=True,
                             KeyConditionExpression="pk = :pk",
                             ExpressionAttributeValues={":pk": {"S": case_pk(case_id)}}):
            item = from_item(raw)
            if item["sk"] == CASE_SK:
                case = Case.model_validate(item["doc"])
                continue
            item_sks.append(item["sk"])
            if item["sk"].startswith(EVENT_PREFIX):
                events.append(HistoryEvent.model_validate(item["doc"]))
            elif item["sk"].startswith(ESCALATION_PREFIX):
                escalations.append(Escalation.model_validate(item["doc"]))
            elif item["sk"].startswith(DELIVERY_PREFIX):
                deliveries.append(Delivery.model_validate(item["doc"]))
            elif item["sk"].startswith(MESSAGE_PREFIX):
                customer_messages.append(CustomerMessage.model_validate(item["doc"]).view())
        if case is None:
            raise CaseNotFound(f"no case {case_id}")
        return CaseRecord(case, events, escalations, item_sks, deliveries, customer_messages)

    def list_by_unit(self, unit_id: str, status: Status | None, limit: int,
                     cursor: str | None) -> tuple[list[Case], str | None]:
        """Newest first, one GSI Query per page; the cursor is the opaque LastEvaluatedKey."""
        if status is None:
            index, key_attr, key = BY_UNIT, "gsi1pk", unit_key(unit_id)
        else:
            index, key_attr, key = BY_UNIT_STATUS, "gsi2pk", unit_key(unit_id, status.value)
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
            "ExpressionAttributeValues": {":k": {"S": unit_key(unit_id)},
                                          ":a": {"S": due_key(start)}, ":b": {"S": due_key(end)}},
        }
        found = [case for case in (Case.model_validate(from_item(raw)["doc"])
                                   for raw in query_all(self._client, **kwargs))
                 if start <= case.received_at < end and (statuses is None or case.status in statuses)]
        return sorted(found, key=lambda c: c.received_at)

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
