"""The archive's two stores: S3 holds the locked case files; the table holds the index
auditors search (by unit and closing date, by case) and the audit log of every retrieval."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.table import (
    BY_UNIT,
    DUE_SHARDS,
    archive_partition,
    case_pk,
    decode_cursor,
    due_key,
    encode_cursor,
    epoch_seconds,
    from_item,
    query_all,
    query_due,
    to_item,
)
from chalicelib.domain.archive import sha256_base64
from chalicelib.domain.archive_records import ArchiveEntry, AuditExport, AuditRecord, LegalHold
from chalicelib.domain.errors import DomainError
from chalicelib.services.ports import FileLock


class ArchiveConflict(DomainError):
    """An object already sits at a file's key with other content; nothing is overwritten."""


class S3ArchiveStore:
    """Writes each file once, locked in compliance mode; reads, presigns and holds by version id."""

    def __init__(self, client: Any | Callable[[], Any], bucket: str) -> None:
        """`client` may be a factory, as for SNS: an API call that never touches S3 builds none."""
        self._client_or_factory = client
        self._bucket = bucket

    @cached_property
    def client(self) -> Any:
        made = self._client_or_factory
        return made() if callable(made) else made

    def put_once(self, key: str, body: bytes, content_type: str, retain_until: datetime,
                 legal_hold: bool = False) -> str:
        """The object's version id. `If-None-Match: *` makes S3 refuse a second write of the key, so a
        run that died after uploading finds the first upload here and keeps it (same checksum)."""
        checksum = sha256_base64(body)
        try:
            written = self.client.put_object(
                Bucket=self._bucket, Key=key, Body=body, ContentType=content_type,
                ChecksumAlgorithm="SHA256", ChecksumSHA256=checksum, IfNoneMatch="*", ServerSideEncryption="AES256",
                ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=retain_until,
                **({"ObjectLockLegalHoldStatus": "ON"} if legal_hold else {}))
            return str(written["VersionId"])
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "PreconditionFailed":
                raise
        existing = self.client.head_object(Bucket=self._bucket, Key=key, ChecksumMode="ENABLED")
        if existing.get("ChecksumSHA256") != checksum:
            raise ArchiveConflict(f"{key} already holds other content; it is kept and not overwritten")
        return str(existing["VersionId"])

    def read(self, key: str, version_id: str) -> tuple[bytes, str | None]:
        """The file's bytes and the SHA-256 S3 stored at upload (base64)."""
        got = self.client.get_object(Bucket=self._bucket, Key=key, VersionId=version_id,
                                     ChecksumMode="ENABLED")
        return got["Body"].read(), got.get("ChecksumSHA256")

    def first_versions(self, prefix: str) -> dict[str, str]:
        """Each key under `prefix` with its first version's id, in one listing: what was written
        first, whatever was written or deleted after it (a delete only adds a marker; a locked
        version stays)."""
        first: dict[str, tuple[Any, str]] = {}
        for page in self.client.get_paginator("list_object_versions").paginate(Bucket=self._bucket, Prefix=prefix):
            for version in page.get("Versions", []):
                known = first.get(version["Key"])
                if known is None or version["LastModified"] <= known[0]:  # S3 lists the newest first
                    first[version["Key"]] = (version["LastModified"], str(version["VersionId"]))
        return {key: version_id for key, (_, version_id) in first.items()}

    def lock(self, key: str, version_id: str) -> FileLock:
        """The version's lock as S3 reports it: mode, retain-until date, legal hold."""
        found = self.client.head_object(Bucket=self._bucket, Key=key, VersionId=version_id)
        until = found.get("ObjectLockRetainUntilDate")
        return FileLock(found.get("ObjectLockMode"), until.astimezone(UTC) if until else None,
                        found.get("ObjectLockLegalHoldStatus", "OFF"))

    def presign(self, key: str, version_id: str, seconds: int) -> str:
        return str(self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key, "VersionId": version_id},
            ExpiresIn=seconds))

    def set_legal_hold(self, key: str, version_id: str, on: bool) -> None:
        self.client.put_object_legal_hold(Bucket=self._bucket, Key=key, VersionId=version_id,
                                          LegalHold={"Status": "ON" if on else "OFF"})


def entry_pk(case_id: str) -> str:
    return f"ARCHIVE#{case_id}"


def entry_item(entry: ArchiveEntry) -> dict[str, Any]:
    """Index entry: by case (`pk`) and by unit and closing time (GSI `by_unit`, own partition)."""
    return to_item({
        "pk": entry_pk(entry.case_id), "sk": f"FILE#v{entry.file.case_version:06d}",
        "entity": "archive-entry",
        "gsi1pk": f"ARCHIVE#UNIT#{entry.unit_id}",
        "gsi1sk": f"{due_key(entry.file.closed_at)}#{entry.case_id}",
        "doc": entry.model_dump(mode="json"),
    })


class DynamoArchiveIndex:
    """Closed cases due for archiving, the entries of archived files, and the audit log."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name
        self.items_read = 0  # audit records read, for the export's cost figure

    # --- the run's side -------------------------------------------------------------------
    def due(self, now: datetime, limit: int) -> tuple[list[str], int]:
        """Ids of closed cases whose settle period is over, and the index items read for them."""
        case_ids: list[str] = []
        for shard in range(DUE_SHARDS):
            for raw in query_due(self._client, self._table, archive_partition(shard), now,
                                 limit - len(case_ids)):
                case_ids.append(from_item(raw)["case_id"])
            if len(case_ids) >= limit:
                break
        return case_ids, len(case_ids)

    def set_expiry(self, case_id: str, sort_keys: Sequence[str], expires_at: datetime | None) -> None:
        """The same TTL (or its removal) one item at a time, for a case with more items than a
        transaction holds; an item that is gone is left gone."""
        for sk in sort_keys:
            try:
                self._client.update_item(TableName=self._table, ConditionExpression="attribute_exists(pk)",
                                         **_expiry(case_id, sk, expires_at))
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise


    # --- auditors' side -------------------------------------------------------------------
    def entries(self, case_id: str) -> list[ArchiveEntry]:
        page = self._client.query(TableName=self._table, ConsistentRead=True,
                                  KeyConditionExpression="pk = :pk",
                                  ExpressionAttributeValues={":pk": {"S": entry_pk(case_id)}})
        return [ArchiveEntry.model_validate(from_item(raw)["doc"]) for raw in page["Items"]]

    def by_unit(self, unit_id: str, closed_from: date, closed_to: date, limit: int,
                cursor: str | None) -> tuple[list[ArchiveEntry], str | None]:
        """Entries of one unit closed within [from, to] (UTC dates), oldest first: one GSI Query."""
        start = due_key(datetime.combine(closed_from, datetime.min.time(), UTC))
        end = due_key(datetime.combine(closed_to + timedelta(days=1), datetime.min.time(), UTC))
        key = f"ARCHIVE#UNIT#{unit_id}"
        kwargs: dict[str, Any] = {
            "TableName": self._table, "IndexName": BY_UNIT, "Limit": limit,
            "KeyConditionExpression": "gsi1pk = :k AND gsi1sk BETWEEN :a AND :b",
            "ExpressionAttributeValues": {":k": {"S": key}, ":a": {"S": start}, ":b": {"S": end}},
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = decode_cursor(cursor, "gsi1pk", key)
        page = self._client.query(**kwargs)
        entries = [ArchiveEntry.model_validate(from_item(raw)["doc"]) for raw in page["Items"]]
        last = page.get("LastEvaluatedKey")
        return entries, (encode_cursor(last) if last else None)

    def put_entry(self, entry: ArchiveEntry) -> None:
        self._client.put_item(TableName=self._table, Item=entry_item(entry))

    def hold(self, entry: ArchiveEntry, hold: LegalHold) -> ArchiveEntry:
        updated = entry.model_copy(update={"legal_hold": hold})
        self.put_entry(updated)
        return updated

    def log(self, record: AuditRecord) -> None:
        self._client.put_item(TableName=self._table, Item=audit_item(record))

    # --- the audit log's daily export ------------------------------------------------------
    def export_marker(self, day: date) -> AuditExport | None:
        """Which file holds `day`'s audit records, once it is exported."""
        found = self._client.get_item(TableName=self._table, ConsistentRead=True,
                                      Key=to_item({"pk": f"AUDIT-EXPORT#{day.isoformat()}", "sk": "FILE"}))
        return AuditExport.model_validate(from_item(found["Item"])["doc"]) if "Item" in found else None

    def record_export(self, export: AuditExport) -> bool:
        """Records the day's file once; False when a run before this one already did."""
        try:
            self._client.put_item(TableName=self._table, ConditionExpression="attribute_not_exists(pk)",
                                  Item=to_item({"pk": f"AUDIT-EXPORT#{export.day.isoformat()}", "sk": "FILE",
                                                "entity": "audit-export", "doc": export.model_dump(mode="json")}))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def audit_log(self, case_id: str | None = None, day: date | None = None) -> list[AuditRecord]:
        """A case's accesses (any day) or one day's accesses (any case), oldest first."""
        if case_id is not None:
            kwargs: dict[str, Any] = {"IndexName": BY_UNIT, "KeyConditionExpression": "gsi1pk = :k",
                                      "ExpressionAttributeValues": {":k": {"S": f"AUDIT#CASE#{case_id}"}}}
        else:
            assert day is not None
            kwargs = {"ConsistentRead": True, "KeyConditionExpression": "pk = :k",
                      "ExpressionAttributeValues": {":k": {"S": f"AUDIT#{day.isoformat()}"}}}
        records = []
        for raw in query_all(self._client, TableName=self._table, **kwargs):
            self.items_read += 1
            records.append(AuditRecord.model_validate(from_item(raw)["doc"]))
        return records


def audit_item(record: AuditRecord) -> dict[str, Any]:
    """One item per access: by day (`AUDIT#<date>`) and by case (GSI `by_unit`, own partition)."""
    at = due_key(record.at)
    return to_item({
        "pk": f"AUDIT#{record.at.astimezone(UTC).date().isoformat()}",
        "sk": f"{at}#{(record.record_id or uuid.uuid4().hex)[:8]}", "entity": "audit",
        "gsi1pk": f"AUDIT#CASE#{record.case_id}", "gsi1sk": at,
        "doc": record.model_dump(mode="json")})


def _expiry(case_id: str, sk: str, expires_at: datetime | None) -> dict[str, Any]:
    key = {"Key": to_item({"pk": case_pk(case_id), "sk": sk})}
    if expires_at is None:
        return {**key, "UpdateExpression": "REMOVE expires_at"}
    return {**key, "UpdateExpression": "SET expires_at = :t",
            "ExpressionAttributeValues": {":t": {"N": str(epoch_seconds(expires_at))}}}


def confirmation_items(table: str, entry: ArchiveEntry, child_sks: Sequence[str]) -> list[dict[str, Any]]:
    """Transaction items that go with the archived case's own write: its index entry and the hot
    copy's TTL on each of its other items (conditional on the item still being there)."""
    expires_at = entry.file.hot_copy_expires_at
    return [{"Put": {"TableName": table, "Item": entry_item(entry)}},
            *({"Update": {"TableName": table, **_expiry(entry.case_id, sk, expires_at),
                          "ConditionExpression": "attribute_exists(pk)"}} for sk in child_sks)]
