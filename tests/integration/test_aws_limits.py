"""Where moto is more lenient than AWS, local/aws_limits.py makes it refuse what AWS refuses. Each
test first shows bare moto accepting the call, then the refusal the tests and the local stack get."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from local.aws_limits import aws_limits, presigned_refusal


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.session.Session(region_name="us-east-1")


def _batch(sns: Any, topic: str, subject: str) -> dict[str, Any]:
    return sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "0", "Message": "body", "Subject": subject}])


def test_an_sms_to_a_number_not_in_e164_is_refused(session: Any) -> None:
    sns = session.client("sns")
    sns.publish(PhoneNumber="13800001234", Message="hello")  # bare moto: accepted (no country code)
    with aws_limits():
        with pytest.raises(ClientError) as refused:
            sns.publish(PhoneNumber="13800001234", Message="hello")
        assert refused.value.response["Error"]["Code"] == "InvalidParameter"
        sns.publish(PhoneNumber="+8613800001234", Message="hello")  # what the customer messages send


def test_an_sns_subject_of_100_characters_is_refused(session: Any) -> None:
    sns = session.client("sns")
    topic = sns.create_topic(Name="t")["TopicArn"]
    sns.publish(TopicArn=topic, Message="body", Subject="x" * 100)  # bare moto: accepted
    with aws_limits():
        with pytest.raises(ClientError, match="Subject must be less than 100 characters"):
            sns.publish(TopicArn=topic, Message="body", Subject="x" * 100)
        with pytest.raises(ClientError, match="control characters"):
            sns.publish(TopicArn=topic, Message="body", Subject="line one\nline two")
        [failed] = _batch(sns, topic, "x" * 100)["Failed"]  # in a batch: that entry fails, and says so
        assert failed["Code"] == "InvalidParameter"
        assert _batch(sns, topic, "x" * 99)["Successful"]


def test_the_publisher_keeps_every_subject_within_snss_limit(session: Any) -> None:
    from chalicelib.adapters.notifications import SnsPublisher
    from chalicelib.domain.escalation import OutgoingMessage

    sns = session.client("sns")
    topic = sns.create_topic(Name="t")["TopicArn"]
    long = OutgoingMessage(key="k1", sms="s", subject="Breach: handling of complaint " + "x" * 120, body="b",
                           attributes={"unit": "u"})
    broken = OutgoingMessage(key="k2", sms="s", subject="two\nlines\tand a tab", body="b", attributes={"unit": "u"})
    with aws_limits():
        outcome = SnsPublisher(sns, topic).publish([long, broken])
    assert all(isinstance(v, str) for v in outcome.values()), outcome


def _locked_bucket(s3: Any) -> tuple[str, str]:
    s3.create_bucket(Bucket="archive", ObjectLockEnabledForBucket=True)
    until = datetime.now(UTC) + timedelta(days=365)
    version = s3.put_object(Bucket="archive", Key="case-files/a.json", Body=b"{}", ObjectLockMode="COMPLIANCE",
                            ObjectLockRetainUntilDate=until)["VersionId"]
    return version, until.isoformat()


def _retention(mode: str, until: datetime) -> dict[str, Any]:
    return {"Mode": mode, "RetainUntilDate": until}


def test_compliance_retention_can_be_extended_but_never_shortened_or_made_governance(session: Any) -> None:
    s3 = session.client("s3")
    version, _ = _locked_bucket(s3)
    now = datetime.now(UTC)
    key = {"Bucket": "archive", "Key": "case-files/a.json", "VersionId": version}
    s3.put_object_retention(**key, Retention=_retention("COMPLIANCE", now + timedelta(days=1)))  # bare moto: shortened
    s3.put_object_retention(**key, Retention=_retention("COMPLIANCE", now + timedelta(days=365)))
    with aws_limits():
        for change in (_retention("COMPLIANCE", now + timedelta(days=1)),
                       _retention("GOVERNANCE", now + timedelta(days=3650))):
            with pytest.raises(ClientError, match="AccessDenied"):
                s3.put_object_retention(**key, Retention=change)
        s3.put_object_retention(**key, Retention=_retention("COMPLIANCE", now + timedelta(days=400)))  # extended
    head = s3.head_object(**key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] > now + timedelta(days=399)


def test_versioning_on_a_locked_bucket_cannot_be_suspended(session: Any) -> None:
    s3 = session.client("s3")
    _locked_bucket(s3)
    s3.put_bucket_versioning(Bucket="archive", VersioningConfiguration={"Status": "Suspended"})  # bare moto
    s3.put_bucket_versioning(Bucket="archive", VersioningConfiguration={"Status": "Enabled"})
    with aws_limits(), pytest.raises(ClientError, match="InvalidBucketState"):
        s3.put_bucket_versioning(Bucket="archive", VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket="archive")["Status"] == "Enabled"


def test_a_presigned_url_stops_working_when_it_expires_or_is_tampered_with(session: Any) -> None:
    s3 = session.client("s3", config=Config(signature_version="s3v4"))  # as bootstrap's archive client
    version, _ = _locked_bucket(s3)
    params = {"Bucket": "archive", "Key": "case-files/a.json", "VersionId": version}
    url = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=60)
    tampered = url.replace("case-files/a.json", "case-files/b.json")
    forged_url = url.replace("X-Amz-Expires=60", "X-Amz-Expires=86400")
    assert requests.get(forged_url, timeout=10).status_code == 200  # bare moto serves a tampered copy
    with aws_limits():
        assert requests.get(url, timeout=10).content == b"{}"
        forged = requests.get(forged_url, timeout=10)
        assert forged.status_code >= 400 and b"SignatureDoesNotMatch" in forged.content
    short = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=1)
    time.sleep(1.5)
    assert requests.get(short, timeout=10).status_code == 200  # bare moto serves it after expiry
    with aws_limits():
        expired = requests.get(short, timeout=10)
        assert expired.status_code == 403 and b"Request has expired" in expired.content
    host = url.split("/")[2]
    assert presigned_refusal("GET", url, host, now=datetime.now(UTC) + timedelta(seconds=61)) == (
        "AccessDenied", "Request has expired")
    assert presigned_refusal("GET", url, host) is None
    assert presigned_refusal("GET", tampered, host)[0] == "SignatureDoesNotMatch"  # type: ignore[index]
    assert json.loads(requests.get(url, timeout=10).content) == {}
