"""DynamoDB: the statistics counters, one item per unit and unit-local day.

pk `STATS#<unit_id>`, sk `DAY#<yyyy-mm-dd>`, one Number attribute per counter. They are added to
(`ADD`) in the same transaction as the case change they count, so a count is never lost or made
twice; a report reads days × units items with BatchGetItem and never a case.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from chalicelib.domain.statistics import StatsDelta

BATCH_GET_LIMIT = 100


def stats_key(unit_id: str, day: date) -> dict[str, Any]:
    return {"pk": {"S": f"STATS#{unit_id}"}, "sk": {"S": f"DAY#{day.isoformat()}"}}


def stats_updates(table: str, deltas: Iterable[StatsDelta]) -> list[dict[str, Any]]:
    """Transaction items adding the deltas; one per (unit, day), since a transaction may touch an
    item only once."""
    merged: dict[tuple[str, date], Counter[str]] = {}
    for delta in deltas:
        merged.setdefault((delta.unit_id, delta.day), Counter()).update(delta.counters)
    items = []
    for (unit_id, day), counters in sorted(merged.items()):
        names = {f"#c{i}": name for i, name in enumerate(sorted(counters))}
        values = {f":v{i}": {"N": str(counters[name])} for i, name in enumerate(sorted(counters))}
        items.append({"Update": {
            "TableName": table, "Key": stats_key(unit_id, day),
            "UpdateExpression": "SET #entity = :entity ADD " + ", ".join(f"#c{i} :v{i}" for i in range(len(names))),
            "ExpressionAttributeNames": {**names, "#entity": "entity"},
            "ExpressionAttributeValues": {**values, ":entity": {"S": "stats"}},
        }})
    return items


class DynamoStatsReader:
    """Reads counter items; `items_read` counts what every call read, for the benchmark and tests."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name
        self.items_read = 0

    def days(self, unit_ids: Sequence[str], days: Sequence[date]) -> dict[tuple[str, date], dict[str, int]]:
        """The counters of each (unit, day) that has any; BatchGetItem, 100 keys a call."""
        keys = [stats_key(unit_id, day) for unit_id in unit_ids for day in days]
        found: dict[tuple[str, date], dict[str, int]] = {}
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            pending: list[dict[str, Any]] = keys[start:start + BATCH_GET_LIMIT]
            for attempt in range(8):
                if not pending:
                    break
                answer = self._client.batch_get_item(RequestItems={self._table: {"Keys": pending}})
                for item in answer["Responses"].get(self._table, []):
                    self.items_read += 1
                    unit_id = item["pk"]["S"].removeprefix("STATS#")
                    day = date.fromisoformat(item["sk"]["S"].removeprefix("DAY#"))
                    found[(unit_id, day)] = {k: int(v["N"]) for k, v in item.items() if "N" in v}
                pending = answer.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
                if pending:
                    time.sleep(min(0.05 * 2 ** attempt, 1.0))
            if pending:
                raise RuntimeError(f"{len(pending)} statistics items stayed unprocessed; retry the report")
        return found


class DynamoSentReports:
    """Which scheduled report (daily register, weekly report) went out: one item per report key,
    claimed before publishing and marked failed if the publish failed, so the next run retries it
    and no run sends it twice. Kept 90 days. (Put only: the reports function may delete nothing.)"""

    def __init__(self, client: Any, table_name: str, keep_seconds: int = 90 * 86400) -> None:
        self._client = client
        self._table = table_name
        self._keep = keep_seconds

    def _key(self, report_key: str) -> dict[str, Any]:
        return {"pk": {"S": "REPORT-SENT"}, "sk": {"S": report_key}}

    def claim(self, report_key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._client.put_item(TableName=self._table,
                                  ConditionExpression="attribute_not_exists(pk) OR #state = :failed",
                                  ExpressionAttributeNames={"#state": "state"},
                                  ExpressionAttributeValues={":failed": {"S": "failed"}},
                                  Item=self._item(report_key, "sent"))
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def was_sent(self, report_key: str) -> bool:
        found = self._client.get_item(TableName=self._table, Key=self._key(report_key), ConsistentRead=True)
        return bool(found.get("Item", {}).get("state", {}).get("S") == "sent")

    def release(self, report_key: str) -> None:
        self._client.put_item(TableName=self._table, Item=self._item(report_key, "failed"))

    def _item(self, report_key: str, state: str) -> dict[str, Any]:
        return {**self._key(report_key), "entity": {"S": "report-sent"}, "state": {"S": state},
                "expires_at": {"N": str(int(time.time()) + self._keep)}}
