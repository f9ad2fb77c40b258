"""The deployable template: `infra/package.py` (chalice package --merge-template) builds it without
AWS credentials, cfn-lint passes, the properties the code relies on are in it, and the template
CloudFormation really deploys (after the SAM transform) is the one intended."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Packaged for a stage other than prod: nothing in the policies or names may assume prod.
STAGE = "staging"
INLINE_TEMPLATE_LIMIT = 51_200  # bytes CloudFormation accepts as TemplateBody
S3_TEMPLATE_LIMIT = 460_800  # bytes of a template given by TemplateURL (CloudFormation quotas)


class _Loader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!GetAtt, !Sub, …) as plain values."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: loader.construct_scalar(node)
                              if isinstance(node, yaml.ScalarNode) else loader.construct_sequence(node))


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("package")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_DEFAULT_REGION"] = "us-east-1"  # a region, no credentials
    subprocess.run([sys.executable, "infra/package.py", STAGE, str(out)], cwd=ROOT, env=env, check=True,
                   capture_output=True, text=True, timeout=600)
    yield out / "sam.yaml"


@pytest.fixture(scope="module")
def transformed(packaged: Path) -> dict[str, Any]:
    """What CloudFormation deploys: the packaged template after the AWS::Serverless transform (run
    locally with aws-sam-translator, the library the transform runs)."""
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    sam = copy.deepcopy(template(packaged))
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":  # `aws cloudformation package` uploads it
            resource["Properties"]["CodeUri"] = "s3://artifacts/deployment.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return Translator(managed_policy_map={}, sam_parser=Parser()).translate(
        sam, parameter_values={"Stage": STAGE, "AWS::Region": "us-east-1"})


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: res for name, res in resources.items() if res["Type"] == kind}


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
    assert set(roles) == {"ApiHandlerRole", "EscalateRole", "ArchiveRole", "ReportsRole", "NotifyRole",
                          "DeliverRole", "SmsReceiptsRole"}
    for name, role in roles.items():
        for statement in _statements(role):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any("*" in action for action in actions), (name, statement)
    escalate = {a for s in _statements(roles["EscalateRole"]) for a in s["Action"]}
    assert "sns:Publish" in escalate
    assert not {"dynamodb:DeleteItem", "dynamodb:UpdateTable", "dynamodb:DeleteTable"} & escalate
    archive = {a for s in _statements(roles["ArchiveRole"]) for a in s["Action"]}
    # a lock is set with the upload; an addendum written while the case is on legal hold is held too
    assert {"s3:PutObject", "s3:PutObjectRetention", "s3:PutObjectLegalHold"} <= archive
    assert not {a for a in archive if a.startswith("s3:Delete") or a == "s3:BypassGovernanceRetention"}
    assert not {"dynamodb:DeleteItem", "sns:Publish"} & archive
    reports = {a for s in _statements(roles["ReportsRole"]) for a in s["Action"]}
    assert {"dynamodb:BatchGetItem", "sns:Publish"} <= reports
    assert not {a for a in reports if "Delete" in a or "Update" in a or a.startswith("s3:")}
    for sender in ("NotifyRole", "DeliverRole"):  # people are texted and mailed, the table kept
        actions = {a for s in _statements(roles[sender]) for a in s["Action"]}
        assert {"sns:Publish", "ses:SendEmail"} <= actions
        assert not {a for a in actions if a.startswith(("dynamodb:Delete", "s3:"))}
        [sms] = [s for s in _statements(roles[sender]) if s["Action"] == ["sns:Publish"]]
        assert "NotResource" in sms  # phone numbers only, never a topic
    assert {a for s in _statements(roles["SmsReceiptsRole"]) for a in s["Action"]} <= {
        "dynamodb:GetItem", "dynamodb:PutItem", "logs:CreateLogStream", "logs:PutLogEvents"}
    every_action = {a for role in roles.values() for s in _statements(role) for a in s["Action"]}
    assert not {"s3:BypassGovernanceRetention", "s3:DeleteObjectVersion", "s3:PutBucketObjectLockConfiguration",
                "s3:PutLifecycleConfiguration"} & every_action


def test_every_function_reads_its_resources_from_the_template_as_the_local_stack_does(packaged: Path) -> None:
    """One source of truth: the variables the local stack sets are the ones CloudFormation resolves
    for every deployed function, pointing at the same resources."""
    from local.provision import stage_environment

    resources = template(packaged)["Resources"]
    functions = {name: res for name, res in resources.items() if res["Type"] == "AWS::Serverless::Function"}
    notifiers = {"Notify", "Deliver", "SmsReceipts"}
    assert set(functions) == {"APIHandler", "Escalate", "Archive", "Reports"} | notifiers
    logical = {"CasesTable": "table", "EscalationTopic": "topic", "ArchiveBucket": "bucket",
               "CustomerKey": "arn:aws:secretsmanager:us-east-1:123456789012:secret:customer-key"}
    local = stage_environment(logical)
    assert set(local) == {"TABLE_NAME", "ESCALATION_TOPIC_ARN", "ARCHIVE_BUCKET", "AUTH_ISSUER", "AUTH_AUDIENCE",
                          "AUTH_SIGNIN_URL", "USER_POOL_ID", "CUSTOMER_KEY_SECRET_ARN"}
    assert (local["TABLE_NAME"], local["ESCALATION_TOPIC_ARN"], local["ARCHIVE_BUCKET"]) == ("table", "topic", "bucket")
    assert local["USER_POOL_ID"] == ""  # no user pool locally: the directory's own ids, the local issuer
    assert local["CUSTOMER_KEY_SECRET_ARN"] == logical["CustomerKey"]  # the key itself is in no variable
    for name, function in functions.items():
        variables = function["Properties"]["Environment"]["Variables"]
        from_template = {k: v for k, v in variables.items() if isinstance(v, dict)}
        refs = {k: v["Ref"] for k, v in from_template.items() if "Ref" in v}
        if name in notifiers:  # the same table and topic, and the delivery settings of the stack
            assert {k: refs[k] for k in ("TABLE_NAME", "ESCALATION_TOPIC_ARN")} == {
                "TABLE_NAME": "CasesTable", "ESCALATION_TOPIC_ARN": "EscalationTopic"}, name
            assert {"SES_SENDER", "SES_CONFIGURATION_SET", "CONSOLE_LINK_BASE"} <= set(from_template), name
            continue
        secret = {"CUSTOMER_KEY_SECRET_ARN"} if name in ("APIHandler", "Reports", "Archive") else set()
        expected = set(local) - {"USER_POOL_ID", "CUSTOMER_KEY_SECRET_ARN"} | secret
        assert set(from_template) - {"USER_POOL_ID"} == expected, name
        assert refs.get("CUSTOMER_KEY_SECRET_ARN") == ("CustomerKey" if secret else None), name
        assert {k: v for k, v in refs.items() if k not in ("USER_POOL_ID", "CUSTOMER_KEY_SECRET_ARN")} == {
            "TABLE_NAME": "CasesTable", "ESCALATION_TOPIC_ARN": "EscalationTopic", "ARCHIVE_BUCKET": "ArchiveBucket",
            "AUTH_AUDIENCE": "UserPoolClient"}, name
    assert functions["APIHandler"]["Properties"]["Environment"]["Variables"]["USER_POOL_ID"] == {"Ref": "UserPool"}


def test_the_settings_the_code_relies_on_are_in_the_template(packaged: Path) -> None:
    from chalicelib.adapters import table as dynamodb
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
    assert (resources["CasesTable"]["DeletionPolicy"], resources["ArchiveBucket"]["DeletionPolicy"]) == (
        "RetainExceptOnCreate",) * 2
    bucket = resources["ArchiveBucket"]["Properties"]
    assert bucket["ObjectLockEnabled"] is True  # per-object compliance locks need a lock-enabled bucket
    settings = Settings()
    timeouts = {name: resources[name]["Properties"]["Timeout"] for name in ("Escalate", "Archive")}
    assert timeouts["Escalate"] > settings.escalation_time_budget_seconds
    assert timeouts["Archive"] > settings.archive_time_budget_seconds
    groups = {r["Properties"]["GroupName"] for r in resources.values() if r["Type"] == "AWS::Cognito::UserPoolGroup"}
    assert groups == {"agent", "unit-manager", "branch-supervisor", "auditor", "admin", "regional-specialist"}
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


def test_the_transformed_template_passes_cfn_lint(transformed: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "transformed.json"
    path.write_text(json.dumps(transformed))
    lint = subprocess.run([str(BIN / "cfn-lint"), str(path)], capture_output=True, text=True, timeout=300)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_the_template_goes_to_cloudformation_through_s3_because_it_is_too_big_to_send_inline(
        packaged: Path) -> None:
    size = len(packaged.read_bytes())
    assert INLINE_TEMPLATE_LIMIT < size < S3_TEMPLATE_LIMIT, size
    deploy = (ROOT / "infra" / "deploy.sh").read_text()
    [command] = re.findall(r"aws cloudformation deploy .*?--parameter-overrides", deploy, re.S)
    assert "--s3-bucket \"$artifacts\"" in command


def test_only_the_api_stage_exists_and_it_carries_the_throttles(transformed: dict[str, Any]) -> None:
    """SAM adds a stage named "Stage" to a Swagger API unless OpenApiVersion is set: an unthrottled
    copy of the API, outside the hotline usage plan."""
    resources = transformed["Resources"]
    stages = of_type(resources, "AWS::ApiGateway::Stage")
    assert [s["Properties"]["StageName"] for s in stages.values()] == ["api"]
    assert not any("StageName" in d["Properties"] for d in of_type(resources, "AWS::ApiGateway::Deployment").values())
    [(stage_id, stage)] = stages.items()
    [public] = stage["Properties"]["MethodSettings"]
    assert (public["ResourcePath"], public["HttpMethod"], public["ThrottlingRateLimit"]) == (
        "/~1public~1cases", "POST", 5)
    plan = resources["HotlineUsagePlan"]
    assert plan["Properties"]["ApiStages"] == [{"ApiId": {"Ref": "RestAPI"}, "Stage": "api"}]
    assert plan["DependsOn"] == stage_id  # the stage exists before the plan names it
    assert resources["RestAPI"]["Properties"]["Body"]["swagger"] == "2.0"  # Chalice's definition, unchanged


def test_every_function_runs_the_pinned_runtime_and_its_bundle_was_built_for_it(
        packaged: Path, transformed: dict[str, Any]) -> None:
    sys.path.insert(0, str(ROOT / "infra"))
    try:
        from package import pinned_runtime
    finally:
        sys.path.remove(str(ROOT / "infra"))
    runtime = pinned_runtime()
    assert runtime in {"python3.12", "python3.13"}
    functions = of_type(transformed["Resources"], "AWS::Lambda::Function")
    assert {f["Properties"]["Runtime"] for f in functions.values()} == {runtime}
    abi = "cpython-" + runtime.removeprefix("python").replace(".", "")
    binaries = [name for name in zipfile.ZipFile(packaged.parent / "deployment.zip").namelist()
                if name.endswith(".so") and "cpython-" in name]
    assert any(name.startswith("pydantic_core/") for name in binaries)
    assert binaries and all(abi in name for name in binaries), binaries


def test_data_and_accounts_outlive_the_stack_but_a_failed_first_create_can_be_retried(packaged: Path) -> None:
    """Retain would leave the fixed-name table and bucket behind after a failed first create, and
    the next attempt would collide with them; RetainExceptOnCreate removes only what that create made."""
    resources = template(packaged)["Resources"]
    kept = {"CasesTable", "ArchiveBucket", "UserPool", "CustomerKey",
            *of_type(resources, "AWS::Cognito::UserPoolGroup")}
    for name in kept:
        assert resources[name]["DeletionPolicy"] == "RetainExceptOnCreate", name
        assert resources[name]["UpdateReplacePolicy"] == "Retain", name
    assert not [name for name, res in resources.items() if res.get("DeletionPolicy") == "Retain"]


def test_every_function_logs_to_its_own_group_with_a_retention(transformed: dict[str, Any]) -> None:
    resources = transformed["Resources"]
    functions = of_type(resources, "AWS::Lambda::Function")
    groups = set()
    for name, function in functions.items():
        group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert resources[group]["Type"] == "AWS::Logs::LogGroup", name
        assert resources[group]["Properties"]["RetentionInDays"] >= 30, name
        groups.add(group)
    assert len(groups) == len(functions) == 7


def _references(value: Any) -> set[str]:
    """Logical ids a policy resource names through Ref, Fn::GetAtt or ${...} in Fn::Sub."""
    if isinstance(value, list):
        return {ref for v in value for ref in _references(v)}
    if isinstance(value, dict) and "Ref" in value:
        return {value["Ref"]}
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return {value["Fn::GetAtt"][0]}
    if isinstance(value, dict) and "Fn::Sub" in value:
        return {ref.split(".")[0] for ref in re.findall(r"\$\{([\w.:]+)\}", value["Fn::Sub"])}
    return set()


def test_every_policy_names_this_stacks_resources_and_no_hard_coded_stage(packaged: Path) -> None:
    resources = template(packaged)["Resources"]
    roles = of_type(resources, "AWS::IAM::Role")
    files = {"ApiHandlerRole": "api", "EscalateRole": "escalate", "ArchiveRole": "archive", "ReportsRole": "reports",
             "NotifyRole": "notify", "DeliverRole": "deliver", "SmsReceiptsRole": "sms-receipts"}
    assert set(roles) == set(files)
    for name, role in roles.items():
        # the policy files are the packaged policies (tests/integration/test_least_privilege.py runs them)
        [document] = [p["PolicyDocument"] for p in role["Properties"]["Policies"]]
        assert document == json.loads((ROOT / ".chalice" / f"policy-{files[name]}.json").read_text())
        for statement in _statements(role):
            if "NotResource" in statement:  # SMS to phone numbers: anything but a topic
                assert statement == {**statement, "Action": ["sns:Publish"],
                                     "NotResource": {"Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"}}, name
                continue
            names = {n for n in _references(statement["Resource"]) if not n.startswith("AWS::")}
            assert names and names <= set(resources), (name, statement)
            assert "complaint-desk" not in json.dumps(statement["Resource"]), (name, statement)
    functions = of_type(resources, "AWS::Serverless::Function")
    assert {f["Properties"]["Environment"]["Variables"]["STAGE"] for f in functions.values()} == {STAGE}


def test_scheduled_functions_run_one_at_a_time_and_a_missed_run_is_not_retried(transformed: dict[str, Any]) -> None:
    """Two runs at once would claim the same escalations; a run that could not start is left to the
    next schedule rather than queued behind the running one."""
    resources = transformed["Resources"]
    rules = of_type(resources, "AWS::Events::Rule")
    scheduled = {target["Arn"]["Fn::GetAtt"][0]: target for rule in rules.values()
                 for target in rule["Properties"]["Targets"]}
    assert set(scheduled) == {"Escalate", "Archive", "Reports", "Deliver"}
    invoke_configs = {c["Properties"]["FunctionName"]["Ref"]: c["Properties"]
                      for c in of_type(resources, "AWS::Lambda::EventInvokeConfig").values()}
    for name, target in scheduled.items():
        assert resources[name]["Properties"]["ReservedConcurrentExecutions"] == 1, name
        assert target["RetryPolicy"]["MaximumRetryAttempts"] == 0, name
        assert invoke_configs[name]["MaximumRetryAttempts"] == 0, name
    assert "ReservedConcurrentExecutions" not in resources["APIHandler"]["Properties"]


# --- staff sign-in: what the user pool's app client lets into a token, and lets users change ---
# A user's attributes in the pool (AdminCreateUser sets them), of which the ID token carries only
# those the app client may read, next to the claims Cognito always includes.
POOL_USER = {"name": "Li Na", "custom:unit_id": "store-xh-01", "email": "li.na@example.com",
             "email_verified": True, "phone_number": "+8613800138000", "locale": "zh"}


def _cognito(packaged: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    resources = template(packaged)["Resources"]
    return resources["UserPool"]["Properties"], resources["UserPoolClient"]["Properties"]


def _pool_token(client: dict[str, Any], lifetime: int | None = None, **claims: Any) -> str:
    """An ID token as the pool signs it for this client (signed here with the tests' issuer key)."""
    import time

    import jwt

    from local.issuer import _key, auth_environment
    from tests.conftest import ISSUER_DIR

    env = auth_environment(ISSUER_DIR)
    now = int(time.time())
    validity = lifetime or client["IdTokenValidity"] * 3600
    body = {"iss": env["AUTH_ISSUER"], "aud": env["AUTH_AUDIENCE"], "sub": "8c1f-li-na", "token_use": "id",
            "cognito:username": "8c1f-li-na", "cognito:groups": ["agent", "unit-manager"], "auth_time": now,
            "iat": now, "exp": now + validity,
            **{k: v for k, v in POOL_USER.items() if k in client["ReadAttributes"]}, **claims}
    return "Bearer " + jwt.encode(body, _key(ISSUER_DIR), algorithm="RS256", headers={"kid": "local-1"})


def _verifier() -> Any:
    from chalicelib.adapters.tokens import TokenVerifier
    from chalicelib.config import Settings
    from local.issuer import auth_environment
    from tests.conftest import ISSUER_DIR

    env = auth_environment(ISSUER_DIR)
    return TokenVerifier(env["AUTH_ISSUER"], env["AUTH_AUDIENCE"], env["AUTH_JWKS_URL"],
                         max_lifetime_seconds=Settings().auth_max_token_seconds)


def test_a_token_with_only_what_the_app_client_may_read_signs_a_member_of_staff_in(packaged: Path) -> None:
    from chalicelib.domain.auth import Unauthenticated

    _, client = _cognito(packaged)
    assert {"custom:unit_id", "name", "email"} <= set(client["ReadAttributes"])
    principal = _verifier().principal(_pool_token(client))
    assert (principal.name, principal.unit_id) == ("Li Na", "store-xh-01")
    # without ReadAttributes (or without the unit in them) the pool's tokens carry no unit: 401
    unreadable = {**client, "ReadAttributes": ["name", "email"]}
    with pytest.raises(Unauthenticated):
        _verifier().principal(_pool_token(unreadable))


def _user_may_write(pool: dict[str, Any], client: dict[str, Any], attribute: str) -> bool:
    """Cognito's rule for UpdateUserAttributes with a user's own access token: the attribute must be
    among the client's WriteAttributes (all attributes when the client lists none) and mutable."""
    if "WriteAttributes" in client and attribute not in client["WriteAttributes"]:
        return False
    custom = {f"custom:{a['Name']}": a for a in pool.get("Schema", [])}
    return bool(custom.get(attribute, {}).get("Mutable", True))


def test_a_user_cannot_change_their_own_unit_or_name(packaged: Path) -> None:
    pool, client = _cognito(packaged)
    assert not _user_may_write(pool, client, "custom:unit_id")
    assert not _user_may_write(pool, client, "name")
    [unit] = [a for a in pool["Schema"] if a["Name"] == "unit_id"]
    assert unit["Mutable"] is False  # not even through another client
    assert _user_may_write(pool, {k: v for k, v in client.items() if k != "WriteAttributes"}, "name")  # the rule bites


def test_a_token_meant_to_live_longer_than_the_pool_issues_is_refused(packaged: Path) -> None:
    from chalicelib.config import Settings
    from chalicelib.domain.auth import Unauthenticated

    _, client = _cognito(packaged)
    validity = client["IdTokenValidity"] * {"hours": 3600, "minutes": 60}[client["TokenValidityUnits"]["IdToken"]]
    assert Settings().auth_max_token_seconds == validity
    assert _verifier().principal(_pool_token(client, lifetime=validity)).unit_id == "store-xh-01"
    with pytest.raises(Unauthenticated):
        _verifier().principal(_pool_token(client, lifetime=validity + 60))


def test_the_local_issuer_puts_into_a_token_only_what_the_app_client_may_read(packaged: Path) -> None:
    import jwt

    from local.issuer import COGNITO_CLAIMS, mint
    from tests.conftest import ISSUER_DIR

    _, client = _cognito(packaged)
    token = mint("Li Na", ["agent"], "store-xh-01", key_dir=ISSUER_DIR, email="li.na@example.com")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) - COGNITO_CLAIMS <= set(client["ReadAttributes"])
    assert claims["exp"] - claims["iat"] == client["IdTokenValidity"] * 3600
    with pytest.raises(ValueError, match="at most"):
        mint("Li Na", ["agent"], "store-xh-01", minutes=client["IdTokenValidity"] * 60 + 1, key_dir=ISSUER_DIR)
