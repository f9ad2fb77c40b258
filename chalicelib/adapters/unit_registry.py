"""The organisation's units (one small partition, `ORG`) and the official calendar dates an
administrator loads per country (`CALENDAR#<country>`), each read once and cached briefly."""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Any

from chalicelib.adapters.table import ORG_PK, from_item, query_all, to_item, unit_key
from chalicelib.domain.models import Unit


class DynamoUnitRegistry:
    """Units live in one small partition (`ORG`); read once and kept for `cache_seconds`."""

    def __init__(self, client: Any, table_name: str, cache_seconds: float = 60.0) -> None:
        self._client = client
        self._table = table_name
        self._cache_seconds = cache_seconds
        self._units: dict[str, Unit] = {}
        self._loaded_at = float("-inf")

    def put(self, unit: Unit) -> None:
        self._client.put_item(TableName=self._table, Item=to_item({
            "pk": ORG_PK, "sk": unit_key(unit.unit_id), "entity": "unit",
            "doc": unit.model_dump(mode="json")}))
        self._loaded_at = float("-inf")

    def _refresh(self) -> None:
        units: dict[str, Unit] = {}
        for raw in query_all(self._client, TableName=self._table, KeyConditionExpression="pk = :pk",
                             ExpressionAttributeValues={":pk": {"S": ORG_PK}}):
            unit = Unit.model_validate(from_item(raw)["doc"])
            units[unit.unit_id] = unit
        self._units, self._loaded_at = units, time.monotonic()

    def all(self) -> list[Unit]:
        if time.monotonic() - self._loaded_at > self._cache_seconds:
            self._refresh()
        return sorted(self._units.values(), key=lambda u: u.unit_id)

    def get(self, unit_id: str) -> Unit | None:
        """A unit missing from the cache triggers one re-read, so a new unit is seen at once."""
        self.all()
        if unit_id not in self._units:
            self._refresh()
        return self._units.get(unit_id)

    def lineage(self, unit_id: str) -> list[str]:
        """The unit and every unit above it, nearest first; empty for an unknown unit."""
        chain: list[str] = []
        unit = self.get(unit_id)
        while unit is not None and unit.unit_id not in chain:
            chain.append(unit.unit_id)
            unit = self.get(unit.parent_id) if unit.parent_id else None
        return chain


class DynamoCalendarOverrides:
    """Official dates an administrator loaded per country (`CALENDAR#<country>`), cached briefly."""

    def __init__(self, client: Any, table_name: str, cache_seconds: float = 60.0) -> None:
        self._client = client
        self._table = table_name
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, dict[date, bool]]] = {}

    def get(self, country: str) -> dict[date, bool]:
        cached = self._cache.get(country)
        if cached and time.monotonic() - cached[0] <= self._cache_seconds:
            return cached[1]
        found = self._client.get_item(TableName=self._table, ConsistentRead=True,
                                      Key=to_item({"pk": f"CALENDAR#{country}", "sk": "OVERRIDES"}))
        dates = {date.fromisoformat(day): working
                 for day, working in from_item(found.get("Item", {})).get("dates", {}).items()}
        self._cache[country] = (time.monotonic(), dates)
        return dates

    def merge(self, country: str, dates: dict[date, bool | None], actor: str, now: datetime) -> dict[date, bool]:
        """Adds to what was loaded before (a later load of the same date wins); None takes a date
        back out."""
        merged = {**self.get(country), **{day: working for day, working in dates.items() if working is not None}}
        for day in (day for day, working in dates.items() if working is None):
            merged.pop(day, None)
        self._client.put_item(TableName=self._table, Item=to_item({
            "pk": f"CALENDAR#{country}", "sk": "OVERRIDES", "entity": "calendar",
            "dates": {day.isoformat(): working for day, working in sorted(merged.items())},
            "updated_by": actor, "updated_at": now.isoformat()}))
        self._cache[country] = (time.monotonic(), merged)
        return merged
