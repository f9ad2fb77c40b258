"""The administrators' list of escalation-risk phrases (`CONFIG#RISK-PHRASES`), cached briefly
so an intake reads the table at most once a minute per container."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from chalicelib.adapters.table import from_item, to_item
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
                                datetime.fromisoformat(item["updated_at"])) if item else None)
        self._cache = (time.monotonic(), stored)
        return stored

    def put(self, phrases: tuple[str, ...], actor: str, now: datetime) -> StoredPhrases:
        self._client.put_item(TableName=self._table, Item=to_item({
            **_KEY, "entity": "risk-phrases", "phrases": list(phrases),
            "updated_by": actor, "updated_at": now.isoformat()}))
        stored = StoredPhrases(phrases, actor, now)
        self._cache = (time.monotonic(), stored)
        return stored
