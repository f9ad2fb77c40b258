"""DynamoDB: spot checks. One partition per check: the check itself (`CHECK`: unit,
period, share, seed, the sample) and one item per recorded outcome (`RESULT#<case_id>`, written
once: a case's outcome cannot be recorded twice). A marker per unit and period
(`SPOTCHECK-PERIOD#<unit>#<from>#<to>`) names the check that holds it: one open check at a time."""

from __future__ import annotations

from datetime import date
from typing import Any

from chalicelib.adapters.table import from_item, query_all, to_item, transact
from chalicelib.domain.reports import SampleOutcome, SpotCheckDraw


class DynamoSpotChecks:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def create(self, check: SpotCheckDraw, replaces: str | None = None) -> bool:
        """The check and its unit-and-period marker in one transaction; False if another check
        holds the marker (`replaces` names the finished check whose marker may be taken over)."""
        marker = {"pk": _period_key(check.unit_id, check.start, check.end), "sk": "OPEN",
                  "entity": "spot-check-period", "check_id": check.check_id}
        claim: dict[str, Any] = {"TableName": self._table, "Item": to_item(marker)}
        if replaces is None:
            claim["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            claim.update(ConditionExpression="check_id = :finished",
                         ExpressionAttributeValues={":finished": {"S": replaces}})
        return transact(self._client, [
            {"Put": {"TableName": self._table, "ConditionExpression": "attribute_not_exists(pk)",
                     "Item": to_item({"pk": f"SPOTCHECK#{check.check_id}", "sk": "CHECK",
                                      "entity": "spot-check", "doc": check.model_dump(mode="json")})}},
            {"Put": claim}])

    def holder(self, unit_id: str, date_from: date, date_to: date) -> str | None:
        """The check that last claimed this unit and period, if any."""
        found = self._client.get_item(TableName=self._table, ConsistentRead=True,
                                      Key={"pk": {"S": _period_key(unit_id, date_from, date_to)},
                                           "sk": {"S": "OPEN"}}).get("Item")
        return found["check_id"]["S"] if found else None

    def get(self, check_id: str) -> tuple[SpotCheckDraw, dict[str, SampleOutcome]] | None:
        """The check and its recorded outcomes by case id; None for an unknown check."""
        items = [from_item(raw) for raw in query_all(
            self._client, TableName=self._table, ConsistentRead=True, KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"SPOTCHECK#{check_id}"}})]
        check = next((i["doc"] for i in items if i["sk"] == "CHECK"), None)
        if check is None:
            return None
        results = [SampleOutcome.model_validate(i["doc"]) for i in items if i["sk"].startswith("RESULT#")]
        return SpotCheckDraw.model_validate(check), {result.case_id: result for result in results}


def _period_key(unit_id: str, date_from: date, date_to: date) -> str:
    return f"SPOTCHECK-PERIOD#{unit_id}#{date_from.isoformat()}#{date_to.isoformat()}"


def outcome_put(table: str, check_id: str, result: SampleOutcome) -> dict[str, Any]:
    """The transaction item recording one outcome, refused if the case's outcome exists."""
    return {"Put": {"TableName": table, "ConditionExpression": "attribute_not_exists(pk)",
                    "Item": to_item({"pk": f"SPOTCHECK#{check_id}", "sk": f"RESULT#{result.case_id}",
                                     "entity": "spot-check-result", "doc": result.model_dump(mode="json")})}}
