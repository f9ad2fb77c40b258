"""The staff directory in DynamoDB (one small partition, `STAFF`, read once and cached like the
units), the organisation as escalations see it (units with their managers drawn from the
directory), and the identity providers that give each person their id: Cognito in AWS, a local
stand-in elsewhere."""

from __future__ import annotations

import time
import uuid
from typing import Any, Protocol

from chalicelib.adapters.table import from_item, query_all, to_item
from chalicelib.domain.auth import Role
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.models import ManagerContact, Unit
from chalicelib.domain.staff import StaffMember

STAFF_PK = "STAFF"


class DynamoStaffDirectory:
    def __init__(self, client: Any, table_name: str, cache_seconds: float = 60.0) -> None:
        self._client = client
        self._table = table_name
        self._cache_seconds = cache_seconds
        self._staff: dict[str, StaffMember] = {}
        self._by_unit: dict[str, list[StaffMember]] | None = None
        self._loaded_at = float("-inf")

    def put(self, member: StaffMember) -> None:
        self._client.put_item(TableName=self._table, Item=to_item({
            "pk": STAFF_PK, "sk": member.staff_id, "entity": "staff", "doc": member.model_dump(mode="json")}))
        self._staff[member.staff_id] = member
        self._by_unit = None

    def _refresh(self) -> None:
        members = (StaffMember.model_validate(from_item(raw)["doc"]) for raw in query_all(
            self._client, TableName=self._table, KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": STAFF_PK}}))
        staff = {member.staff_id: member for member in members}
        self._staff, self._loaded_at, self._by_unit = staff, time.monotonic(), None

    def all(self) -> list[StaffMember]:
        if time.monotonic() - self._loaded_at > self._cache_seconds:
            self._refresh()
        return sorted(self._staff.values(), key=lambda m: (m.unit_id, m.name, m.staff_id))

    def get(self, staff_id: str) -> StaffMember | None:
        """One missing from the cache triggers a re-read, so a person just added is found at once."""
        self.all()
        if staff_id not in self._staff:
            self._refresh()
        return self._staff.get(staff_id)

    def refresh(self) -> None:
        """Read the directory again now (a person added in another container a moment ago)."""
        self._refresh()

    def of_unit(self, unit_id: str) -> list[StaffMember]:
        """The unit's people (indexed once per read of the directory: units are looked up often)."""
        members = self.all()
        if self._by_unit is None:
            by_unit: dict[str, list[StaffMember]] = {}
            for member in members:
                by_unit.setdefault(member.unit_id, []).append(member)
            self._by_unit = by_unit
        return self._by_unit.get(unit_id, [])

    def named(self, name: str) -> list[StaffMember]:
        return [member for member in self.all() if member.name == name]


class StaffedUnits:
    """The units with their managers as the directory has them: each unit's active staff with a
    role that is told about its cases. The one place a unit's managers come from."""

    def __init__(self, units: Any, staff: DynamoStaffDirectory) -> None:
        self._units = units
        self._staff = staff

    def all(self) -> list[Unit]:
        contacts: dict[str, list[ManagerContact]] = {}
        for member in self._staff.all():
            if member.notified:
                contacts.setdefault(member.unit_id, []).append(_contact(member))
        return [unit.model_copy(update={"managers": tuple(contacts.get(unit.unit_id, ()))})
                for unit in self._units.all()]

    def get(self, unit_id: str) -> Unit | None:
        unit: Unit | None = self._units.get(unit_id)
        if unit is None:
            return None
        managers = tuple(_contact(m) for m in self._staff.of_unit(unit_id) if m.notified)
        return unit.model_copy(update={"managers": managers})

    def lineage(self, unit_id: str) -> list[str]:
        return list(self._units.lineage(unit_id))

    @property
    def directory(self) -> DynamoStaffDirectory:
        return self._staff

    def staff(self, staff_id: str) -> StaffMember | None:
        return self._staff.get(staff_id)

    def put(self, unit: Unit) -> None:
        self._units.put(unit)


def _contact(member: StaffMember) -> ManagerContact:
    roles = ", ".join(sorted(role.value for role in member.roles if role is not Role.AGENT))
    return ManagerContact(name=member.name, role=roles, phone=member.phone, email=member.email,
                          staff_id=member.staff_id, language=member.language.value)


class IdentityProvider(Protocol):
    """Where staff sign in. `enrol` returns the person's id (the provider's `sub`)."""

    def enrol(self, member: StaffMember, previous: StaffMember | None) -> str: ...


class LocalIdentityProvider:
    """The local stack's stand-in: an id of its own for each new person (the local token issuer
    signs tokens for the directory's people)."""

    def enrol(self, member: StaffMember, previous: StaffMember | None) -> str:
        return previous.staff_id if previous else str(uuid.uuid4())


class NamedIdentityProvider:
    """Ids derived from the name (the local token issuer's default `sub` for that name): for the
    sample organisation and tests, so a token minted for "Sun Li" is Sun Li's. Never in AWS."""

    def enrol(self, member: StaffMember, previous: StaffMember | None) -> str:
        return previous.staff_id if previous else str(uuid.uuid5(uuid.NAMESPACE_URL, member.name))


class CognitoIdentityProvider:
    """The Cognito user pool follows the directory: a new person is created (AdminCreateUser, with
    their unit as `custom:unit_id`, which only administrators can set), their roles are the pool's
    groups, and deactivating disables the user. The directory's id is the user's `sub`."""

    def __init__(self, client: Any, user_pool_id: str) -> None:
        self._client = client
        self._pool = user_pool_id

    def enrol(self, member: StaffMember, previous: StaffMember | None) -> str:
        """The pool signs people in by email address (its UsernameAttributes), so staff who sign in
        need one; Cognito emails a new person their temporary password. `custom:unit_id` is set
        once, at creation (the pool declares it immutable); a person moved to another unit is
        moved in the directory, which is what sign-in reads."""
        if not member.email:
            raise InvalidInput("staff sign in with their email address",
                               {"email": "required: the user pool's sign-in name"})
        if previous is None:
            username = member.email
            created = self._client.admin_create_user(
                UserPoolId=self._pool, Username=username, DesiredDeliveryMediums=["EMAIL"],
                UserAttributes=[{"Name": "name", "Value": member.name},
                                {"Name": "custom:unit_id", "Value": member.unit_id},
                                {"Name": "email", "Value": member.email}, {"Name": "email_verified", "Value": "true"}])
            sub = str(next(a["Value"] for a in created["User"]["Attributes"] if a["Name"] == "sub"))
            before: frozenset[Role] = frozenset()
        else:
            username, sub, before = self._username(previous.staff_id), previous.staff_id, previous.roles
            changed = [{"Name": "name", "Value": member.name}] if member.name != previous.name else []
            if member.email != previous.email:
                changed += [{"Name": "email", "Value": member.email}, {"Name": "email_verified", "Value": "true"}]
            if changed:
                self._client.admin_update_user_attributes(UserPoolId=self._pool, Username=username,
                                                          UserAttributes=changed)
        for role in member.roles - before:
            self._client.admin_add_user_to_group(UserPoolId=self._pool, Username=username, GroupName=role.value)
        for role in before - member.roles:
            self._client.admin_remove_user_from_group(UserPoolId=self._pool, Username=username,
                                                      GroupName=role.value)
        if member.active:
            self._client.admin_enable_user(UserPoolId=self._pool, Username=username)
        else:
            self._client.admin_disable_user(UserPoolId=self._pool, Username=username)
        return sub

    def _username(self, sub: str) -> str:
        found = self._client.list_users(UserPoolId=self._pool, Filter=f'sub = "{sub}"', Limit=1)["Users"]
        if not found:
            raise LookupError(f"no user with sub {sub} in the user pool")
        return str(found[0]["Username"])
