"""DynamoDB side of delivery: each person's digest (`PERSON#<staff id>`: the escalations waiting
for them and one `DIGEST` item that sits in the open-deadlines index while something is due),
delivery records in the case's partition (shown with its escalations), and an index from the
provider's message id to its delivery so receipts find it (docs/dynamodb.md, "Delivery")."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.table import (
    DELIVERY_PREFIX,
    case_pk,
    due_key,
    epoch_seconds,
    from_item,
    query_all,
    query_due,
    shard_of,
    to_item,
)
from chalicelib.domain.delivery import Delivery, DeliveryState, Medium, Pending, SentMessage

NOTIFY_SHARDS = 4
DIGEST_SK = "DIGEST"
PENDING_PREFIX = "PENDING#"
SENT_PREFIX = "SENT#"
# A person's own list of what was sent to them (their inbox) is kept this long; the escalations and
# their deliveries stay with the case, and are archived with it.
SENT_KEPT = timedelta(days=90)
# How long a notifier may take to email one manager their copy of a report before another may.
REPORT_LEASE = timedelta(minutes=10)
BATCH_WRITE_SIZE = 25


def _listed(message: SentMessage, now: datetime) -> dict[str, Any]:
    return message.model_dump(mode="json", exclude={"position"}) | {"at": now.isoformat()}


def person_pk(staff_id: str) -> str:
    return f"PERSON#{staff_id}"


def notify_shard(staff_id: str) -> str:
    return f"NOTIFY#{shard_of(staff_id, NOTIFY_SHARDS)}"


def delivery_sk(delivery: Delivery) -> str:
    return f"{DELIVERY_PREFIX}{delivery.escalation_key.split('/', 1)[1]}#{delivery.staff_id}#{delivery.medium.value}"


@dataclass
class Claim:
    staff_id: str
    attempted: dict[str, str] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)


class DynamoDeliveryStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def enqueue(self, pendings: Sequence[Pending], now: datetime, gather: timedelta, window: timedelta) -> int:
        """Queue each escalation for its person once (a redelivered SQS message adds nothing), and
        make their digest due: after `gather` (so a burst goes out as one), and not before a window
        has passed since their last SMS, unless it carries an urgent notice (rulebook §2: media,
        regulator and risk-language cases are told at once), which brings the digest forward."""
        queued = 0
        people: set[str] = set()
        urgent: set[str] = set()
        for pending in pendings:
            try:
                self._client.put_item(
                    TableName=self._table, ConditionExpression="attribute_not_exists(pk)",
                    Item=to_item({"pk": person_pk(pending.staff_id), "sk": PENDING_PREFIX + pending.escalation_key,
                                  "entity": "pending", "doc": pending.model_dump(mode="json")}))
                queued += 1
                people.add(pending.staff_id)
                if pending.urgent:
                    urgent.add(pending.staff_id)
            except self._client.exceptions.ConditionalCheckFailedException:
                continue
        for staff_id in people:
            self._schedule(staff_id, now + gather, window, staff_id in urgent)
        return queued

    def _schedule(self, staff_id: str, earliest: datetime, window: timedelta, urgent: bool = False) -> None:
        """The digest becomes due at `earliest`, or when the window since the last SMS ends if that
        is later (not for an urgent notice); a digest already due keeps its time, unless an urgent
        notice needs it sooner and no notifier is sending it right now."""
        found = self._client.get_item(TableName=self._table, ConsistentRead=True,
                                      Key=to_item({"pk": person_pk(staff_id), "sk": DIGEST_SK}))
        digest = from_item(found["Item"]) if "Item" in found else {}
        if digest.get("due_at"):
            if urgent and not digest.get("leased") and digest["due_at"] > due_key(earliest):
                # claimed or moved meanwhile: the notice goes out with that
                with suppress(self._client.exceptions.ConditionalCheckFailedException):
                    self._client.update_item(
                        TableName=self._table, Key=to_item({"pk": person_pk(staff_id), "sk": DIGEST_SK}),
                        UpdateExpression="SET due_at = :at",
                        ConditionExpression="due_at = :read AND attribute_not_exists(leased)",
                        ExpressionAttributeValues=to_item({":at": due_key(earliest), ":read": digest["due_at"]}))
            return
        last = digest.get("last_sms_at")
        at = max(earliest, datetime.fromisoformat(last) + window) if last and not urgent else earliest
        try:
            self._client.update_item(
                TableName=self._table, Key=to_item({"pk": person_pk(staff_id), "sk": DIGEST_SK}),
                UpdateExpression="SET due_pk = :shard, due_at = :at, entity = :entity",
                ConditionExpression="attribute_not_exists(due_at)",
                ExpressionAttributeValues=to_item({":shard": notify_shard(staff_id), ":at": due_key(at),
                                                   ":entity": "digest"}))
        except self._client.exceptions.ConditionalCheckFailedException:
            return  # someone else scheduled it meanwhile

    def due(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        people: list[tuple[str, str]] = []
        for shard in range(NOTIFY_SHARDS):
            for raw in query_due(self._client, self._table, f"NOTIFY#{shard}", now, limit - len(people)):
                item = from_item(raw)
                people.append((item["pk"].removeprefix("PERSON#"), item["due_at"]))
            if len(people) >= limit:
                break
        return people

    def claim(self, staff_id: str, due_key_read: str, now: datetime, lease_until: datetime) -> Claim | None:
        """Take the digest for `lease`: its due time moves to the lease's end, so if this notifier
        dies another finds it then (and reads what was attempted)."""
        try:
            answer = self._client.update_item(
                TableName=self._table, Key=to_item({"pk": person_pk(staff_id), "sk": DIGEST_SK}),
                UpdateExpression="SET due_at = :lease, leased = :yes", ConditionExpression="due_at = :read",
                ExpressionAttributeValues=to_item({":lease": due_key(lease_until), ":read": due_key_read,
                                                   ":yes": True}),
                ReturnValues="ALL_NEW")
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        item = from_item(answer["Attributes"])
        return Claim(staff_id, dict(item.get("attempted") or {}), dict(item.get("results") or {}))

    def pendings(self, staff_id: str) -> list[Pending]:
        found = [Pending.model_validate(from_item(raw)["doc"]) for raw in query_all(
            self._client, TableName=self._table, ConsistentRead=True,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=to_item({":pk": person_pk(staff_id), ":prefix": PENDING_PREFIX}))]
        return sorted(found, key=lambda p: (p.queued_at, p.escalation_key))

    def attempting(self, staff_id: str, medium: Medium) -> None:
        """Written before the channel is tried: a notifier that dies after this never tries it again."""
        self._set_channel(staff_id, "attempted", medium, "yes")

    def not_attempted(self, staff_id: str, medium: Medium) -> None:
        """The provider said "not now" (throttled): the channel was not tried after all."""
        self._client.update_item(
            TableName=self._table, Key=to_item({"pk": person_pk(staff_id), "sk": DIGEST_SK}),
            UpdateExpression="REMOVE attempted.#m", ExpressionAttributeNames={"#m": medium.value})

    def release(self, staff_id: str, at: datetime) -> None:
        """Give the digest back, due again at `at` (a retry after the provider's throttling)."""
        self._client.update_item(
            TableName=self._table, Key=to_item({"pk": person_pk(staff_id), "sk": DIGEST_SK}),
            UpdateExpression="SET due_at = :at REMOVE leased", ExpressionAttributeValues={":at": {"S": due_key(at)}})

    def result(self, staff_id: str, medium: Medium, result: dict[str, Any]) -> None:
        self._set_channel(staff_id, "results", medium, result)

    def _set_channel(self, staff_id: str, attribute: str, medium: Medium, value: Any) -> None:
        """`<attribute>.<medium> = value` on the digest (the map made first if the digest has none)."""
        key = to_item({"pk": person_pk(staff_id), "sk": DIGEST_SK})
        self._client.update_item(TableName=self._table, Key=key, UpdateExpression="SET #a = if_not_exists(#a, :empty)",
                                 ExpressionAttributeNames={"#a": attribute},
                                 ExpressionAttributeValues={":empty": {"M": {}}})
        self._client.update_item(TableName=self._table, Key=key, UpdateExpression="SET #a.#m = :value",
                                 ExpressionAttributeNames={"#a": attribute, "#m": medium.value},
                                 ExpressionAttributeValues=to_item({":value": value}))

    def finish(self, staff_id: str, deliveries: Sequence[Delivery], done: Sequence[Pending], now: datetime,
               sms_sent: bool, window: timedelta, messages: Sequence[SentMessage] = ()) -> None:
        """Record the deliveries on their cases (and their provider ids), each message in the
        person's own list of what was sent to them (newest last: `SENT#<time>`), drop what was
        told, and reset the digest; anything queued meanwhile is due when the window ends."""
        requests: list[dict[str, Any]] = [
            {"PutRequest": {"Item": to_item({
                "pk": person_pk(staff_id), "sk": f"{SENT_PREFIX}{due_key(now)}#{m.medium.value}",
                "entity": "sent-message", "doc": _listed(m, now),
                "expires_at": epoch_seconds(now + SENT_KEPT)})}}
            for m in messages]
        for delivery in deliveries:
            requests.append({"PutRequest": {"Item": to_item({
                "pk": case_pk(delivery.case_id), "sk": delivery_sk(delivery), "entity": "delivery",
                "doc": delivery.model_dump(mode="json")})}})
        for provider_id, delivery in {d.provider_id: d for d in deliveries if d.provider_id}.items():
            requests.append({"PutRequest": {"Item": to_item({
                "pk": f"MSG#{provider_id}", "sk": "MSG", "entity": "provider-message",
                "deliveries": [{"case_id": d.case_id, "sk": delivery_sk(d)} for d in deliveries
                               if d.provider_id == provider_id],
                "medium": delivery.medium.value})}})
        requests += [{"DeleteRequest": {"Key": to_item({"pk": person_pk(staff_id),
                                                        "sk": PENDING_PREFIX + p.escalation_key})}} for p in done]
        self._batch(requests)
        values: dict[str, Any] = {}
        update = "REMOVE due_pk, due_at, attempted, results, leased"
        if sms_sent:
            update = "SET last_sms_at = :now " + update
            values = {":now": {"S": now.isoformat()}}
        self._client.update_item(TableName=self._table, Key=to_item({"pk": person_pk(staff_id), "sk": DIGEST_SK}),
                                 UpdateExpression=update, **({"ExpressionAttributeValues": values} if values else {}))
        waiting = self.pendings(staff_id)  # queued while this digest was being sent
        if waiting:
            self._schedule(staff_id, now, window, any(p.urgent for p in waiting))

    def update_state(self, provider_id: str, state: DeliveryState, error: str | None) -> Delivery | None:
        """A receipt for a provider's message: every delivery it carried (a digest carries several)."""
        found = self._client.get_item(TableName=self._table, Key=to_item({"pk": f"MSG#{provider_id}", "sk": "MSG"}))
        if "Item" not in found:
            return None
        last: Delivery | None = None
        for ref in from_item(found["Item"])["deliveries"]:
            item = self._client.get_item(TableName=self._table,
                                         Key=to_item({"pk": case_pk(ref["case_id"]), "sk": ref["sk"]}))
            if "Item" not in item:
                continue
            current = Delivery.model_validate(from_item(item["Item"])["doc"])
            last = current.model_copy(update={"state": state, "error": error or current.error})
            self._client.put_item(TableName=self._table, Item=to_item({
                "pk": case_pk(ref["case_id"]), "sk": ref["sk"], "entity": "delivery",
                "doc": last.model_dump(mode="json")}))
        return last

    def claim_report(self, staff_id: str, report_key: str, now: datetime) -> bool:
        """The person's copy of one report is this sender's to send; False when it was sent, or is
        being sent by a notifier still within its lease: the queue delivered the report again. A
        claim left by a notifier that died mid-send is taken again once its lease is over."""
        try:
            self._client.update_item(
                TableName=self._table, Key=to_item({"pk": f"REPORT-TO#{staff_id}", "sk": report_key}),
                UpdateExpression="SET #s = :sending, claimed_at = :now, entity = :e, expires_at = :ttl",
                ConditionExpression=("attribute_not_exists(#s) OR #s = :released "
                                     "OR (#s = :sending AND claimed_at < :stale)"),
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues=to_item({":sending": "sending", ":released": "released", ":e": "report-copy",
                                                   ":now": now.isoformat(), ":stale": (now - REPORT_LEASE).isoformat(),
                                                   ":ttl": epoch_seconds(now + SENT_KEPT)}))
            return True
        except self._client.exceptions.ConditionalCheckFailedException:
            return False

    def report_done(self, staff_id: str, report_key: str) -> None:
        """Sent (or refused for good by the provider): never sent again."""
        self._client.update_item(
            TableName=self._table, Key=to_item({"pk": f"REPORT-TO#{staff_id}", "sk": report_key}),
            UpdateExpression="SET #s = :done", ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":done": {"S": "sent"}})

    def release_report(self, staff_id: str, report_key: str) -> None:
        """Not sent after all (the provider said "later"): the queue's next delivery sends it."""
        self._client.update_item(
            TableName=self._table, Key=to_item({"pk": f"REPORT-TO#{staff_id}", "sk": report_key}),
            UpdateExpression="SET #s = :released", ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":released": {"S": "released"}})

    def record_sent(self, staff_id: str, message: SentMessage, now: datetime, key: str) -> None:
        """A message sent outside a digest (a unit's report) in the person's list; `key` tells two
        sent at the same moment apart."""
        self._client.put_item(TableName=self._table, Item=to_item({
            "pk": person_pk(staff_id), "sk": f"{SENT_PREFIX}{due_key(now)}#{message.medium.value}#{key}",
            "entity": "sent-message", "doc": _listed(message, now),
            "expires_at": epoch_seconds(now + SENT_KEPT)}))

    def sent_to(self, staff_id: str, after: str = "") -> list[SentMessage]:
        """What was sent to a person (SMS and email, with text, language, segments and state),
        oldest first, after the sort key `after`."""
        items = (from_item(raw) for raw in query_all(
            self._client, TableName=self._table, KeyConditionExpression="pk = :pk AND sk > :after",
            ExpressionAttributeValues=to_item({":pk": person_pk(staff_id), ":after": max(after, SENT_PREFIX)})))
        return [SentMessage.model_validate({**item["doc"], "position": item["sk"]})
                for item in items if item["sk"].startswith(SENT_PREFIX)]

    def _batch(self, requests: list[dict[str, Any]]) -> None:
        for start in range(0, len(requests), BATCH_WRITE_SIZE):
            pending: dict[str, Any] = {self._table: requests[start:start + BATCH_WRITE_SIZE]}
            while pending:
                pending = self._client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
