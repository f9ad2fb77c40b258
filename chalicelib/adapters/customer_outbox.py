"""DynamoDB side of what the customer is sent (docs/dynamodb.md, "Customer messages"):

- `CASE#<id>` / `CONTACT`: the case's tracking token, so later messages (the answer, the survey's
  reminder) carry the same link; the tracking lookup itself still uses only its SHA-256.
- `CASE#<id>` / `CUSTMSG#<created>#<kind>#<medium>`: each message and its state, written in the
  case's own transaction; while unsent it sits in the `open_deadlines` index (`CUSTOMER#<n>`), so
  the `deliver` schedule retries anything a failed or throttled provider left behind.
- `CASE#<id>` / `SURVEY`: the satisfaction survey's one reminder, due some days after the answer.
- `SMSCAP#<hash of the number>` / `D#<day>`: customer SMS per number per UTC day (conditional ADD).
- `CMSG#<provider id>`: the provider's message id → the message, for delivery receipts.
- `CUSTOMER-SENT#<day>` / `<time>#<case>#<medium>`: what went out that day, for the local outbox
  and operators (expires after 30 days)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.table import (
    MESSAGE_PREFIX,
    case_id_of,
    case_pk,
    due_key,
    epoch_seconds,
    from_item,
    message_sk,
    query_all,
    query_due,
    shard_of,
    to_item,
    transact,
)
from chalicelib.domain.customer_messages import CustomerMessage
from chalicelib.domain.delivery import DeliveryState
from chalicelib.services.ports import (
    AlsoWritten,
    Claimed,
    CustomerMessageQueued,
    CustomerTrackingLink,
    DueContact,
    SurveyReminderDue,
    TrackingEntry,
)

CUSTOMER_SHARDS = 4
CONTACT_SK = "CONTACT"
SURVEY_SK = "SURVEY"
SENT_DAYS_KEPT = 30


def customer_shard(case_id: str) -> str:
    return f"CUSTOMER#{shard_of(case_id, CUSTOMER_SHARDS)}"


class DynamoCustomerOutbox:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def write(self, writes: Sequence[AlsoWritten]) -> None:
        """Messages that belong to no case change (a survey reminder's), stored in one transaction."""
        if not transact(self._client, [customer_item(self._table, w) for w in writes]):
            raise RuntimeError("customer messages not stored: a condition failed")

    def claim_message(self, message: CustomerMessage, lease_until: datetime) -> Claimed | None:
        """Take a message just stored (at its creation time in the due index) for a lease."""
        return self.claim(DueContact(message.case_id, message.message_id, due_key(message.created_at)), lease_until)

    # --- reading -------------------------------------------------------------------------------
    def tracking_token(self, case_id: str) -> str | None:
        found = self._client.get_item(TableName=self._table, ConsistentRead=True,
                                      Key=to_item({"pk": case_pk(case_id), "sk": CONTACT_SK}))
        return from_item(found["Item"]).get("tracking_token") if "Item" in found else None

    def messages(self, case_id: str) -> list[CustomerMessage]:
        answer = self._client.query(
            TableName=self._table, ConsistentRead=True, KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
            ExpressionAttributeValues=to_item({":pk": case_pk(case_id), ":p": MESSAGE_PREFIX}))
        return [CustomerMessage.model_validate(from_item(raw)["doc"]) for raw in answer["Items"]]

    def due(self, now: datetime, limit: int) -> list[DueContact]:
        """Unsent messages and survey reminders due by `now`."""
        found: list[DueContact] = []
        for shard in range(CUSTOMER_SHARDS):
            for raw in query_due(self._client, self._table, f"CUSTOMER#{shard}", now, limit - len(found)):
                item = from_item(raw)
                message_id = item["sk"].removeprefix(MESSAGE_PREFIX) if item["sk"] != SURVEY_SK else None
                found.append(DueContact(case_id_of(item["pk"]), message_id, item["due_at"]))
            if len(found) >= limit:
                break
        return found

    # --- sending -------------------------------------------------------------------------------
    def claim(self, due: DueContact, lease_until: datetime) -> Claimed | None:
        """Take an unsent message (or the survey reminder) for a lease, if it is still where the
        due index showed it. None when someone else has it or it is gone."""
        sk = message_sk(due.message_id) if due.message_id is not None else SURVEY_SK
        values = {":lease": due_key(lease_until), ":read": due.due_read}
        try:
            answer = self._client.update_item(
                TableName=self._table, Key=to_item({"pk": case_pk(due.case_id), "sk": sk}),
                UpdateExpression="SET due_at = :lease", ConditionExpression="due_at = :read",
                ExpressionAttributeValues=to_item(values), ReturnValues="ALL_OLD")
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        item = from_item(answer["Attributes"])
        message = CustomerMessage.model_validate(item["doc"]) if due.message_id is not None else None
        return Claimed(message, bool(item.get("attempted")))

    def attempting(self, message: CustomerMessage) -> None:
        """Written before the provider is called: a sender that dies after this never sends it again."""
        key = {"pk": case_pk(message.case_id), "sk": message_sk(message.message_id)}
        self._client.update_item(TableName=self._table, Key=to_item(key),
                                 UpdateExpression="SET attempted = :yes", ExpressionAttributeValues={
                                     ":yes": {"BOOL": True}})

    def retry_at(self, message: CustomerMessage, at: datetime) -> None:
        """The provider did not take it now: due again at `at`, not attempted, one more try counted."""
        key = {"pk": case_pk(message.case_id), "sk": message_sk(message.message_id)}
        self._client.update_item(
            TableName=self._table, Key=to_item(key),
            UpdateExpression="SET due_at = :at, doc = :doc REMOVE attempted",
            ExpressionAttributeValues=to_item({":at": due_key(at), ":doc": message.model_dump(mode="json")}))

    def finished(self, message: CustomerMessage, now: datetime) -> None:
        """The message's outcome; out of the due index; its provider id findable by receipts; and,
        when it went out, in the day's list of what was sent."""
        key = {"pk": case_pk(message.case_id), "sk": message_sk(message.message_id)}
        # an update, not a put: the hot copy's expiry, set when the case was archived, stays
        self._client.update_item(TableName=self._table, Key=to_item(key),
                                 UpdateExpression="SET doc = :doc REMOVE due_pk, due_at, attempted",
                                 ExpressionAttributeValues=to_item({":doc": message.model_dump(mode="json")}))
        if message.provider_id:
            self._client.put_item(TableName=self._table, Item=to_item({
                "pk": f"CMSG#{message.provider_id}", "sk": "CMSG", "entity": "customer-provider-message", **{
                    "case_id": message.case_id, "message_sk": key["sk"]}}))
        if message.state is DeliveryState.SENT:
            self._client.put_item(TableName=self._table, Item=to_item({
                "pk": f"CUSTOMER-SENT#{now:%Y-%m-%d}", "sk": f"{due_key(now)}#{message.case_id}#{message.medium.value}",
                "entity": "customer-sent", "doc": message.model_dump(mode="json", exclude={"html"}),
                "expires_at": epoch_seconds(now + timedelta(days=SENT_DAYS_KEPT))}))

    def reminder_done(self, case_id: str) -> None:
        """The survey reminder out of the due index (the item itself goes with the case's hot copy;
        the `deliver` function may not delete)."""
        self._client.update_item(TableName=self._table, Key=to_item({"pk": case_pk(case_id), "sk": SURVEY_SK}),
                                 UpdateExpression="REMOVE due_pk, due_at, attempted")

    def update_state(self, provider_id: str, state: DeliveryState, error: str | None) -> CustomerMessage | None:
        """A delivery receipt (SES event, SMS delivery log) for a customer message."""
        found = self._client.get_item(TableName=self._table, Key=to_item({"pk": f"CMSG#{provider_id}", "sk": "CMSG"}))
        if "Item" not in found:
            return None
        ref = from_item(found["Item"])
        key = to_item({"pk": case_pk(ref["case_id"]), "sk": ref["message_sk"]})
        found = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True)
        if "Item" not in found:
            return None
        item = from_item(found["Item"])
        current = CustomerMessage.model_validate(item["doc"])
        updated = current.model_copy(update={"state": state, "error": error or current.error})
        # a whole put (the receipts function may only get and put)
        self._client.put_item(TableName=self._table, Item=to_item({**item, "doc": updated.model_dump(mode="json")}))
        return updated

    def sent_on(self, day: str, after: str = "") -> list[dict[str, Any]]:
        """What customers were sent on a UTC day (YYYY-MM-DD), oldest first, after sort key `after`."""
        values = {":pk": f"CUSTOMER-SENT#{day}", **({":after": after} if after else {})}
        items = (from_item(raw) for raw in query_all(
            self._client, TableName=self._table, ExpressionAttributeValues=to_item(values),
            KeyConditionExpression="pk = :pk AND sk > :after" if after else "pk = :pk"))
        return [{**item["doc"], "sk": item["sk"]} for item in items]

    # --- the per-number allowance ------------------------------------------------------------------
    def take_sms_allowance(self, number_key: str, now: datetime, per_day: int) -> bool:
        """One SMS to this number today (UTC), if fewer than `per_day` went to it already."""
        try:
            self._client.update_item(
                TableName=self._table, Key=to_item({"pk": f"SMSCAP#{number_key}", "sk": f"D#{now:%Y-%m-%d}"}),
                UpdateExpression="ADD hits :one SET expires_at = if_not_exists(expires_at, :expires), entity = :e",
                ConditionExpression="attribute_not_exists(hits) OR hits < :limit",
                ExpressionAttributeValues=to_item({":one": 1, ":limit": per_day, ":e": "customer-sms-cap",
                                                   ":expires": epoch_seconds(now + timedelta(days=2))}))
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True


def customer_item(table: str, write: AlsoWritten) -> dict[str, Any]:
    """The transaction item of one of the customer's writes, made with the case change that causes it."""
    match write:
        case CustomerTrackingLink():
            return {"Put": {"TableName": table, "Item": to_item({
                "pk": case_pk(write.case_id), "sk": CONTACT_SK, "entity": "customer-contact",
                "tracking_token": write.tracking_token})}}
        case TrackingEntry():  # the tracking lookup's entry, as the intake writes it, for a case that had none
            return {"Put": {"TableName": table, "ConditionExpression": "attribute_not_exists(pk)", "Item": to_item({
                "pk": f"TRACK#{write.tracking_hash}", "sk": "TRACK", "entity": "tracking", "case_id": write.case_id})}}
        case CustomerMessageQueued():
            message = write.message
            return {"Put": {"TableName": table, "ConditionExpression": "attribute_not_exists(pk)",
                            "Item": to_item({"pk": case_pk(message.case_id), "sk": message_sk(message.message_id),
                                             "entity": "customer-message", "doc": message.model_dump(mode="json"),
                                             "due_pk": customer_shard(message.case_id),
                                             "due_at": due_key(message.created_at)})}}
        case SurveyReminderDue():
            return {"Put": {"TableName": table, "Item": to_item({
                "pk": case_pk(write.case_id), "sk": SURVEY_SK, "entity": "survey-reminder",
                "due_pk": customer_shard(write.case_id), "due_at": due_key(write.due)})}}
    raise TypeError(f"not a customer write: {type(write).__name__}")

