"""The customer index: one item per case under its customer's keyed hash
(`CUSTOMER#<hmac>` / `<received, UTC>#<case id>`), written in the intake's own transaction; it
holds the case id, unit, type and time of receipt, never a phone number or a name."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from chalicelib.adapters.table import CASE_SK, case_pk, due_key, epoch_seconds, from_item, query_all, to_item
from chalicelib.domain.models import CaseType
from chalicelib.services.ports import CustomerLink, FiledUnderCustomer

# A customer's cases read for one case page or register row (the newest first).
MAX_LINKED = 50


class DynamoCustomerLinks:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def cases_of(self, key: str, limit: int = MAX_LINKED) -> list[CustomerLink]:
        """The customer's cases, newest first."""
        links = []
        for item in query_all(self._client, TableName=self._table, KeyConditionExpression="pk = :pk",
                              ExpressionAttributeValues=to_item({":pk": f"CUSTOMER#{key}"}),
                              ScanIndexForward=False):
            row = from_item(item)
            links.append(CustomerLink(row["case_id"], row["unit_id"], CaseType(row["type"]),
                                      datetime.fromisoformat(row["received_at"])))
            if len(links) >= limit:
                break
        return links

    def current(self, case_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """case id → (status, unit) of the cases the table still holds (an archived case's hot copy
        expires; the archive keeps it)."""
        wanted = list(dict.fromkeys(case_ids))
        found: dict[str, tuple[str, str]] = {}
        for start in range(0, len(wanted), 100):
            keys = [to_item({"pk": case_pk(cid), "sk": CASE_SK}) for cid in wanted[start:start + 100]]
            request: dict[str, Any] = {self._table: {"Keys": keys, "ProjectionExpression": "case_id, #s, unit_id",
                                                     "ExpressionAttributeNames": {"#s": "status"}}}
            while request:
                answer = self._client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self._table, []):
                    row = from_item(item)
                    found[row["case_id"]] = (row["status"], row["unit_id"])
                request = answer.get("UnprocessedKeys") or {}
        return found


def customer_link_put(table: str, filed: FiledUnderCustomer) -> dict[str, Any]:
    """The transaction item that files a case under its customer: at intake, and again (with the
    unit it ended in and its expiry) when it is archived."""
    item: dict[str, Any] = {
        "pk": f"CUSTOMER#{filed.customer_key}", "sk": f"{due_key(filed.received_at)}#{filed.case_id}",
        "entity": "customer-link", "case_id": filed.case_id, "unit_id": filed.unit_id, "type": filed.type.value,
        "received_at": filed.received_at.isoformat()}
    if filed.expires_at is not None:
        item["expires_at"] = epoch_seconds(filed.expires_at)
    return {"Put": {"TableName": table, "Item": to_item(item)}}
