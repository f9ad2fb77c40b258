"""The write-once archive against moto: when a closed case is archived, what is stored and
how it is locked, what auditors can do, and that S3/DynamoDB faults lose and duplicate nothing."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from chalicelib.adapters.archive_store import ArchiveConflict, S3ArchiveStore
from chalicelib.adapters.table import from_item, to_item
from chalicelib.bootstrap import build_archive_service, build_case_service
from chalicelib.config import Settings
from chalicelib.domain import commands as cmd
from chalicelib.domain import lifecycle
from chalicelib.domain.errors import CaseNotFound, IllegalTransition
from chalicelib.services.archive import ArchiveService
from chalicelib.services.cases import CaseService
from tests.conftest import FakeClock, complaint

NOON_SHANGHAI = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


@dataclass
class Desk:
    clock: FakeClock
    cases: CaseService
    settings: Settings
    ddb: Any
    s3: Any

    def read(self, case_id: str) -> dict[str, Any]:
        """The case document as the API answers it."""
        return self.cases.get(case_id).model_dump(mode="json")

    def reports(self) -> Any:
        """The report service on this desk's clock (spot checks)."""
        from chalicelib.bootstrap import build_report_service

        return build_report_service(self.settings, self.ddb, boto3.client("sns", region_name="us-east-1"),
                                    now=self.clock)

    def archiver(self, s3: Any | None = None, ddb: Any | None = None) -> ArchiveService:
        return build_archive_service(self.settings, ddb or self.ddb, s3 or self.s3, now=self.clock)

    def run(self, s3: Any | None = None, ddb: Any | None = None) -> Any:
        return self.archiver(s3, ddb).run()

    def act(self, case: dict[str, Any], action: str, **fields: Any) -> dict[str, Any]:
        command = lifecycle.ACTIONS[action].command.model_validate(
            {"actor": "Li Na", "version": case["version"], **fields})
        return self.cases.act(case["case_id"], action, command, None).model_dump(mode="json")

    def closed_complaint(self, **overrides: Any) -> dict[str, Any]:
        """A complaint taken through the whole rulebook flow and closed by the customer's feedback."""
        request = cmd.IntakeRequest.model_validate(complaint(**overrides))
        case = self.cases.register(request, None, "hotline intake").case.model_dump(mode="json")
        for action, fields in [("accept", {}), ("assign", {"handler": "Chen Jie"}),
                               ("record-finding", {"kind": "ordinary_mistake", "detail": "scanned twice",
                                                   "corrective_plan": "retrain on the scanner"}),
                               ("resolve", {"result": "refunded", "remedies": ["apology"]}),
                               ("record-feedback", {"satisfied": True, "satisfaction": 5})]:
            self.clock.advance(hours=1)
            case = self.act(case, action, **fields)
        assert case["status"] == "closed"
        return case

    def item(self, case_id: str, sk: str) -> dict[str, Any]:
        found = self.ddb.get_item(TableName=self.settings.table_name,
                                  Key=to_item({"pk": f"CASE#{case_id}", "sk": sk}))
        return from_item(found["Item"])

    def partition(self, case_id: str) -> list[dict[str, Any]]:
        page = self.ddb.query(TableName=self.settings.table_name, KeyConditionExpression="pk = :pk",
                              ExpressionAttributeValues={":pk": {"S": f"CASE#{case_id}"}})
        return [from_item(raw) for raw in page["Items"]]

    def versions(self, key: str) -> list[dict[str, Any]]:
        listed = self.s3.list_object_versions(Bucket=self.settings.archive_bucket, Prefix=key)
        return [v for v in listed.get("Versions", []) if v["Key"] == key]

    def all_objects(self, prefix: str = "case-files/") -> list[dict[str, Any]]:
        return self.s3.list_object_versions(Bucket=self.settings.archive_bucket, Prefix=prefix).get("Versions", [])


@pytest.fixture
def desk(settings: Settings) -> Iterator[Desk]:
    session = boto3.session.Session(region_name="us-east-1")
    ddb, s3 = session.client("dynamodb"), session.client("s3")
    clock = FakeClock(NOON_SHANGHAI)
    yield Desk(clock, build_case_service(settings, ddb, session.client("sns"), now=clock), settings, ddb, s3)


def test_a_closed_case_is_archived_after_the_settle_period_as_locked_json_and_html(desk: Desk) -> None:
    case = desk.closed_complaint()
    closed_at = datetime.fromisoformat(case["closed_at"])
    desk.clock.advance(hours=71, minutes=59)
    assert (desk.run().archived, desk.all_objects()) == (0, [])
    assert all("expires_at" not in item for item in desk.partition(case["case_id"]))

    desk.clock.advance(minutes=2)
    report = desk.run()
    assert (report.due, report.archived, report.failed) == (1, 1, 0)

    stored = desk.read(case["case_id"])
    archived = stored["archive"]
    assert stored["status"] == "closed" and stored["history"][-1]["action"] == "archive"
    assert archived["case_version"] == case["version"]
    one_year_later = closed_at.replace(year=closed_at.year + 1, microsecond=0)
    assert datetime.fromisoformat(archived["retain_until"]) == one_year_later

    bucket = desk.settings.archive_bucket
    got = desk.s3.get_object(Bucket=bucket, Key=archived["json_key"], VersionId=archived["json_version_id"],
                             ChecksumMode="ENABLED")
    body = got["Body"].read()
    assert hashlib.sha256(body).hexdigest() == archived["json_sha256"]
    assert got["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert (got["ObjectLockMode"], got["ObjectLockRetainUntilDate"]) == ("COMPLIANCE", one_year_later)
    document = json.loads(body)
    assert document["case_id"] == case["case_id"] and document["format"] == "complaint-desk.case-file/1"
    assert [e["action"] for e in document["history"]] == [
        "receive", "accept", "assign", "record-finding", "resolve", "record-feedback"]
    assert document["customer"] == {"name": "Wang Fang", "phone": "13800001234", "email": None,
                                    "contact_consent": False, "language": "zh", "value": None}

    page = desk.s3.get_object(Bucket=bucket, Key=archived["html_key"])["Body"].read().decode()
    assert case["case_id"] in page and "charged twice for one carton of milk" in page
    assert archived["json_sha256"] in page and "<script" not in page
    assert hashlib.sha256(page.encode()).hexdigest() == archived["html_sha256"]

    # the hot copy now expires 90 days after the archive was confirmed, every item of the case
    expiry = int((desk.clock.now + timedelta(days=90)).timestamp())
    assert {item["expires_at"] for item in desk.partition(case["case_id"])} == {expiry}

    listed = desk.archiver().of_unit("store-xh-01", closed_at.date(), closed_at.date(), 25, None)
    assert [entry.case_id for entry in listed.items] == [case["case_id"]]
    next_day = (closed_at + timedelta(days=1)).date()
    assert desk.archiver().of_unit("store-xh-01", next_day, next_day, 25, None).items == []
    assert desk.archiver().of_unit("store-xh-02", date(2026, 1, 1), date(2026, 12, 31), 25, None).items == []

    assert (desk.run().due, len(desk.all_objects())) == (0, 2)  # nothing is archived twice


def test_a_case_reopened_within_the_settle_period_waits_until_it_is_closed_again(desk: Desk) -> None:
    case = desk.closed_complaint()
    desk.clock.advance(hours=24)
    case = desk.act(case, "reopen", reason="the refund did not arrive")
    desk.clock.advance(hours=72)
    assert desk.run().due == 0
    case = desk.act(case, "close", reason="refund confirmed by the customer")
    desk.clock.advance(hours=72, minutes=1)
    assert desk.run().archived == 1
    archived = desk.read(case["case_id"])["archive"]
    assert archived["case_version"] == case["version"]
    assert json.loads(desk.s3.get_object(Bucket=desk.settings.archive_bucket, Key=archived["json_key"])
                      ["Body"].read())["closed_reason"] == "refund confirmed by the customer"


def test_an_important_case_is_retained_longer_and_an_archived_file_is_final(desk: Desk) -> None:
    request = cmd.IntakeRequest.model_validate(complaint(channel="regulator"))
    case = desk.cases.register(request, None, "hotline intake").case.model_dump(mode="json")
    case = desk.act(case, "mark-important", reason="market regulator inquiry; keep for the inspection")
    assert case["important"]["by"] == "Li Na"
    case = desk.act(case, "close", reason="handled by the regulator")
    desk.clock.advance(hours=73)
    desk.run()
    stored = desk.read(case["case_id"])
    closed_at = datetime.fromisoformat(case["closed_at"])
    assert datetime.fromisoformat(stored["archive"]["retain_until"]) == closed_at.replace(
        year=closed_at.year + 10, microsecond=0)
    with pytest.raises(IllegalTransition, match="register a new case"):
        desk.act(stored, "reopen", reason="customer called again")
    with pytest.raises(IllegalTransition, match="legal hold"):
        desk.act(stored, "mark-important", reason="again")


def test_archived_files_cannot_be_deleted_or_overwritten_before_their_retain_until_date(desk: Desk) -> None:
    case = desk.closed_complaint()
    desk.clock.advance(hours=73)
    desk.run()
    archived = desk.read(case["case_id"])["archive"]
    bucket = desk.settings.archive_bucket
    for key, version_id in ((archived["json_key"], archived["json_version_id"]),
                            (archived["html_key"], archived["html_version_id"])):
        with pytest.raises(ClientError) as denied:
            desk.s3.delete_object(Bucket=bucket, Key=key, VersionId=version_id, BypassGovernanceRetention=True)
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
        with pytest.raises(ArchiveConflict):
            S3ArchiveStore(desk.s3, bucket).put_once(key, b"{}", "application/json",
                                                     desk.clock.now + timedelta(days=400))
    # a plain PUT would add a version on top; the archived version stays, and is the one verified
    desk.s3.put_object(Bucket=bucket, Key=archived["json_key"], Body=b'{"forged": true}')
    assert desk.archiver().verify(case["case_id"], "Auditor Qian").ok is True


def test_a_legal_hold_blocks_deletion_until_it_is_lifted(desk: Desk) -> None:
    """A bucket without default retention isolates the hold: only the hold stops the delete."""
    desk.s3.create_bucket(Bucket="legal-hold-probe", ObjectLockEnabledForBucket=True)
    version_id = desk.s3.put_object(Bucket="legal-hold-probe", Key="file.json", Body=b"{}")["VersionId"]
    store = S3ArchiveStore(desk.s3, "legal-hold-probe")
    store.set_legal_hold("file.json", version_id, on=True)
    with pytest.raises(ClientError) as denied:
        desk.s3.delete_object(Bucket="legal-hold-probe", Key="file.json", VersionId=version_id)
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    store.set_legal_hold("file.json", version_id, on=False)
    desk.s3.delete_object(Bucket="legal-hold-probe", Key="file.json", VersionId=version_id)


def test_auditors_hold_verify_and_see_every_access_in_the_audit_log(desk: Desk) -> None:
    case = desk.closed_complaint()
    desk.clock.advance(hours=73)
    desk.run()
    archiver = desk.archiver()
    held = archiver.legal_hold(case["case_id"], True, "Auditor Qian", "audit 2026-Q4 sample")
    assert held[0].legal_hold is not None and held[0].legal_hold.on is True
    archived = desk.read(case["case_id"])["archive"]
    head = desk.s3.head_object(Bucket=desk.settings.archive_bucket, Key=archived["json_key"],
                               VersionId=archived["json_version_id"])
    assert head["ObjectLockLegalHoldStatus"] == "ON"
    desk.clock.advance(minutes=1)
    verified = archiver.verify(case["case_id"], "Auditor Qian").model_dump(mode="json")
    assert verified["ok"] and {f["legal_hold"] for f in verified["files"]} == {"ON"}
    desk.clock.advance(minutes=1)
    link = archiver.retrieve(case["case_id"], "html", "Auditor Zhou").model_dump(mode="json")
    assert link["expires_in"] == 300 and archived["html_key"] in link["url"]
    desk.clock.advance(minutes=1)
    archiver.legal_hold(case["case_id"], False, "Auditor Qian", "audit closed")

    log = [record.model_dump(mode="json") for record in archiver.audit_log(case["case_id"], None)]
    assert [(r["actor"], r["action"]) for r in log] == [
        ("Auditor Qian", "legal-hold-on"), ("Auditor Qian", "verify"), ("Auditor Zhou", "retrieve"),
        ("Auditor Qian", "legal-hold-off")]
    assert log[2]["keys"] == [archived["html_key"]] and log[2]["version_ids"] == [archived["html_version_id"]]
    assert [r.model_dump(mode="json") for r in archiver.audit_log(None, desk.clock.now.date())] == log


def test_a_legal_hold_and_a_matching_spot_check_after_archiving_are_archived_as_held_addenda(desk: Desk) -> None:
    reports = desk.reports()
    case = desk.closed_complaint()
    case_id = case["case_id"]
    desk.clock.advance(hours=73)
    desk.run()
    first = desk.read(case_id)["archive"]
    desk.archiver().legal_hold(case_id, True, "Auditor Qian", "court order 2026-118")
    held_case = desk.read(case_id)
    assert held_case["legal_hold"]["reason"] == "court order 2026-118"
    assert held_case["history"][-1]["action"] == "legal-hold-on"
    assert all("expires_at" not in item for item in desk.partition(case_id) if item["sk"] == "CASE")

    desk.clock.advance(minutes=15)
    assert desk.run().archived == 1  # the hold, as an addendum
    check = reports.start_spot_check("store-xh-01", date(2026, 11, 23), date(2026, 11, 23), 1.0, "Zhao Min")
    reports.record_result(check.check_id, case_id, True, "customer confirmed the refund", "Zhao Min", None)
    assert desk.read(case_id)["spot_checks"][0]["matches"] is True
    desk.clock.advance(minutes=15)
    assert desk.run().archived == 1  # the verified result, as a second addendum

    entries = [e.model_dump(mode="json") for e in desk.archiver().files(case_id)]
    assert [e["sequence"] for e in entries] == [0, 1, 2]
    bucket = desk.settings.archive_bucket
    last = entries[-1]["file"]
    got = desk.s3.get_object(Bucket=bucket, Key=last["json_key"], VersionId=last["json_version_id"])
    latest = json.loads(got["Body"].read())
    assert latest["legal_hold"]["on"] is True and latest["spot_checks"][0]["note"] == "customer confirmed the refund"
    for entry in entries[1:]:  # added while the hold is on: held like the file they add to
        for key, version in ((entry["file"]["json_key"], entry["file"]["json_version_id"]),
                             (entry["file"]["html_key"], entry["file"]["html_version_id"])):
            head = desk.s3.head_object(Bucket=bucket, Key=key, VersionId=version)
            assert (head["ObjectLockMode"], head["ObjectLockLegalHoldStatus"]) == ("COMPLIANCE", "ON")
    assert entries[0]["file"]["json_key"] == first["json_key"] and entries[-1]["legal_hold"]["on"] is True
    verified = desk.archiver().verify(case_id, "Auditor Qian").model_dump(mode="json")
    assert verified["ok"] and [f["sequence"] for f in verified["files"]] == [0, 0, 1, 1, 2, 2]


def test_verification_reports_a_file_whose_checksum_does_not_match_the_index(desk: Desk) -> None:
    case = desk.closed_complaint()
    desk.clock.advance(hours=73)
    desk.run()
    key = to_item({"pk": f"ARCHIVE#{case['case_id']}", "sk": f"FILE#v{case['version']:06d}"})
    desk.ddb.update_item(TableName=desk.settings.table_name, Key=key,
                         UpdateExpression="SET #d.#f.json_sha256 = :bad",
                         ExpressionAttributeNames={"#d": "doc", "#f": "file"},
                         ExpressionAttributeValues={":bad": {"S": "0" * 64}})
    result = desk.archiver().verify(case["case_id"], "Auditor Qian").model_dump(mode="json")
    assert result["ok"] is False
    assert [f["ok"] for f in result["files"]] == [False, True]
    assert desk.archiver().audit_log(case["case_id"], None)[-1].outcome == "MISMATCH"


def test_unknown_cases_are_not_found_in_the_archive(desk: Desk) -> None:
    open_case = desk.cases.register(cmd.IntakeRequest.model_validate(complaint()), None, "x").case
    for case_id in (open_case.case_id, "CD-AAAA-BBBB-CCCC", "../../etc/passwd"):
        with pytest.raises(CaseNotFound):
            desk.archiver().retrieve(case_id, "json", "Auditor Qian")


class FlakyS3:
    """The real client, except that put_object fails `failures` times (from the `after`-th call on),
    with an S3 error or a timeout."""

    def __init__(self, real: Any, failures: int, after: int = 0, timeout: bool = False) -> None:
        self._real, self.failures, self.calls, self._after, self._timeout = real, failures, 0, after, timeout

    def put_object(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls > self._after and self.failures > 0:
            self.failures -= 1
            if self._timeout:
                raise ReadTimeoutError(endpoint_url="https://s3.amazonaws.com")
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "reduce your request rate"}}, "PutObject")
        return self._real.put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@pytest.mark.parametrize("timeout", [False, True], ids=["s3-error", "s3-timeout"])
@pytest.mark.parametrize("after", [0, 1], ids=["json-upload-fails", "html-upload-fails"])
def test_an_s3_failure_leaves_the_case_due_and_the_next_run_archives_it_once(
        desk: Desk, after: int, timeout: bool, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    case = desk.closed_complaint()
    desk.clock.advance(hours=73)
    report = desk.run(s3=FlakyS3(desk.s3, failures=10, after=after, timeout=timeout))
    assert (report.archived, report.failed) == (0, 1)
    assert desk.read(case["case_id"])["archive"] is None
    assert any(r.levelname == "ERROR" and "stays due" in r.getMessage() for r in caplog.records)
    assert '"ArchiveFailed"' in capsys.readouterr().out
    assert all("expires_at" not in item for item in desk.partition(case["case_id"]))

    desk.clock.advance(minutes=15)
    assert desk.run().archived == 1
    archived = desk.read(case["case_id"])["archive"]
    assert [v["VersionId"] for v in desk.versions(archived["json_key"])] == [archived["json_version_id"]]
    assert len(desk.all_objects()) == 2


def test_a_crash_after_the_upload_does_not_make_a_second_file_version(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    case = desk.closed_complaint()
    desk.clock.advance(hours=73)
    real = desk.ddb.transact_write_items

    def killed(**_: Any) -> None:
        raise SystemExit("the Lambda was killed after uploading")

    monkeypatch.setattr(desk.ddb, "transact_write_items", killed)
    with pytest.raises(SystemExit):
        desk.run()
    monkeypatch.setattr(desk.ddb, "transact_write_items", real)
    assert len(desk.all_objects()) == 2 and desk.read(case["case_id"])["archive"] is None
    assert all("expires_at" not in item for item in desk.partition(case["case_id"]))

    desk.clock.advance(minutes=15)
    assert desk.run().archived == 1
    archived = desk.read(case["case_id"])["archive"]
    assert len(desk.all_objects()) == 2
    assert [v["VersionId"] for v in desk.versions(archived["html_key"])] == [archived["html_version_id"]]
    assert desk.archiver().verify(case["case_id"], "Auditor Qian").ok


def test_a_dynamodb_throttle_while_confirming_loses_nothing(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    case = desk.closed_complaint()
    desk.clock.advance(hours=73)
    real = desk.ddb.transact_write_items

    def throttled(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                          "TransactWriteItems")

    monkeypatch.setattr(desk.ddb, "transact_write_items", throttled)
    assert desk.run().failed == 1
    monkeypatch.setattr(desk.ddb, "transact_write_items", real)
    desk.clock.advance(minutes=15)
    assert desk.run().archived == 1
    assert len(desk.all_objects()) == 2
    assert desk.read(case["case_id"])["archive"]["case_version"] == case["version"]


def test_a_case_reopened_while_it_is_being_archived_stays_hot(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    """The confirm loses the version race: the case keeps no TTL and is archived at its next closing."""
    case = desk.closed_complaint()
    desk.clock.advance(hours=73)
    archiver = desk.archiver()
    real_put = archiver._files.put_once
    reopened: list[dict[str, Any]] = []

    def put_then_reopen(*args: Any, **kwargs: Any) -> str:
        version_id = real_put(*args, **kwargs)
        if not reopened:
            reopened.append(desk.act(case, "reopen", reason="customer called back"))
        return version_id

    monkeypatch.setattr(archiver._files, "put_once", put_then_reopen)
    assert archiver.run().failed == 1
    stored = desk.read(case["case_id"])
    assert (stored["status"], stored["archive"]) == ("assigned", None)
    assert all("expires_at" not in item for item in desk.partition(case["case_id"]))


def test_auditors_work_through_the_api_and_a_presigned_link_returns_the_file(
        api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import requests

    import app
    from chalicelib.config import get_settings
    from local.scheduler import scheduled_jobs
    from tests.conftest import JSON
    from tests.integration.test_cases_api import create, post

    monkeypatch.setenv("ARCHIVE_SETTLE_HOURS", "0")
    get_settings.cache_clear()
    case = create(api)
    closed = post(api, f"/cases/{case['case_id']}/close",
                  {"actor": "Li Na", "version": 1, "reason": "withdrawn by the customer"}).json_body
    assert scheduled_jobs(app)["archive"]()["archived"] == 1  # the Lambda handler, as EventBridge calls it

    today = closed["closed_at"][:10]
    listed = api.get(f"/archive?unit_id=store-xh-01&closed_from={today}&closed_to={today}").json_body
    assert [item["case_id"] for item in listed["items"]] == [case["case_id"]]
    files = api.get(f"/archive/{case['case_id']}").json_body["files"]
    assert files[0]["file"]["retain_until"][:4] == str(int(today[:4]) + 1)

    link = post(api, f"/archive/{case['case_id']}/retrieve", {"actor": "Auditor Qian", "format": "json"}).json_body
    fetched = requests.get(link["url"], timeout=10)
    assert fetched.status_code == 200
    assert hashlib.sha256(fetched.content).hexdigest() == link["sha256"] == files[0]["file"]["json_sha256"]
    assert post(api, f"/archive/{case['case_id']}/verify", {"actor": "Auditor Qian"}).json_body["ok"] is True
    held = api.put(f"/archive/{case['case_id']}/legal-hold", headers=JSON,
                   body=json.dumps({"actor": "Auditor Qian", "hold": True, "reason": "tax audit"}))
    assert held.status_code == 200 and held.json_body["files"][0]["legal_hold"]["on"] is True
    log = api.get(f"/audit-log?case_id={case['case_id']}").json_body["items"]
    assert {(r["actor"], r["action"]) for r in log} == {
        ("Auditor Qian", "retrieve"), ("Auditor Qian", "verify"), ("Auditor Qian", "legal-hold-on")}

    current = api.get(f"/cases/{case['case_id']}").json_body
    assert current["legal_hold"]["reason"] == "tax audit"  # on the case too, for its next addendum
    reopen = post(api, f"/cases/{case['case_id']}/reopen",
                  {"actor": "Li Na", "version": current["version"], "reason": "called again"})
    assert reopen.status_code == 409 and "archived" in reopen.json_body["message"]


@pytest.mark.parametrize(("method", "path", "body", "status", "field"), [
    ("GET", "/archive?closed_from=2026-01-01&closed_to=2026-12-31", None, 400, "unit_id"),
    ("GET", "/archive?unit_id=store-xh-01&closed_from=2026-13-01&closed_to=2026-12-31", None, 400, "closed_from"),
    ("GET", "/archive?unit_id=store-xh-01&closed_from=2026-12-01&closed_to=2026-11-01", None, 400, "closed_to"),
    ("GET", "/archive?unit_id=nowhere&closed_from=2026-12-01&closed_to=2026-12-01", None, 400, "unit_id"),
    ("GET", "/archive?unit_id=store-xh-01&closed_from=2026-01-01&closed_to=2026-12-31&cursor=abc", None, 400,
     "cursor"),
    ("GET", "/archive/CD-AAAA-BBBB-CCCC", None, 404, None),
    ("POST", "/archive/CD-AAAA-BBBB-CCCC/retrieve", {"actor": "Auditor Qian"}, 404, None),
    ("POST", "/archive/CD-AAAA-BBBB-CCCC/retrieve", {"actor": "Auditor Qian", "format": "pdf"}, 400, "format"),
    ("POST", "/archive/CD-AAAA-BBBB-CCCC/verify", {"actor": "Li Na", "extra": 1}, 400, "extra"),
    ("PUT", "/archive/CD-AAAA-BBBB-CCCC/legal-hold", {"actor": "Auditor Qian", "hold": True}, 400, "reason"),
    ("GET", "/audit-log", None, 400, "case_id"),
    ("GET", "/audit-log?date=yesterday", None, 400, "date"),
])
def test_archive_routes_answer_bad_requests_clearly(api: Any, method: str, path: str, body: Any, status: int,
                                                    field: str | None) -> None:
    from tests.conftest import JSON

    kwargs = {"headers": JSON, "body": json.dumps(body)} if body is not None else {}
    response = getattr(api, method.lower())(path, **kwargs)
    assert response.status_code == status, response.body
    if field:
        assert field in response.json_body["fields"]


def test_a_case_with_more_items_than_a_transaction_holds_gets_its_ttl_on_every_item(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.services import archive

    monkeypatch.setattr(archive, "TTL_IN_TRANSACTION", 2)  # 6 events + 2 notices: most overflow
    case = desk.closed_complaint(channel="media")
    desk.clock.advance(hours=73)
    assert desk.run().archived == 1
    items = desk.partition(case["case_id"])
    assert len(items) > 8
    assert {item.get("expires_at") for item in items} == {int((desk.clock.now + timedelta(days=90)).timestamp())}


def test_verification_reports_a_weakened_lock_as_a_failure(desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    """A lock changed behind the service's back (S3 itself refuses it; a tamper with storage would
    not): the file's bytes are intact, but it is no longer kept as long, or as firmly, as the index
    says, and verify must say so."""
    case = desk.closed_complaint()
    desk.clock.advance(hours=73)
    desk.run()
    archived = desk.read(case["case_id"])["archive"]
    assert desk.archiver().verify(case["case_id"], "Auditor Qian").ok is True
    # S3 refuses this through its API (and so does the tests' AWS, local/aws_limits.py): the lock is
    # weakened where only a storage-level tamper could, in the emulator's own record of the file
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    stored = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_object(
        desk.settings.archive_bucket, archived["json_key"], version_id=archived["json_version_id"])
    stored.lock_mode = "GOVERNANCE"
    stored.lock_until = (desk.clock.now + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    capsys.readouterr()
    desk.clock.advance(minutes=1)

    result = desk.archiver().verify(case["case_id"], "Auditor Qian").model_dump(mode="json")
    assert result["ok"] is False
    json_file, html_file = result["files"]
    assert (json_file["checksum_ok"], json_file["lock_ok"], html_file["ok"]) == (True, False, True)
    assert json_file["lock_mode"] == "GOVERNANCE"
    expected = datetime.fromisoformat(archived["retain_until"])
    assert datetime.fromisoformat(json_file["expected_retain_until"]) == expected
    assert [p.split(" ")[0] for p in json_file["problems"]] == ["lock", "retained"]
    assert desk.archiver().audit_log(case["case_id"], None)[-1].outcome == "LOCK WEAKENED"
    metrics = capsys.readouterr().out
    assert '"ArchiveLockWeakened"' in metrics and '"ArchiveVerificationFailed"' in metrics


def test_verification_reports_a_legal_hold_lifted_behind_the_services_back(desk: Desk) -> None:
    """Anyone with s3:PutObjectLegalHold can lift a hold in S3 itself (compliance mode does not stop
    it); the index still has it on, and verify must say the file is no longer held."""
    case = desk.closed_complaint()
    desk.clock.advance(hours=73)
    desk.run()
    desk.archiver().legal_hold(case["case_id"], True, "Auditor Qian", "tax audit")
    assert desk.archiver().verify(case["case_id"], "Auditor Qian").ok is True
    archived = desk.read(case["case_id"])["archive"]
    desk.s3.put_object_legal_hold(Bucket=desk.settings.archive_bucket, Key=archived["html_key"],
                                  VersionId=archived["html_version_id"], LegalHold={"Status": "OFF"})

    result = desk.archiver().verify(case["case_id"], "Auditor Qian").model_dump(mode="json")
    json_file, html_file = result["files"][:2]
    assert (result["ok"], json_file["ok"], html_file["lock_ok"], html_file["checksum_ok"]) == (False, True, False, True)
    assert html_file["problems"] == ["legal hold is OFF in S3; the index has it on"]
    verified = [r.outcome for r in desk.archiver().audit_log(case["case_id"], None) if r.action == "verify"]
    assert sorted(verified) == ["LOCK WEAKENED", "intact"]


def test_refused_attempts_on_archive_routes_are_in_the_audit_log_with_who_tried(
        api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import uuid

    import app
    from chalicelib.config import get_settings
    from local.scheduler import scheduled_jobs
    from tests.conftest import JSON, staff_token
    from tests.integration.test_cases_api import create, post

    monkeypatch.setenv("ARCHIVE_SETTLE_HOURS", "0")
    get_settings.cache_clear()
    case = create(api)
    post(api, f"/cases/{case['case_id']}/close", {"actor": "Li Na", "version": 1, "reason": "withdrawn"})
    assert scheduled_jobs(app)["archive"]()["archived"] == 1

    agent = {**JSON, "Authorization": f"Bearer {staff_token('Li Na', ['agent'], 'store-xh-01')}"}
    assert api.post(f"/archive/{case['case_id']}/retrieve", headers=agent,
                    body=json.dumps({"format": "json"})).status_code == 403
    elsewhere = {**JSON, "Authorization": f"Bearer {staff_token('Auditor Wu', ['auditor'], 'store-xh-02')}"}
    assert api.post(f"/archive/{case['case_id']}/verify", headers=elsewhere, body="{}").status_code == 404
    assert post(api, f"/archive/{case['case_id']}/retrieve", {"actor": "Auditor Qian", "format": "html"}
                ).status_code == 200

    log = api.get(f"/audit-log?case_id={case['case_id']}").json_body["items"]
    by_action = {(r["action"], r["outcome"]): r for r in log}
    forbidden = by_action[("retrieve", "refused 403")]
    assert (forbidden["staff_id"], forbidden["roles"], forbidden["staff_unit_id"]) == (
        str(uuid.uuid5(uuid.NAMESPACE_URL, "Li Na|agent|store-xh-01")), ["agent"], "store-xh-01")
    not_found = by_action[("verify", "refused 404")]
    assert (not_found["actor"], not_found["staff_unit_id"], not_found["keys"]) == ("Auditor Wu", "store-xh-02", [])
    retrieved = by_action[("retrieve", "link valid 300 s")]
    assert retrieved["format"] == "html" and retrieved["staff_id"] and retrieved["roles"]
    assert all(r["record_id"] and r["request_id"] for r in log)
    assert len({r["record_id"] for r in log}) == len(log) == 3

    # a listing of a unit outside the auditor's territory, and the organisation's chain asked for
    # by an auditor below the top: both refused (400), both in the day's log with who tried
    today = datetime.now(UTC).date().isoformat()
    assert api.get(f"/archive?unit_id=store-xh-01&closed_from={today}&closed_to={today}",
                   headers=elsewhere).status_code == 400
    assert api.get(f"/audit-log/chain?from={today}&to={today}", headers=elsewhere).status_code == 400
    day = api.get(f"/audit-log?date={today}").json_body["items"]
    refused = {(r["action"], r["unit_id"]) for r in day if r["outcome"] == "refused 400" and r["actor"] == "Auditor Wu"}
    assert refused == {("list", "store-xh-01"), ("read-audit-log", "store-xh-02")}


def test_a_change_after_archiving_is_archived_as_an_addendum_chained_to_the_file_before(desk: Desk) -> None:
    """Rulebook §6/§7: a spot check's mismatch and its rectification, recorded after the case was
    archived, reach the archive as a second locked file naming the first; the hot copy's TTL is
    set again only once that file is confirmed."""
    reports = desk.reports()
    case = desk.closed_complaint()
    case_id = case["case_id"]
    desk.clock.advance(hours=73)
    desk.run()
    first = desk.read(case_id)["archive"]

    check = reports.start_spot_check("store-xh-01", date(2026, 11, 23), date(2026, 11, 23), 1.0, "Zhao Min")
    assert check.sample == [case_id]
    desk.clock.advance(hours=1)
    reports.record_result(check.check_id, case_id, False, "the refund was never paid", "Zhao Min", None)
    assert all("expires_at" not in item for item in desk.partition(case_id) if item["sk"] == "CASE")
    assert desk.run().archived == 0  # not while the rectification runs
    desk.clock.advance(hours=2)
    desk.act(desk.read(case_id), "complete-rectification", result="refund paid on 26 November")
    assert all("expires_at" not in item for item in desk.partition(case_id)
               if item["sk"] == "CASE" or item.get("doc", {}).get("action") == "complete-rectification")

    desk.clock.advance(minutes=15)
    assert desk.run().archived == 1
    stored = desk.read(case_id)
    second = stored["archive"]
    assert stored["history"][-1]["action"] == "archive-addendum" and second["json_key"] != first["json_key"]
    entries = [e.model_dump(mode="json") for e in desk.archiver().files(case_id)]
    assert [(e["sequence"], e["previous_sha256"]) for e in entries] == [(0, None), (1, first["json_sha256"])]

    bucket = desk.settings.archive_bucket
    got = desk.s3.get_object(Bucket=bucket, Key=second["json_key"], VersionId=second["json_version_id"])
    assert (got["ObjectLockMode"], got["ObjectLockRetainUntilDate"]) == (
        "COMPLIANCE", datetime.fromisoformat(first["retain_until"]))
    addendum = json.loads(got["Body"].read())
    assert addendum["addendum"]["previous_sha256"] == first["json_sha256"]
    assert addendum["rectification"]["result"] == "refund paid on 26 November"
    assert [(v["matches"], v["note"]) for v in addendum["spot_checks"]] == [(False, "the refund was never paid")]
    assert {"order-rectification", "complete-rectification"} <= {e["action"] for e in addendum["history"]}
    page = desk.s3.get_object(Bucket=bucket, Key=second["html_key"])["Body"].read().decode()
    assert "补充归档 Addendum 1" in page and first["json_sha256"] in page and "refund paid on 26 November" in page

    verified = desk.archiver().verify(case_id, "Auditor Qian").model_dump(mode="json")
    assert verified["ok"] and [f["sequence"] for f in verified["files"]] == [0, 0, 1, 1]
    links = desk.archiver().retrieve(case_id, "json", "Auditor Qian").model_dump(mode="json")["files"]
    assert [link["key"] for link in links] == [first["json_key"], second["json_key"]]

    expiry = int((datetime.fromisoformat(second["archived_at"]) + timedelta(days=90)).timestamp())
    assert {item["expires_at"] for item in desk.partition(case_id)} == {expiry}
    assert desk.run().due == 0



def test_a_regulators_finding_after_archiving_reaches_the_archive_as_an_addendum(desk: Desk) -> None:
    """Rulebook §7: a regulator finds, weeks later, that the store broke a rule. Recorded on the
    archived (closed) case, it leaves the outcome as it was, keeps the first finding in the history,
    and is archived as an addendum to the case's file."""
    case = desk.closed_complaint()
    desk.clock.advance(hours=73)
    desk.run()
    first = desk.read(case["case_id"])["archive"]
    assert "record-finding" in desk.read(case["case_id"])["available_actions"]
    desk.clock.advance(days=20)
    later = desk.act(desk.read(case["case_id"]), "record-finding", kind="violation",
                     detail="market regulator: the price tag and the till price differed",
                     reported_to="Branch manager Qian")
    assert (later["status"], later["finding"]["kind"]) == ("closed", "violation")
    assert later["history"][-1]["changes"]["finding"]["before"]["detail"] == "scanned twice"

    desk.clock.advance(minutes=15)
    assert desk.run().archived == 1
    second = desk.read(case["case_id"])["archive"]
    addendum = json.loads(desk.s3.get_object(Bucket=desk.settings.archive_bucket, Key=second["json_key"],
                                             VersionId=second["json_version_id"])["Body"].read())
    assert addendum["addendum"]["previous_sha256"] == first["json_sha256"]
    assert addendum["finding"]["detail"] == "market regulator: the price tag and the till price differed"
    assert desk.archiver().verify(case["case_id"], "Auditor Qian").ok is True


def test_the_audit_log_is_exported_daily_as_a_locked_hash_chain_and_an_edited_record_breaks_it(desk: Desk) -> None:
    case = desk.closed_complaint()
    desk.clock.advance(hours=73)  # 2026-11-26, 05:00 UTC
    assert desk.run().audit_days_exported == 1  # the chain starts with the day before: no accesses
    first_day = desk.clock.now.date()
    desk.archiver().verify(case["case_id"], "Auditor Qian")
    desk.archiver().retrieve(case["case_id"], "json", "Auditor Zhou")

    desk.clock.now = datetime.combine(first_day + timedelta(days=1), datetime.min.time(), UTC) + timedelta(minutes=5)
    assert desk.run().audit_days_exported == 0  # the day is over, but not its grace period
    desk.clock.advance(minutes=10)
    assert desk.run().audit_days_exported == 1
    assert desk.run().audit_days_exported == 0  # exactly once
    desk.archiver().legal_hold(case["case_id"], True, "Auditor Qian", "tax audit")
    desk.clock.advance(days=1)
    assert desk.run().audit_days_exported == 1
    second_day = first_day + timedelta(days=1)

    bucket = desk.settings.archive_bucket
    files = desk.all_objects("audit-log/")
    assert sorted(v["Key"] for v in files) == [f"audit-log/{d:%Y/%m/%d}.jsonl"
                                               for d in (first_day - timedelta(days=1), first_day, second_day)]
    first_body = desk.s3.get_object(Bucket=bucket, Key=f"audit-log/{first_day:%Y/%m/%d}.jsonl")
    assert first_body["ObjectLockMode"] == "COMPLIANCE"
    first_sha = hashlib.sha256(first_body["Body"].read()).hexdigest()
    second = desk.s3.get_object(Bucket=bucket, Key=f"audit-log/{second_day:%Y/%m/%d}.jsonl")["Body"].read()
    header, *lines = second.decode().splitlines()
    assert json.loads(header)["previous_sha256"] == first_sha and len(lines) == 1

    checked = desk.archiver().audit_chain(first_day, second_day).model_dump(mode="json")
    assert (checked["ok"], [d["records"] for d in checked["days"]]) == (True, [2, 1])
    # asked from before the first export to today: those days have no file and are no break
    today = desk.clock.now.date()
    wide = desk.archiver().audit_chain(first_day - timedelta(days=3), today).model_dump(mode="json")
    assert (wide["ok"], wide["first_break"]) == (True, None)
    assert [d["note"] is not None for d in wide["days"]] == [True, True, False, False, False, True]
    assert wide["days"][0]["note"] == "before the audit log's first export"
    assert wide["days"][-1]["note"].startswith("not exported yet")

    # an operator with table access rewrites an outcome: the chain shows the day
    [item] = [raw for raw in desk.ddb.query(
        TableName=desk.settings.table_name, KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"AUDIT#{first_day.isoformat()}"}})["Items"]
        if from_item(raw)["doc"]["action"] == "verify"]
    desk.ddb.update_item(TableName=desk.settings.table_name, Key={"pk": item["pk"], "sk": item["sk"]},
                         UpdateExpression="SET #d.#o = :o", ExpressionAttributeNames={"#d": "doc", "#o": "outcome"},
                         ExpressionAttributeValues={":o": {"S": "intact (edited)"}})
    broken = desk.archiver().audit_chain(first_day, second_day).model_dump(mode="json")
    assert (broken["ok"], broken["first_break"]) == (False, first_day.isoformat())
    assert "differ" in broken["days"][0]["problem"] and broken["days"][1]["ok"]
    # the table's record of a day's export deleted: the file is still in the locked bucket, and the
    # missing record is itself a break (the bucket, not the table, says what was exported)
    desk.ddb.delete_item(TableName=desk.settings.table_name,
                         Key=to_item({"pk": f"AUDIT-EXPORT#{second_day.isoformat()}", "sk": "FILE"}))
    desk.clock.advance(hours=2)  # past the hour the export of the day has to write it
    gap = desk.archiver().audit_chain(second_day, second_day).model_dump(mode="json")
    assert gap["first_break"] == second_day.isoformat() and gap["days"][0]["records"] == 1
    assert gap["days"][0]["problem"] == "the table's record of this day's export is missing or names another file"
    # every export record deleted, to pass the edit off as "before the first export": the bucket's
    # files still anchor the chain, and the edited day still breaks it
    for day in (first_day - timedelta(days=1), first_day):
        desk.ddb.delete_item(TableName=desk.settings.table_name,
                             Key=to_item({"pk": f"AUDIT-EXPORT#{day.isoformat()}", "sk": "FILE"}))
    hidden = desk.archiver().audit_chain(first_day - timedelta(days=3), second_day).model_dump(mode="json")
    assert (hidden["ok"], hidden["first_break"]) == (False, (first_day - timedelta(days=1)).isoformat())
    assert hidden["days"][2]["problem"].startswith("the table's record") and "differ" in hidden["days"][3]["problem"]
    assert [d["note"] for d in hidden["days"][:2]] == ["before the audit log's first export"] * 2


def customer_links(desk: Desk) -> list[dict[str, Any]]:
    """Every item of the customer index (a test's table holds a handful)."""
    found = desk.ddb.scan(TableName=desk.settings.table_name, FilterExpression="entity = :e",
                          ExpressionAttributeValues={":e": {"S": "customer-link"}})["Items"]
    return [from_item(raw) for raw in found]


def test_a_customers_link_to_an_archived_case_goes_when_its_file_may_and_an_older_case_gets_one(
        desk: Desk) -> None:
    """Rulebook §7: records are kept for the retention period. The customer index keeps no case
    longer: archiving sets the link's expiry to the file's retain-until (an important case's ten
    years too), and a case registered before the index existed is filed under its customer then."""
    case = desk.closed_complaint()
    important = desk.closed_complaint(customer={"name": "Wang Fang", "phone": "+86 138-0000-1234"})
    desk.act(desk.read(important["case_id"]), "mark-important", reason="regulator asked for the file")
    old_case = desk.closed_complaint(customer={"name": "Li Lei", "phone": "139 0000 5678"})
    old_link = next(link for link in customer_links(desk) if link["case_id"] == old_case["case_id"])
    desk.ddb.delete_item(TableName=desk.settings.table_name,  # as if registered before the index
                         Key=to_item({"pk": old_link["pk"], "sk": old_link["sk"]}))
    assert {link["case_id"] for link in customer_links(desk)} == {case["case_id"], important["case_id"]}
    assert all("expires_at" not in link for link in customer_links(desk))

    desk.clock.advance(hours=80)
    assert desk.run().archived == 3
    links = {link["case_id"]: link for link in customer_links(desk)}
    assert set(links) == {case["case_id"], important["case_id"], old_case["case_id"]}
    for case_id, link in links.items():
        retain_until = datetime.fromisoformat(desk.read(case_id)["archive"]["retain_until"])
        assert int(link["expires_at"]) == int(retain_until.timestamp()), case_id
        assert link["unit_id"] == "store-xh-01" and link["type"] == "complaint"
    ten_years = datetime.fromisoformat(desk.read(important["case_id"])["archive"]["retain_until"])
    assert ten_years.year - datetime.fromisoformat(important["closed_at"]).year == 10
    # the same customer (one phone, two spellings) still finds their earlier case after archiving
    later = desk.cases.register(cmd.IntakeRequest.model_validate(complaint()), None, "hotline intake").case
    assert {c.case_id for c in later.earlier_cases} == {case["case_id"], important["case_id"]}
