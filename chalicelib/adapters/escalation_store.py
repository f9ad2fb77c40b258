"""DynamoDB side of escalation: the due query on the sparse open-deadlines index, and the
conditional writes that make each escalation happen once (docs/dynamodb.md, "Escalation")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from chalicelib.adapters.table import (
    DUE_SHARDS,
    alarm_from_item,
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

# A transaction holds at most 100 items; a decision writes its alarm and one item per unit told.
ITEMS_PER_TRANSACTION = 100
CLAIMS_PER_TRANSACTION = 100
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
                    found.alarms.append(alarm_from_item(item))
                    continue
                esc = Escalation.model_validate(item["doc"])
                (found.retries if esc.state is EscalationState.PENDING else found.expired).append(esc)
            if found.items_read >= limit:
                break
        return found

    # --- deciding -------------------------------------------------------------------------
    def decide(self, decisions: Sequence[Decision], lease_until: datetime) -> list[Escalation]:
        """Write each decision's new escalations (state sending, leased; unreachable ones as they
        are) together with its advanced alarm, in one transaction per chunk. Returns those this
        run created: only the run whose write succeeded publishes, so a double run or a retry
        sends nothing twice."""
        created: list[Escalation] = []
        for chunk in _chunks_by_items(decisions, ITEMS_PER_TRANSACTION):
            items = [item for decision in chunk for item in self._decision_items(decision, lease_until)]
            if self._transact(items):
                created += [esc for d in chunk for esc in d.escalations]
                continue
            for decision in chunk:  # someone else got there for at least one: sort them out singly
                if self._transact(self._decision_items(decision, lease_until)):
                    created += decision.escalations
                elif decision.escalations and self._exists(decision.escalations[0]):
                    # decided before (its alarm update was lost to a concurrent case write): move on
                    self._transact([self._alarm_put(decision.alarm, decision.advanced)])
        return created

    def _decision_items(self, decision: Decision, lease_until: datetime) -> list[dict[str, Any]]:
        return [self._alarm_put(decision.alarm, decision.advanced),
                *({"Put": {"TableName": self._table,
                           "Item": escalation_item(esc, due=None if esc.state is EscalationState.UNREACHABLE
                                                   else lease_until),
                           "ConditionExpression": "attribute_not_exists(pk)"}}
                  for esc in decision.escalations)]

    def _alarm_put(self, read: Alarm, advanced: Alarm) -> dict[str, Any]:
        """Replace the alarm only if it is still the one read: a moved deadline, a stopped clock or
        an acknowledgement in between wins, and these rungs are not taken (the next run re-reads)."""
        acked = ("attribute_not_exists(acked)" if not read.acknowledged
                 else "size(acked) = :acked")
        values = {":dv": {"N": str(read.deadline_version)}, ":last": {"S": read.last_level or "-"}}
        if read.acknowledged:
            values[":acked"] = {"N": str(len(read.acknowledged))}
        return {"Put": {
            "TableName": self._table, "Item": alarm_item(advanced),
            "ConditionExpression": f"dv = :dv AND last_level = :last AND {acked}",
            "ExpressionAttributeValues": values,
        }}

    def claim(self, retries: Sequence[Escalation], lease_until: datetime) -> list[Escalation]:
        """pending → sending for the escalations this run will publish again."""
        claimed: list[Escalation] = []
        for start in range(0, len(retries), CLAIMS_PER_TRANSACTION):
            chunk = retries[start:start + CLAIMS_PER_TRANSACTION]
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


def _chunks_by_items(decisions: Sequence[Decision], limit: int) -> list[list[Decision]]:
    """Consecutive decisions whose items (alarm + escalations) fit in one transaction."""
    chunks: list[list[Decision]] = [[]]
    size = 0
    for decision in decisions:
        items = 1 + len(decision.escalations)
        if size + items > limit and chunks[-1]:
            chunks.append([])
            size = 0
        chunks[-1].append(decision)
        size += items
    return [chunk for chunk in chunks if chunk]
