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
    assert set(roles) == {"ApiHandlerRole", "EscalateRole", "ArchiveRole", "ReportsRole"}
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
    reports = {a for s in _statements(roles["ReportsRole"]) for a in s["Action"]}
    assert {"dynamodb:BatchGetItem", "sns:Publish"} <= reports
    assert not {a for a in reports if "Delete" in a or "Update" in a or a.startswith("s3:")}
    every_action = {a for role in roles.values() for s in _statements(role) for a in s["Action"]}
    assert not {"s3:BypassGovernanceRetention", "s3:DeleteObjectVersion", "s3:PutBucketObjectLockConfiguration",
                "s3:PutLifecycleConfiguration"} & every_action


def test_every_function_reads_its_resources_from_the_template_as_the_local_stack_does(packaged: Path) -> None:
    """One source of truth: the variables the local stack sets are the ones CloudFormation resolves
    for every deployed function, pointing at the same resources."""
    from local.provision import stage_environment

    resources = template(packaged)["Resources"]
    functions = {name: res for name, res in resources.items() if res["Type"] == "AWS::Serverless::Function"}
    assert set(functions) == {"APIHandler", "Escalate", "Archive", "Reports"}
    logical = {"CasesTable": "table", "EscalationTopic": "topic", "ArchiveBucket": "bucket"}
    local = stage_environment(logical)
    assert set(local) == {"TABLE_NAME", "ESCALATION_TOPIC_ARN", "ARCHIVE_BUCKET", "AUTH_ISSUER", "AUTH_AUDIENCE",
                          "AUTH_SIGNIN_URL"}
    assert (local["TABLE_NAME"], local["ESCALATION_TOPIC_ARN"], local["ARCHIVE_BUCKET"]) == ("table", "topic", "bucket")
    for name, function in functions.items():
        variables = function["Properties"]["Environment"]["Variables"]
        from_template = {k: v for k, v in variables.items() if isinstance(v, dict)}
        assert set(from_template) == set(local), name
        assert {k: v["Ref"] for k, v in from_template.items() if "Ref" in v} == {
            "TABLE_NAME": "CasesTable", "ESCALATION_TOPIC_ARN": "EscalationTopic", "ARCHIVE_BUCKET": "ArchiveBucket",
            "AUTH_AUDIENCE": "UserPoolClient"}, name


def test_the_settings_the_code_relies_on_are_in_the_template(packaged: Path) -> None:
    from chalicelib.adapters import dynamodb
    from chalicelib.config import Settings

    resources = template(packaged)["Resources"]
    table = resources["CasesTable"]["Properties"]
    indexes = {i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]] for i in table["GlobalSecondaryIndexes"]}
    assert indexes == {dynamodb.BY_UNIT: ["gsi1pk", "gsi1sk"], dynamodb.BY_UNIT_STATUS: ["gsi2pk", "gsi2sk"],
                       dynamodb.OPEN_DEADLINES: ["due_pk", "due_at"]}
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
    # the archive, the hot copy and powertools' idempotency records all expire through this attribute
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert "expires_at" in (ROOT / "chalicelib" / "bootstrap.py").read_text()
    assert (resources["CasesTable"]["DeletionPolicy"], resources["ArchiveBucket"]["DeletionPolicy"]) == ("Retain",) * 2
    bucket = resources["ArchiveBucket"]["Properties"]
    assert bucket["ObjectLockEnabled"] is True  # per-object compliance locks need a lock-enabled bucket
    settings = Settings()
    timeouts = {name: resources[name]["Properties"]["Timeout"] for name in ("Escalate", "Archive")}
    assert timeouts["Escalate"] > settings.escalation_time_budget_seconds
    assert timeouts["Archive"] > settings.archive_time_budget_seconds
    groups = {r["Properties"]["GroupName"] for r in resources.values() if r["Type"] == "AWS::Cognito::UserPoolGroup"}
    assert groups == {"agent", "unit-manager", "branch-supervisor", "auditor", "admin"}
    outputs = template(packaged)["Outputs"]
    assert {"UserPoolId", "UserPoolClientId", "TokenIssuer", "OpsAlarmTopicArn"} <= set(outputs)


def test_hotline_systems_need_an_api_key_with_a_throttled_usage_plan_and_the_form_is_throttled(
        packaged: Path) -> None:
    resources = template(packaged)["Resources"]
    paths = resources["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    keyed = {(path, method) for path, methods in paths.items() for method, spec in methods.items()
             if isinstance(spec, dict) and {"api_key": []} in spec.get("security", [])}
    assert keyed == {("/intake/hotline", "post")}
    plan = resources["HotlineUsagePlan"]["Properties"]
    assert plan["Throttle"]["RateLimit"] > 0 and plan["Quota"]["Limit"] > 0
    assert resources["HotlineUsagePlanKey"]["Properties"]["KeyId"] == {"Ref": "HotlineApiKey"}
    [public] = resources["RestAPI"]["Properties"]["MethodSettings"]
    assert (public["ResourcePath"], public["HttpMethod"]) == ("/~1public~1cases", "POST")


def test_staff_sign_in_is_the_code_flow_with_pkce_back_to_the_console(packaged: Path) -> None:
    resources = template(packaged)["Resources"]
    client = resources["UserPoolClient"]["Properties"]
    assert client["AllowedOAuthFlows"] == ["code"] and client["GenerateSecret"] is False  # a public client: PKCE
    assert client["CallbackURLs"] == [{"Ref": "ConsoleUrl"}] and client["AllowedOAuthFlowsUserPoolClient"] is True
    assert resources["UserPoolDomain"]["Properties"]["UserPoolId"] == {"Ref": "UserPool"}
    signin = resources["APIHandler"]["Properties"]["Environment"]["Variables"]["AUTH_SIGNIN_URL"]
    assert "${UserPoolDomain}.auth.${AWS::Region}.amazoncognito.com" in signin["Fn::Sub"]
    deploy = (ROOT / "infra" / "deploy.sh").read_text()
    assert '"ConsoleUrl=$1"' in deploy and "output EndpointURL" in deploy  # told its own address
