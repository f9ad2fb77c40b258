"""Least privilege, proven by running: each function's real paths with credentials that hold only
its policy (.chalice/policy-*.json, which chalice puts into the packaged roles as they are, with
the template's names resolved), against moto enforcing IAM.

moto enforces IAM for every service once INITIAL_NO_AUTH_ACTION_COUNT is reached, but checks only
S3 (and SQS, IAM, STS) against the resource; DynamoDB and SNS it checks against "*", and a
transaction as one action. local/aws_limits.iam_as_aws() adds IAM's resources (table, index,
topic, subscription) and per-item transaction actions, so a wrong ARN fails here as in AWS.
CloudWatch Logs is not exercised (the functions log to stdout; EMF metrics are log lines)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import settings as moto_settings

from chalicelib import bootstrap
from chalicelib.config import get_settings
from local.aws_limits import iam_as_aws
from local.provision import ACCOUNT_ID, REGION
from tests.conftest import FakeClock, complaint

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = {"api": "APIHandler", "escalate": "Escalate", "archive": "Archive", "reports": "Reports"}


def resolve(value: Any, env: dict[str, str]) -> Any:
    """The policy's intrinsics with this stack's names, as CloudFormation resolves them."""
    arns = {"CasesTable": f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{env['TABLE_NAME']}",
            "ArchiveBucket": f"arn:aws:s3:::{env['ARCHIVE_BUCKET']}",
            "UserPool": f"arn:aws:cognito-idp:{REGION}:{ACCOUNT_ID}:userpool/{REGION}_localpool",
            **{f"{fn}LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws/lambda/{short}:*"
               for short, fn in FUNCTIONS.items()}}
    refs = {"EscalationTopic": env["ESCALATION_TOPIC_ARN"], "CasesTable": env["TABLE_NAME"],
            "ArchiveBucket": env["ARCHIVE_BUCKET"], "AWS::Partition": "aws", "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "MailConfigurationSet": env.get("SES_CONFIGURATION_SET", "complaint-desk"),
            "CustomerKey": env.get("CUSTOMER_KEY_SECRET_ARN", "")}
    if isinstance(value, list):
        return [resolve(v, env) for v in value]
    if isinstance(value, dict) and "Ref" in value:
        return refs[value["Ref"]]
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return arns[value["Fn::GetAtt"][0]]
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = value["Fn::Sub"]
        for name, arn in arns.items():
            text = text.replace(f"${{{name}.Arn}}", arn)
        for name, ref in refs.items():
            text = text.replace(f"${{{name}}}", ref)
        return text
    return value


def policy(function: str, env: dict[str, str], without: frozenset[str] = frozenset(),
           other_table: bool = False) -> dict[str, Any]:
    document = json.loads((ROOT / ".chalice" / f"policy-{function}.json").read_text())
    for statement in document["Statement"]:
        for key in {"Resource", "NotResource"} & set(statement):  # SMS: any phone number, no topic
            statement[key] = resolve(statement[key], env)
        statement["Action"] = [a for a in statement["Action"] if a not in without]
        if other_table and "Resource" in statement:
            statement["Resource"] = json.loads(json.dumps(statement["Resource"]).replace(
                f"table/{env['TABLE_NAME']}", "table/complaint-desk-prod"))
    document["Statement"] = [s for s in document["Statement"] if s["Action"]]
    return document


@pytest.fixture
def become(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """become(function, without=..., other_table=...): from now on, every AWS call of the app is made
    with an IAM user holding only that function's policy, and moto checks it."""
    iam = boto3.client("iam")
    users: dict[tuple[str, frozenset[str], bool], dict[str, str]] = {}

    def user(function: str, without: frozenset[str], other_table: bool) -> dict[str, str]:
        name = f"{function}-{len(users)}"
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName=function,
                            PolicyDocument=json.dumps(policy(function, aws, without, other_table)))
        return iam.create_access_key(UserName=name)["AccessKey"]

    # the test's administrator enrols the people whose tokens the test uses (tests/conftest.py)
    import tests.conftest as harness

    iam.create_user(UserName="test-administrator")
    iam.put_user_policy(UserName="test-administrator", PolicyName="everything", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    administrator = iam.create_access_key(UserName="test-administrator")["AccessKey"]
    harness._administrator[:] = [boto3.client("dynamodb", aws_access_key_id=administrator["AccessKeyId"],
                                              aws_secret_access_key=administrator["SecretAccessKey"])]
    variants = [(f, frozenset(), False) for f in FUNCTIONS]
    variants += [("api", frozenset({"dynamodb:UpdateItem"}), False), ("escalate", frozenset({"sns:Publish"}), False),
                 ("api", frozenset(), True), ("api", frozenset({"sns:Publish"}), False)]
    for variant in variants:
        users[variant] = user(*variant)

    def switch(function: str, without: frozenset[str] = frozenset(), other_table: bool = False) -> None:
        key = users[(function, without, other_table)]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        boto3.DEFAULT_SESSION = None
        for built in vars(bootstrap).values():
            if hasattr(built, "cache_clear"):
                built.cache_clear()
        get_settings.cache_clear()
        monkeypatch.setattr(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)

    with iam_as_aws():
        yield switch
    boto3.DEFAULT_SESSION = None


def _post(api: Any, path: str, body: dict[str, Any]) -> Any:
    from tests.integration.test_cases_api import post

    return post(api, path, body)


def _closed_case(api: Any) -> dict[str, Any]:
    from tests.integration.test_cases_api import create

    case = create(api)
    for action, fields in [("accept", {}), ("assign", {"handler": "Chen Jie"}),
                           ("record-finding", {"kind": "ordinary_mistake", "detail": "scanned twice",
                                               "corrective_plan": "retrain on the scanner"}),
                           ("resolve", {"result": "refunded", "remedies": ["apology"]}),
                           ("record-feedback", {"satisfied": True, "satisfaction": 5})]:
        answer = _post(api, f"/cases/{case['case_id']}/{action}", {"actor": "Li Na", "version": case["version"],
                                                                   **fields})
        assert answer.status_code == 200, (action, answer.json_body)
        case = answer.json_body
    assert case["status"] == "closed"
    return case


def test_the_api_takes_a_case_through_its_life_and_the_archive_run_archives_it_each_with_its_own_policy(
        api: Any, become: Callable[..., None], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    import hashlib

    import requests

    import app
    from local.scheduler import scheduled_jobs
    from tests.integration.test_cases_api import create

    monkeypatch.setenv("ARCHIVE_SETTLE_HOURS", "0")
    become("api")
    create(api, channel="media")  # its notice to the managers is published at intake
    assert "publish failed" not in caplog.text
    case = _closed_case(api)
    become("archive")
    assert scheduled_jobs(app)["archive"]()["archived"] == 1
    become("api")
    link = _post(api, f"/archive/{case['case_id']}/retrieve", {"actor": "Auditor Qian", "format": "json"})
    assert link.status_code == 200, link.json_body
    fetched = requests.get(link.json_body["url"], timeout=10)
    assert hashlib.sha256(fetched.content).hexdigest() == link.json_body["sha256"]
    assert _post(api, f"/archive/{case['case_id']}/verify", {"actor": "Auditor Qian"}).json_body["ok"] is True
    held = api.put(f"/archive/{case['case_id']}/legal-hold", headers={"Content-Type": "application/json"},
                   body=json.dumps({"actor": "Auditor Qian", "hold": True, "reason": "tax audit"}))
    assert held.status_code == 200, held.json_body
    from chalicelib.domain.audit_chain import day_to_export

    exported = day_to_export(datetime.now(UTC))  # the day the archive run wrote; the API finds it in the bucket
    chain = api.get(f"/audit-log/chain?from={exported}&to={exported}")
    assert chain.status_code == 200 and chain.json_body["ok"] is True, chain.json_body
    assert chain.json_body["days"][0]["version_id"]


def test_the_api_writes_to_a_consenting_customer_by_sms_and_email_with_only_its_policy(
        api: Any, become: Callable[..., None]) -> None:
    from chalicelib.config import get_settings
    from tests.integration.test_cases_api import create

    boto3.client("sesv2").create_email_identity(EmailIdentity=get_settings().ses_sender)  # as the administrator
    become("api")
    case = create(api, channel="letter", customer={"name": "Wang Fang", "phone": "13800001234",
                                                   "email": "wang.fang@example.com", "contact_consent": True})
    shown = api.get(f"/cases/{case['case_id']}").json_body["customer_messages"]
    assert sorted((m["medium"], m["state"]) for m in shown) == [("email", "sent"), ("sms", "sent")], [
        m["error"] for m in shown]


def test_the_escalation_run_sends_with_only_its_policy(api: Any, become: Callable[..., None]) -> None:
    from tests.integration.test_cases_api import create

    become("api")
    create(api)
    become("escalate")
    clock = FakeClock(datetime.now(UTC) + timedelta(days=3))
    report = bootstrap.build_escalation_service(get_settings(), now=clock).run()
    assert report.sent > 0 and report.failed == 0, report


def test_the_reports_run_sends_with_only_its_policy(api: Any, become: Callable[..., None]) -> None:
    from tests.integration.test_cases_api import create

    become("api")
    create(api)
    become("reports")
    monday_8am_shanghai = FakeClock(datetime(2026, 11, 30, 0, 5, tzinfo=UTC))
    sent = bootstrap.build_report_service(get_settings(), now=monday_8am_shanghai).send_due()
    assert sent["sent"] > 0 and sent["failed"] == 0, sent


def test_a_call_the_policy_lacks_fails(api: Any, become: Callable[..., None],
                                       caplog: pytest.LogCaptureFixture) -> None:
    from tests.integration.test_cases_api import create

    become("api", other_table=True)  # the prod stage's table, not this one's
    assert _post(api, "/cases", complaint()).status_code >= 500
    become("api", without=frozenset({"dynamodb:UpdateItem"}))  # the intake transaction updates counters
    assert _post(api, "/cases", complaint()).status_code >= 500
    become("api", without=frozenset({"sns:Publish"}))
    create(api, channel="media")  # stored; the notice waits for the escalation run
    assert "escalation publish failed" in caplog.text
    become("escalate", without=frozenset({"sns:Publish"}))
    later = FakeClock(datetime.now(UTC) + timedelta(days=3))
    report = bootstrap.build_escalation_service(get_settings(), now=later).run()
    assert report.sent == 0 and report.failed > 0, report
