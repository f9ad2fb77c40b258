"""The staff directory's use cases: an administrator adds, changes, deactivates and imports staff;
the identity provider (Cognito in AWS) follows every change, so the directory and the user pool
never disagree."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from chalicelib.domain.calendar import country_of
from chalicelib.domain.errors import InvalidInput, StaffNotFound
from chalicelib.domain.staff import StaffDetails, StaffMember, e164
from chalicelib.observability import logger
from chalicelib.services.ports import IdentityProvider, StaffDirectory, Units


@dataclass
class ImportReport:
    """What a bulk import did: who was added or changed, and each refused row with its line."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)


class StaffService:
    def __init__(self, directory: StaffDirectory, units: Units, identity: IdentityProvider) -> None:
        self._directory = directory
        self._units = units
        self._identity = identity

    def add(self, details: StaffDetails) -> StaffMember:
        return self._store(details, None)

    def update(self, staff_id: str, details: StaffDetails) -> StaffMember:
        return self._store(details, self.get(staff_id))

    def deactivate(self, staff_id: str) -> StaffMember:
        """The person can no longer sign in (disabled in the user pool) nor receive escalations;
        their name stays on every case they worked."""
        previous = self.get(staff_id)
        details = StaffDetails.model_validate({**previous.model_dump(exclude={"staff_id"}), "active": False})
        return self._store(details, previous)

    def get(self, staff_id: str) -> StaffMember:
        member = self._directory.get(staff_id)
        if member is None:
            raise StaffNotFound(f"no member of staff {staff_id[:64]!r}")
        return member

    def list(self, unit_id: str | None = None) -> list[StaffMember]:
        """The directory, or one unit's staff and the units below it."""
        members = self._directory.all()
        if unit_id is None:
            return members
        return [m for m in members if unit_id in self._units.lineage(m.unit_id)]

    def import_rows(self, rows: Iterable[tuple[int, dict[str, Any]]],
                    progress: Callable[[int], None] | None = None) -> ImportReport:
        """Each row (line number, fields) is checked whole and stored on its own or not at all; a
        refused row is reported with its line and reasons and the import goes on. A row with a
        `staff_id` changes that person; one without adds a person."""
        report = ImportReport()
        for line, row in rows:
            try:
                staff_id = row.get("staff_id") or None
                details = StaffDetails.model_validate({k: v for k, v in row.items() if k != "staff_id"})
                previous = self.get(staff_id) if staff_id else None
                member = self._store(details, previous)
            except ValidationError as exc:
                report.refused.append({"line": line, "fields": {".".join(map(str, e["loc"])) or "row": e["msg"]
                                                                for e in exc.errors()}})
            except (InvalidInput, StaffNotFound) as exc:
                report.refused.append({"line": line, "fields": exc.fields or {"staff_id": exc.message}})
            else:
                (report.updated if staff_id else report.created).append(member.staff_id)
            if progress:
                progress(1)
        logger.info("staff imported", extra={"people_added": len(report.created),
                                             "people_changed": len(report.updated),
                                             "rows_refused": len(report.refused)})
        return report

    def _store(self, details: StaffDetails, previous: StaffMember | None) -> StaffMember:
        """Checks the person against the organisation, then the identity provider, then the
        directory: a failure before the directory write leaves nothing in it."""
        unit = self._units.get(details.unit_id)
        problems: dict[str, str] = {}
        phone = None
        if unit is None:
            problems["unit_id"] = f"no unit {details.unit_id!r} in the organisation"
        elif details.phone:
            try:
                phone = e164(details.phone, country_of(unit.calendar))
            except ValueError as exc:
                problems["phone"] = str(exc)
        if problems:
            raise InvalidInput("the member of staff cannot be stored as sent", problems)
        draft = StaffMember(staff_id=previous.staff_id if previous else "pending", name=details.name,
                            unit_id=details.unit_id, roles=details.roles, phone=phone, email=details.email,
                            language=details.language, active=details.active)
        staff_id = self._identity.enrol(draft, previous)
        member = draft.model_copy(update={"staff_id": staff_id})
        self._directory.put(member)
        logger.info("staff stored", extra={"staff_id": staff_id, "unit_id": member.unit_id,
                                           "roles": sorted(member.roles), "active": member.active})
        return member
