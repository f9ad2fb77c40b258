"""The organisation's units (rulebook §4): an administrator loads units without a deploy; who is
told about a unit's cases is the staff directory's to say."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict

from chalicelib.domain.calendar import MovedDeadline, calendar_problem
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.models import Unit, UnitView
from chalicelib.observability import logger
from chalicelib.services.ports import UnitRegistry


class UnitChanged(BaseModel):
    """A unit as stored, how many people of the staff directory manage it, and the open deadlines
    counted again because its calendar changed."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    unit: UnitView
    managers: int  # people of the staff directory with a manager's role on the unit
    moved: list[MovedDeadline]


class OrganisationService:
    def __init__(self, units: UnitRegistry,
                 recount: Callable[[str, str, str], list[MovedDeadline]] | None = None) -> None:
        """`recount(unit_id, actor, reason)` counts the unit's open working-day deadlines again
        (when its calendar changes) and returns the moved ones."""
        self._units = units
        self._recount = recount

    def put_unit(self, unit_id: str, unit: Unit, actor: str = "administrator") -> UnitChanged:
        """Stores the unit (new or changed); repeating the call is harmless. A unit whose calendar
        changes (the London store from `GB` to England's `GB-ENG`) has its open working-day
        deadlines counted again in the new calendar, each move in the case's history."""
        problems: dict[str, str] = {}
        if unit.managers:
            problems["managers"] = ("a unit's managers are staff: add each with POST /staff and the role "
                                    "unit-manager (or regional-specialist) on this unit")
        if unit.unit_id != unit_id:
            problems["unit_id"] = f"the body names {unit.unit_id!r}, the path {unit_id[:40]!r}"
        if unit.parent_id is not None:
            above = self._units.lineage(unit.parent_id)
            if not above:
                problems["parent_id"] = f"no unit {unit.parent_id!r} in the organisation"
            elif unit.unit_id in above:
                problems["parent_id"] = "a unit cannot sit below itself"
        if (calendar := calendar_problem(unit.calendar)) is not None:
            problems["calendar"] = calendar
        if problems:
            raise InvalidInput("the unit cannot be stored as sent", problems)
        before = self._units.get(unit.unit_id)
        self._units.put(unit)
        moved: list[MovedDeadline] = []
        if before is not None and before.calendar != unit.calendar and self._recount is not None:
            moved = self._recount(unit.unit_id, actor, f"the unit's calendar changed from {before.calendar} "
                                                       f"to {unit.calendar}")
        managers = len(stored.managers) if (stored := self._units.get(unit.unit_id)) else 0
        logger.info("unit stored", extra={"unit_id": unit.unit_id, "managers": managers,
                                          "deadlines_moved": len(moved)})
        return UnitChanged(unit=UnitView.of(unit), managers=managers, moved=moved)
