"""The staff directory's records (rulebook §4: tiered responsibility needs to know who is who):
a member of staff is an identity (the identity provider's `sub`), a unit, roles on that unit, and
the channels escalations reach them on. Pure: validation and rules, no AWS."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.domain.auth import MANAGERS, Role
from chalicelib.domain.models import EmailAddress, ShortText, Strict, UnitId

StaffId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9\-_.]{0,127}$")]
Email = EmailAddress  # one rule for an address, the customer's and staff's alike
RawPhone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]

# Roles that make a person someone escalations and notices are for (rulebook §2, §4).
NOTIFIED_ROLES = MANAGERS | {Role.REGIONAL_SPECIALIST}


class Language(StrEnum):
    ZH = "zh"
    EN = "en"


class StaffDetails(Strict):
    """What an administrator sends to add or change a member of staff (the id is not theirs to
    choose: it is the identity provider's)."""

    name: ShortText
    unit_id: UnitId
    roles: Annotated[frozenset[Role], Field(min_length=1, max_length=len(Role))]
    phone: RawPhone | None = None
    email: Email | None = None
    language: Language = Language.ZH
    active: bool = True


class StaffMember(BaseModel):
    """One person in the directory. `phone` is E.164, normalised with the unit's country as the
    default region (`13800138000` at a Chinese unit is `+8613800138000`)."""

    model_config = ConfigDict(frozen=True)

    staff_id: StaffId
    name: ShortText
    unit_id: UnitId
    roles: frozenset[Role]
    phone: str | None = None
    email: str | None = None
    language: Language = Language.ZH
    active: bool = True

    @property
    def notified(self) -> bool:
        """Escalations and notices for this person's unit are for them."""
        return self.active and bool(self.roles & NOTIFIED_ROLES)

    def manages(self, unit_lineage: list[str]) -> bool:
        """Rulebook §4: a manager of a unit or of any unit above it (`unit_lineage`: the unit and
        the units above it) may approve and acknowledge for it."""
        return self.active and bool(self.roles & MANAGERS) and self.unit_id in unit_lineage


def e164(raw: str, country: str) -> str:
    """`raw` as an E.164 number, read in `country` (ISO 3166 alpha-2) unless it names its own
    (+44…). Raises ValueError with the reason when it is not a valid number."""
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number ({exc})") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"not a valid number for {phonenumbers.region_code_for_number(number) or country}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def rows_from_csv(text: str) -> list[tuple[int, dict[str, object]]]:
    """The rows of a staff CSV file (header row first) as (line number, fields): roles are
    separated by `;`, `active` is true unless it says false/no/0, empty cells are left out."""
    import csv
    import io

    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    rows: list[tuple[int, dict[str, object]]] = []
    for record in reader:
        fields: dict[str, object] = {k.strip(): (v or "").strip() for k, v in record.items() if k}
        fields = {k: v for k, v in fields.items() if v != ""}
        if "roles" in fields:
            fields["roles"] = [r.strip() for r in str(fields["roles"]).split(";") if r.strip()]
        if "active" in fields:
            fields["active"] = str(fields["active"]).lower() not in ("false", "no", "0")
        rows.append((reader.line_num, fields))
    return rows
