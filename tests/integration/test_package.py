"""The deployable template (issue 6, first part): `chalice package --merge-template` builds it
without AWS credentials, cfn-lint passes, and the properties the code relies on are in it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


class _Loader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!GetAtt, !Sub, …) as plain values."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: loader.construct_scalar(node)
                              if isinstance(node, yaml.ScalarNode) else loader.construct_sequence(node))


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("package")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_DEFAULT_REGION"] = "us-east-1"  # a region, no credentials
    subprocess.run([str(BIN / "chalice"), "package", "--stage", "prod", "--merge-template",
                    "infra/resources.yaml", str(out)], cwd=ROOT, env=env, check=True,
                   capture_output=True, text=True, timeout=600)
    yield out / "sam.yaml"


def template(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_Loader)  # a SafeLoader subclass


def test_the_packaged_template_passes_cfn_lint(packaged: Path) -> None:
    lint = subprocess.run([str(BIN / "cfn-lint"), str(packaged)], capture_output=True, text=True, timeout=300)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_data_resources_keep_their_protections(packaged: Path) -> None:
    resources = template(packaged)["Resources"]
    table = resources["CasesTable"]["Properties"]
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert {i["IndexName"] for i in table["GlobalSecondaryIndexes"]} == {"by_unit", "by_unit_status", "open_deadlines"}
    bucket = resources["ArchiveBucket"]["Properties"]
    assert bucket["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Mode"] == "COMPLIANCE"
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in role["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def test_each_function_has_its_own_policy_with_no_wildcard_actions(packaged: Path) -> None:
    resources = template(packaged)["Resources"]
    roles = {name: res for name, res in resources.items() if res["Type"] == "AWS::IAM::Role"}
    assert set(roles) == {"ApiHandlerRole", "EscalateRole", "ArchiveRole"}
    for name, role in roles.items():
        for statement in _statements(role):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any("*" in action for action in actions), (name, statement)
    escalate = {a for s in _statements(roles["EscalateRole"]) for a in s["Action"]}
    assert "sns:Publish" in escalate
    assert not {"dynamodb:DeleteItem", "dynamodb:UpdateTable", "dynamodb:DeleteTable"} & escalate
    archive = {a for s in _statements(roles["ArchiveRole"]) for a in s["Action"]}
    assert {"s3:PutObject", "s3:PutObjectRetention"} <= archive  # a lock is set with the upload
    assert not {a for a in archive if a.startswith("s3:Delete") or a == "s3:BypassGovernanceRetention"}
    assert not {"s3:PutObjectLegalHold", "dynamodb:DeleteItem", "sns:Publish"} & archive
    every_action = {a for role in roles.values() for s in _statements(role) for a in s["Action"]}
    assert not {"s3:BypassGovernanceRetention", "s3:DeleteObjectVersion", "s3:PutBucketObjectLockConfiguration",
                "s3:PutLifecycleConfiguration"} & every_action
