"""The local stack builds exactly what infra/resources.yaml declares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from local.harness import ROOT
from local.provision import load_template, provision


def test_table_has_the_key_design_the_code_relies_on(aws: dict[str, str]) -> None:
    ddb = boto3.client("dynamodb")
    table = ddb.describe_table(TableName=aws["TABLE_NAME"])["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"pk": "HASH", "sk": "RANGE"}
    indexes = {i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]]
               for i in table["GlobalSecondaryIndexes"]}
    assert indexes == {"by_unit": ["gsi1pk", "gsi1sk"], "by_unit_status": ["gsi2pk", "gsi2sk"],
                       "open_deadlines": ["due_pk", "due_at"]}
    ttl = ddb.describe_time_to_live(TableName=aws["TABLE_NAME"])["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")
    backups = ddb.describe_continuous_backups(TableName=aws["TABLE_NAME"])["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_archive_bucket_is_locked_in_compliance_mode_and_private(aws: dict[str, str]) -> None:
    s3 = boto3.client("s3")
    lock = s3.get_object_lock_configuration(Bucket=aws["ARCHIVE_BUCKET"])["ObjectLockConfiguration"]
    retention = lock["Rule"]["DefaultRetention"]
    assert (retention["Mode"], retention["Days"]) == ("COMPLIANCE", 365)
    assert s3.get_bucket_versioning(Bucket=aws["ARCHIVE_BUCKET"])["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=aws["ARCHIVE_BUCKET"])["PublicAccessBlockConfiguration"]
    assert all(block.values())
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=aws["ARCHIVE_BUCKET"])["Rules"]}
    assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert rules["remove-expired-delete-markers"]["Expiration"] == {"ExpiredObjectDeleteMarker": True}


def test_escalation_topic_exists(aws: dict[str, str]) -> None:
    arns = [t["TopicArn"] for t in boto3.client("sns").list_topics()["Topics"]]
    assert aws["ESCALATION_TOPIC_ARN"] in arns


def test_a_property_local_provisioning_does_not_know_stops_it(aws: dict[str, str]) -> None:
    template = load_template()
    template["Resources"]["CasesTable"]["Properties"]["StreamSpecification"] = {"StreamViewType": "NEW_IMAGE"}
    with pytest.raises(ValueError, match="StreamSpecification"):
        provision(boto3.session.Session(region_name="us-east-1"), "other", template)


def test_provisioning_twice_is_harmless(aws: dict[str, str]) -> None:
    again = provision(boto3.session.Session(region_name="us-east-1"), "test")
    assert again["CasesTable"] == aws["TABLE_NAME"]


def test_provisioning_again_after_a_case_file_was_archived_leaves_the_locked_bucket_alone(
        aws: dict[str, str]) -> None:
    """S3 refuses to set Object Lock on a bucket that holds objects; a second provisioning (a job,
    a restarted stack) must not try, and the locked file and its retention stay as they were."""
    s3 = boto3.client("s3")
    bucket = aws["ARCHIVE_BUCKET"]
    until = datetime.now(UTC) + timedelta(days=365)
    put = s3.put_object(Bucket=bucket, Key="cases/store-xh-01/CD-TEST-0000-0001.json", Body=b"{}",
                        ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)

    again = provision(boto3.session.Session(region_name="us-east-1"), "test")

    assert again["ArchiveBucket"] == bucket
    lock = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    retention = lock["Rule"]["DefaultRetention"]
    assert (retention["Mode"], retention["Days"]) == ("COMPLIANCE", 365)
    kept = s3.head_object(Bucket=bucket, Key="cases/store-xh-01/CD-TEST-0000-0001.json", VersionId=put["VersionId"])
    assert kept["ObjectLockMode"] == "COMPLIANCE"


def test_failures_are_alarmed_to_the_ops_topic_on_metrics_the_code_emits(aws: dict[str, str]) -> None:
    import re

    alarms = boto3.client("cloudwatch").describe_alarms()["MetricAlarms"]
    ops_topic = "arn:aws:sns:us-east-1:123456789012:complaint-desk-test-ops-alarms"
    assert {action for a in alarms for action in a["AlarmActions"]} == {ops_topic}
    app_alarms = {a["MetricName"]: a for a in alarms if a["Namespace"] == "ComplaintDesk"}
    assert set(app_alarms) == {"EscalationsUnconfirmed", "EscalationPublishFailed", "EscalationUnreachable",
                               "ArchiveFailed", "ArchiveVerificationFailed", "ArchiveLockWeakened",
                               "AuditExportFailed", "AuditChainBroken",
                               "ReportPublishFailed", "NotificationsFailed", "NotificationsUnconfirmed",
                               "NotificationsUndelivered", "CustomerSmsSent", "CustomerMessagesUnconfirmed"}
    emitted = {m for path in (ROOT / "chalicelib").rglob("*.py")
               for m in re.findall(r'count\("(\w+)"', path.read_text())}
    assert set(app_alarms) <= emitted  # an alarm on a metric nobody emits would never fire
    assert all(a["Dimensions"] == [{"Name": "service", "Value": "complaint-desk"}] for a in app_alarms.values())
    lambda_alarms = {(a["Dimensions"][0]["Value"], a["MetricName"]) for a in alarms if a["Namespace"] == "AWS/Lambda"}
    functions = ("", "-escalate", "-archive", "-reports", "-notify", "-deliver", "-smsreceipts")
    assert lambda_alarms == {(f"complaint-desk-test{suffix}", metric) for suffix in functions
                             for metric in ("Errors", "Throttles")}
