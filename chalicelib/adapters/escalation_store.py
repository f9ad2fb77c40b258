"""DynamoDB side of escalation: the due query on the sparse open-deadlines index, and the
conditional writes that make each escalation happen once (docs/dynamodb.md, "Escalation")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamodb import (
    DUE_SHARDS,
    alarm_item,
    case_pk,
    escalation_item,
    escalation_sk,
    from_item,
    query_due,
    to_item,
    transact,
)
from chalicelib.domain.escalation import Alarm, Decision, DueItems, Escalation, EscalationState

# A transaction holds at most 100 items; a decision writes two (the escalation and its alarm).
DECISIONS_PER_TRANSACTION = 50
BATCH_WRITE_SIZE = 25


class DynamoEscalationStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # --- reading --------------------------------------------------------------------------
    def due(self, now: datetime, limit: int) -> DueItems:
        """Everything due by `now`, one Query per shard: the index holds only what has a rung
        ahead, a retry or a lease to check, so every item read is work to do."""
        found = DueItems([], [], [], 0)
        for shard in range(DUE_SHARDS):
            for raw in query_due(self._client, self._table, f"DUE#{shard}", now, limit - found.items_read):
                found.items_read += 1
                item = from_item(raw)
                if item["entity"] == "alarm":
                    found.alarms.append(Alarm.model_validate(item["doc"]))
                    continue
                esc = Escalation.model_validate(item["doc"])
                (found.retries if esc.state is EscalationState.PENDING else found.expired).append(esc)
            if found.items_read >= limit:
                break
        return found

    # --- deciding -------------------------------------------------------------------------
    def decide(self, decisions: Sequence[Decision], lease_until: datetime) -> list[Escalation]:
        """Write each new escalation (state sending, leased) together with its advanced alarm, in
        one transaction per chunk. Returns those this run created: only the run whose write
        succeeded publishes, so a double run or a retry sends nothing twice."""
        created: list[Escalation] = []
        for start in range(0, len(decisions), DECISIONS_PER_TRANSACTION):
            chunk = decisions[start:start + DECISIONS_PER_TRANSACTION]
            items = [item for decision in chunk for item in self._decision_items(decision, lease_until)]
            if self._transact(items):
                created += [d.escalation for d in chunk if d.escalation is not None]
                continue
            for decision in chunk:  # someone else got there for at least one: sort them out singly
                if self._transact(self._decision_items(decision, lease_until)):
                    if decision.escalation is not None:
                        created.append(decision.escalation)
                elif decision.escalation is not None and self._exists(decision.escalation):
                    # decided before (its alarm update was lost to a concurrent case write): move on
                    self._transact([self._alarm_put(decision.alarm, decision.advanced)])
        return created

    def _decision_items(self, decision: Decision, lease_until: datetime) -> list[dict[str, Any]]:
        items = [self._alarm_put(decision.alarm, decision.advanced)]
        if decision.escalation is not None:
            items.append({"Put": {"TableName": self._table,
                                  "Item": escalation_item(decision.escalation, due=lease_until),
                                  "ConditionExpression": "attribute_not_exists(pk)"}})
        return items

    def _alarm_put(self, read: Alarm, advanced: Alarm) -> dict[str, Any]:
        """Replace the alarm only if it is still the one read: a moved deadline or a stopped clock
        in between wins, and this rung is not taken."""
        return {"Put": {
            "TableName": self._table, "Item": alarm_item(advanced),
            "ConditionExpression": "dv = :dv AND last_level = :last",
            "ExpressionAttributeValues": {":dv": {"N": str(read.deadline_version)},
                                          ":last": {"S": read.last_level or "-"}},
        }}

    def claim(self, retries: Sequence[Escalation], lease_until: datetime) -> list[Escalation]:
        """pending → sending for the escalations this run will publish again."""
        claimed: list[Escalation] = []
        for start in range(0, len(retries), DECISIONS_PER_TRANSACTION * 2):
            chunk = retries[start:start + DECISIONS_PER_TRANSACTION * 2]
            leased = [esc.model_copy(update={"state": EscalationState.SENDING}) for esc in chunk]
            puts = [self._claim_put(esc, lease_until) for esc in leased]
            if self._transact(puts):
                claimed += leased
                continue
            claimed += [esc for esc, put in zip(leased, puts, strict=True) if self._transact([put])]
        return claimed

    def _claim_put(self, esc: Escalation, lease_until: datetime) -> dict[str, Any]:
        return {"Put": {"TableName": self._table, "Item": escalation_item(esc, due=lease_until),
                        "ConditionExpression": "#state = :pending",
                        "ExpressionAttributeNames": {"#state": "state"},
                        "ExpressionAttributeValues": {":pending": {"S": EscalationState.PENDING.value}}}}

    # --- bookkeeping ----------------------------------------------------------------------
    def record(self, escalations: Sequence[Escalation], retry_at: datetime) -> None:
        """Store each escalation's outcome: sent and unconfirmed leave the index; pending comes
        back at `retry_at`."""
        requests = [{"PutRequest": {"Item": escalation_item(
            esc, due=retry_at if esc.state is EscalationState.PENDING else None)}} for esc in escalations]
        for start in range(0, len(requests), BATCH_WRITE_SIZE):
            pending: dict[str, Any] = {self._table: requests[start:start + BATCH_WRITE_SIZE]}
            while pending:
                answer = self._client.batch_write_item(RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}

    # --- helpers --------------------------------------------------------------------------
    def _exists(self, esc: Escalation) -> bool:
        found = self._client.get_item(TableName=self._table, ConsistentRead=True, ProjectionExpression="pk",
                                      Key=to_item({"pk": case_pk(esc.case_id), "sk": escalation_sk(esc)}))
        return "Item" in found

    def _transact(self, items: list[dict[str, Any]]) -> bool:
        return transact(self._client, items)
