"""The organisation's units and who is told about their cases (rulebook §4): an administrator loads
units without a deploy, and the managers' SMS/email subscriptions follow at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from chalicelib.adapters.dynamodb import DynamoUnitRegistry
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.models import Unit
from chalicelib.observability import logger


class OrganisationService:
    def __init__(self, units: DynamoUnitRegistry, sync_subscriptions: Callable[[Sequence[Unit]], int]) -> None:
        self._units = units
        self._sync = sync_subscriptions

    def put_unit(self, unit_id: str, unit: Unit) -> dict[str, Any]:
        """Stores the unit (new or changed), then brings every manager subscription in line with the
        registry. Repeating the call is harmless, so a failed subscription step is retried by
        sending the same request again."""
        problems: dict[str, str] = {}
        if unit.unit_id != unit_id:
            problems["unit_id"] = f"the body names {unit.unit_id!r}, the path {unit_id[:40]!r}"
        if unit.parent_id is not None:
            ancestors = self._ancestors(unit.parent_id)
            if ancestors is None:
                problems["parent_id"] = f"no unit {unit.parent_id!r} in the organisation"
            elif unit.unit_id in ancestors:
                problems["parent_id"] = "a unit cannot sit below itself"
        if problems:
            raise InvalidInput("the unit cannot be stored as sent", problems)
        self._units.put(unit)
        changed = self._sync(self._units.all())
        logger.info("unit stored", extra={"unit_id": unit.unit_id, "managers": len(unit.managers),
                                          "subscriptions_changed": changed})
        return {"unit": unit.public_view(), "managers": len(unit.managers), "subscriptions_changed": changed}

    def _ancestors(self, unit_id: str) -> set[str] | None:
        """The unit and every unit above it; None if the unit does not exist."""
        seen: set[str] = set()
        unit = self._units.get(unit_id)
        if unit is None:
            return None
        while unit is not None and unit.unit_id not in seen:
            seen.add(unit.unit_id)
            unit = self._units.get(unit.parent_id) if unit.parent_id else None
        return seen
