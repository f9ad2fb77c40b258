"""The administrators' list of escalation-risk phrases (`CONFIG#RISK-PHRASES`), cached briefly
so an intake reads the table at most once a minute per container."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from chalicelib.adapters.table import from_item, to_item
from chalicelib.domain.errors import StaleVersion
from chalicelib.services.ports import StoredPhrases

_KEY = {"pk": "CONFIG#RISK-PHRASES", "sk": "CURRENT"}



class DynamoRiskPhrases:
    def __init__(self, client: Any, table_name: str, cache_seconds: float = 60.0) -> None:
        self._client = client
        self._table = table_name
        self._cache_seconds = cache_seconds
        self._cache: tuple[float, StoredPhrases | None] | None = None

    def get(self) -> StoredPhrases | None:
        """The stored list, or None while administrators have not stored one."""
        if self._cache and time.monotonic() - self._cache[0] <= self._cache_seconds:
            return self._cache[1]
        found = self._client.get_item(TableName=self._table, ConsistentRead=True, Key=to_item(_KEY))
        item = from_item(found["Item"]) if "Item" in found else None
        stored = (StoredPhrases(tuple(item.get("phrases", [])), item["updated_by"],
                                datetime.fromisoformat(item["updated_at"]), int(item.get("version", 1)))
                  if item else None)
        self._cache = (time.monotonic(), stored)
        return stored

    def put(self, phrases: tuple[str, ...], actor: str, now: datetime, expected_version: int) -> StoredPhrases:
        """Replaces the list only if nobody stored another since `expected_version` was read (an
        item stored before lists had versions counts as version 1)."""
        if expected_version == 0:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            stored_as = "version = :v" + (" OR attribute_not_exists(version)" if expected_version == 1 else "")
            condition = {"ConditionExpression": f"attribute_exists(pk) AND ({stored_as})",
                         "ExpressionAttributeValues": to_item({":v": expected_version})}
        try:
            self._client.put_item(TableName=self._table, Item=to_item({
                **_KEY, "entity": "risk-phrases", "phrases": list(phrases), "updated_by": actor,
                "updated_at": now.isoformat(), "version": expected_version + 1}), **condition)
        except self._client.exceptions.ConditionalCheckFailedException as exc:
            self._cache = None
            raise StaleVersion("the phrase list was changed meanwhile; read it again and repeat your change",
                               {"version": f"not the stored list's version ({expected_version} was sent)"}) from exc
        stored = StoredPhrases(phrases, actor, now, expected_version + 1)
        self._cache = (time.monotonic(), stored)
        return stored
