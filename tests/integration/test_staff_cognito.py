"""The user pool follows the staff directory (moto's Cognito): a person added is a user with their
unit and groups, a change of roles moves their groups, deactivation disables them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.staff_directory import CognitoIdentityProvider
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.staff import StaffDetails
from chalicelib.services.staff import StaffService
from tests.fakes import InMemoryStaffDirectory, InMemoryUnits, sample_staffed_units


@pytest.fixture
def pool() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        cognito = boto3.client("cognito-idp", region_name="us-east-1")
        pool_id = cognito.create_user_pool(
            PoolName="complaint-desk-test", UsernameAttributes=["email"],
            Schema=[{"Name": "unit_id", "AttributeDataType": "String", "Mutable": False}])["UserPool"]["Id"]
        for group in ("agent", "unit-manager", "branch-supervisor", "regional-specialist", "auditor", "admin"):
            cognito.create_group(GroupName=group, UserPoolId=pool_id)
        yield cognito, pool_id


def groups(cognito: Any, pool_id: str, email: str) -> set[str]:
    return {g["GroupName"] for g in cognito.admin_list_groups_for_user(UserPoolId=pool_id, Username=email)["Groups"]}


def test_the_user_pool_follows_every_change_of_the_directory(pool: tuple[Any, str]) -> None:
    cognito, pool_id = pool
    service = StaffService(InMemoryStaffDirectory(), InMemoryUnits(list(sample_staffed_units().values())),
                           CognitoIdentityProvider(cognito, pool_id))
    added = service.add(StaffDetails(name="Xu Wei", unit_id="store-xh-01", roles=frozenset({"agent"}),
                                     phone="13800138000", email="xu.wei@example.com"))
    user = cognito.admin_get_user(UserPoolId=pool_id, Username="xu.wei@example.com")
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attributes["sub"] == added.staff_id  # the directory's id is the user's sub
    assert (attributes["custom:unit_id"], attributes["name"]) == ("store-xh-01", "Xu Wei")
    assert groups(cognito, pool_id, "xu.wei@example.com") == {"agent"}

    promoted = StaffDetails(name="Xu Wei", unit_id="store-xh-01", roles=frozenset({"unit-manager"}),
                            email="xu.wei@example.com")
    service.update(added.staff_id, promoted)
    assert groups(cognito, pool_id, "xu.wei@example.com") == {"unit-manager"}
    service.deactivate(added.staff_id)
    assert cognito.admin_get_user(UserPoolId=pool_id, Username="xu.wei@example.com")["Enabled"] is False
    assert service.get(added.staff_id).active is False


def test_without_an_email_nobody_can_sign_in_so_the_person_is_refused_and_nothing_is_stored(
        pool: tuple[Any, str]) -> None:
    cognito, pool_id = pool
    directory = InMemoryStaffDirectory()
    service = StaffService(directory, InMemoryUnits(list(sample_staffed_units().values())),
                           CognitoIdentityProvider(cognito, pool_id))
    with pytest.raises(InvalidInput) as refused:
        service.add(StaffDetails(name="No Mail", unit_id="store-xh-01", roles=frozenset({"agent"})))
    assert "email" in refused.value.fields
    assert directory.all() == [] and cognito.list_users(UserPoolId=pool_id)["Users"] == []


def test_the_first_administrator_is_in_the_directory_and_the_pool_and_can_sign_in(
        pool: tuple[Any, str], aws: dict[str, str]) -> None:
    """infra/first_admin.py on a fresh stage: the top unit and one administrator, nothing else."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("first_admin", Path(__file__).parents[2] / "infra" / "first_admin.py")
    assert spec and spec.loader
    first_admin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(first_admin)
    cognito, pool_id = pool
    outputs = {"TableName": aws["TABLE_NAME"], "EscalationTopicArn": aws["ESCALATION_TOPIC_ARN"], "UserPoolId": pool_id}
    top = {"unit_id": "branch-new", "name": "New Branch", "kind": "branch", "time_zone": "Asia/Shanghai",
           "calendar": "CN"}
    admin = first_admin.enrol_first_admin(outputs, boto3.client("dynamodb"), cognito, "Gao Min",
                                          "gao.min@example.com", "branch-new", top)
    user = cognito.admin_get_user(UserPoolId=pool_id, Username="gao.min@example.com")
    assert {a["Name"]: a["Value"] for a in user["UserAttributes"]}["sub"] == admin.staff_id
    assert groups(cognito, pool_id, "gao.min@example.com") == {"admin"}
    from chalicelib.bootstrap import signed_in
    from tests.conftest import staff_token

    token = staff_token("Gao Min", ["admin"], "branch-new", enrol=False, sub=admin.staff_id)
    assert signed_in(f"Bearer {token}").roles == {"admin"}
