"""The write-once archive (rulebook §7): the scheduled run that archives closed cases, and
what auditors do with the files: find, retrieve, verify, hold. Every access is in the audit log."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.domain import audit_chain, lifecycle
from chalicelib.domain.archive import (
    Addendum,
    ArchivePolicy,
    archive_due_at,
    case_file_document,
    case_file_html,
    case_file_json,
    chain_problems,
    file_keys,
    lock_problems,
    retain_until,
    retain_until_from,
    sha256_base64,
    sha256_hex,
)
from chalicelib.domain.archive_records import (
    REFUSED,
    ArchiveEntry,
    AuditAction,
    AuditChain,
    AuditChainDay,
    AuditExport,
    AuditRecord,
    FileCheck,
    FileLink,
    LegalHold,
    Retrieval,
    Verification,
)
from chalicelib.domain.auth import Principal, in_territory
from chalicelib.domain.case_document import Page, case_document
from chalicelib.domain.errors import CaseNotFound, InvalidInput, StaleVersion
from chalicelib.domain.identifiers import is_case_id
from chalicelib.domain.models import ArchivedFile
from chalicelib.observability import count, logger
from chalicelib.services.customers import CustomerHistory
from chalicelib.services.ports import ArchiveConfirmation, ArchiveFiles, ArchiveIndex, CaseRepository, UnitRegistry

JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=utf-8"
# A transaction holds 100 items: the case, its new event, the index entry, the customer index's
# link, and up to this many of the case's other items getting their TTL; a longer case sets the
# rest before confirming.
TTL_IN_TRANSACTION = 90


@dataclass
class ArchiveRunReport:
    items_read: int = 0
    due: int = 0
    archived: int = 0
    failed: int = 0
    skipped: int = 0
    audit_days_exported: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ArchiveService:
    def __init__(self, cases: CaseRepository, index: ArchiveIndex, files: ArchiveFiles,
                 units: UnitRegistry, policy: ArchivePolicy, now: Callable[[], datetime],
                 url_seconds: int = 300, max_cases_per_run: int = 2_000,
                 time_budget_seconds: float = 600.0, export_now: Callable[[], datetime] | None = None,
                 customers: CustomerHistory | None = None) -> None:
        """`export_now` says which days are over for the audit export (default `now`): a run made
        "as if" at a later moment (`./dev job archive --at`) must not export a day still going on.
        `customers` files the archived case under its customer until its file's retain-until."""
        self._cases = cases
        self._index = index
        self._files = files
        self._units = units
        self._policy = policy
        self._now = now
        self._customers = customers
        self._export_now = export_now or now
        self._url_seconds = url_seconds
        self._max_cases = max_cases_per_run
        self._budget = time_budget_seconds

    # --- the scheduled run ----------------------------------------------------------------
    def run(self) -> ArchiveRunReport:
        """Archives every closed case whose settle period is over (and every addendum due), then
        exports the audit log of each day that is over. A case that fails stays in the queue for the
        next run; it is logged and counted (ArchiveFailed), never dropped; so does a day's export."""
        started = time.monotonic()
        report = ArchiveRunReport()
        case_ids, report.items_read = self._index.due(self._now(), self._max_cases)
        report.due = len(case_ids)
        for case_id in case_ids:
            if time.monotonic() - started > self._budget:
                break  # the rest stay due; the next run takes them
            logger.thread_safe_append_keys(case_id=case_id)
            try:
                report.items_read += self._archive(case_id, report)
            except Exception:
                report.failed += 1
                logger.exception("case not archived; it stays due and the next run retries it")
                count("ArchiveFailed")
        logger.thread_safe_remove_keys(["case_id"])
        try:
            report.audit_days_exported = len(self.export_audit_log())
        except Exception:
            logger.exception("audit log not exported; the next run tries again")
            count("AuditExportFailed")
        report.seconds = round(time.monotonic() - started, 3)
        logger.info("archive run", extra=report.as_dict())
        return report

    def _archive(self, case_id: str, report: ArchiveRunReport) -> int:
        """Upload (or find already uploaded) the case's two files, then confirm in one transaction:
        case + history event + index entry + the hot copy's TTL on the case's items. Returns the
        items read."""
        record = self._cases.get(case_id)
        case, now = record.case, self._now()
        due_at = archive_due_at(case, self._policy.settle)
        if due_at is None or due_at > now:  # reopened or already archived since the index was read
            report.skipped += 1
            return 1 + len(record.item_sks)
        assert case.closed_at is not None
        read = 1 + len(record.item_sks)
        addendum, previous = None, None
        if case.archive is not None:  # changed since it was archived: the next file of its chain
            entries = self._index.entries(case_id)
            read += len(entries)
            previous = entries[-1]
            addendum = Addendum(previous.sequence + 1, previous.file.json_sha256, previous.file.json_key,
                                previous.file.json_version_id)
        unit = self._units.get(case.unit_id)
        document = case_file_document(case_document(case, record.history, record.escalations,
                                                    case.updated_at if addendum else case.closed_at,
                                                    unit.time_zone if unit else "UTC",
                                                    deliveries=record.deliveries,
                                                    customer_messages=record.customer_messages), addendum)
        body = case_file_json(document)
        digest = sha256_hex(body)
        page = case_file_html(document, digest, unit.time_zone if unit else None)
        page_digest = sha256_hex(page)
        json_key, html_key = file_keys(case, digest, page_digest)
        until = retain_until(case, self._policy, now)
        if previous is not None:
            until = max(until, previous.file.retain_until)  # an addendum is kept as long as the file it adds to
        held = case.legal_hold is not None and case.legal_hold.on  # a file added under a hold is held too
        archived = ArchivedFile(
            case_version=case.version, closed_at=case.closed_at,
            json_key=json_key, json_version_id=self._files.put_once(json_key, body, JSON_TYPE, until, held),
            json_sha256=digest,
            html_key=html_key, html_version_id=self._files.put_once(html_key, page, HTML_TYPE, until, held),
            html_sha256=page_digest,
            retain_until=until, archived_at=now, hot_copy_expires_at=now + self._policy.hot_copy)
        updated, event = lifecycle.record_archive(case, archived, now)
        inline, overflow = record.item_sks[:TTL_IN_TRANSACTION], record.item_sks[TTL_IN_TRANSACTION:]
        self._index.set_expiry(case_id, overflow, archived.hot_copy_expires_at)
        try:
            entry = ArchiveEntry.of(updated, addendum.sequence if addendum else 0,
                                    addendum.previous_sha256 if addendum else None)
            links = self._customers.link_items(case, until) if self._customers is not None else []
            self._cases.save(updated, event, case.version, also=[ArchiveConfirmation(entry, tuple(inline)), *links])
        except StaleVersion:
            self._index.set_expiry(case_id, overflow, None)  # changed meanwhile: the case stays hot
            raise
        report.archived += 1
        logger.info("case archived", extra={"key": json_key, "retain_until": until.isoformat(),
                                            "addendum": addendum.sequence if addendum else 0})
        count("CasesArchived")
        return read

    # --- the audit log's daily export ----------------------------------------------------
    def export_audit_log(self) -> list[AuditExport]:
        """Writes each UTC day's audit records that is over and not yet exported to the locked
        bucket, oldest first, each file naming the SHA-256 of the day before's (a hash chain).
        Exactly once per day: the file's key is the day's and S3 refuses a second write of it, and
        the day's record in the table is written only if absent. One read when nothing is due."""
        last = audit_chain.day_to_export(self._export_now())
        if self._index.export_marker(last) is not None:
            return []
        previous: AuditExport | None = None
        first = last
        for back in range(1, audit_chain.LOOK_BACK_DAYS + 1):
            previous = self._index.export_marker(last - timedelta(days=back))
            if previous is not None:
                first = previous.day + timedelta(days=1)
                break
        exported = []
        day = first
        while day <= last:
            previous = self._export_day(day, previous)
            exported.append(previous)
            day += timedelta(days=1)
        return exported

    def _export_day(self, day: date, previous: AuditExport | None) -> AuditExport:
        records = self._index.audit_log(day=day)
        body = audit_chain.export_file(day, records, previous.sha256 if previous else None)
        key = audit_chain.export_key(day)
        until = retain_until_from(self._now(), self._policy.important_retention_years)
        version_id = self._files.put_once(key, body, "application/x-ndjson", until)
        export = AuditExport(day=day, key=key, version_id=version_id, sha256=sha256_hex(body),
                             previous_sha256=previous.sha256 if previous else None, records=len(records),
                             exported_at=self._now())
        if not self._index.record_export(export):
            found = self._index.export_marker(day)
            assert found is not None
            return found
        logger.info("audit log exported", extra={"day": day.isoformat(), "records": len(records), "key": key})
        count("AuditLogExported")
        return export

    def audit_chain(self, start: date, end: date, by: Principal | None = None,
                    request_id: str = "") -> AuditChain:
        """Recomputes the chain of exported days from `date_from` to `date_to`: each file read back
        and hashed, each header's link to the day before, and each day's records in the table
        against its file, read from the locked bucket (its first version of the day's key), not
        from the table's markers. Reports every day and the first break: a file that does not
        hold, a day without one once the chain has begun and the day's export is due (a day still
        going on, or before the bucket's first file, is shown with why it has none), or a table
        whose export record is gone or names another file. The organisation-wide log is for
        auditors of a top-level unit."""
        problems: dict[str, str] = {}
        if not 0 <= (end - start).days <= 366:
            problems["to"] = "on or after `from`, at most 366 days later"
        if by is not None and self._units.lineage(by.unit_id)[1:]:
            problems["from"] = "the audit chain covers the whole organisation: for auditors of its top unit"
            self.refused(AuditAction.READ_AUDIT_LOG, "", by, request_id, 400)
        if problems:
            raise InvalidInput("the audit chain cannot be checked as asked", problems)
        # The locked bucket is the authority: its files cannot be changed or removed, while the
        # table's export markers could be. The chain begins at the bucket's first file.
        exported = self._files.first_versions(audit_chain.PREFIX)  # one listing for every day
        first_day = audit_chain.day_of(min(exported)) if exported else None

        def original(day: date) -> tuple[bytes, str] | None:
            key = audit_chain.export_key(day)
            return (self._files.read(key, exported[key])[0], exported[key]) if key in exported else None

        before = original(start - timedelta(days=1))
        before_sha = sha256_hex(before[0]) if before else None
        now = self._export_now()
        days: list[AuditChainDay] = []
        day = start
        while day <= end:
            key = audit_chain.export_key(day)
            found = original(day)
            pending = now < audit_chain.exported_by(day)
            if found is None and (pending or first_day is None or day < first_day):
                note = ("not exported yet: the day is not over, or its export is due at the next run" if pending
                        else "before the audit log's first export")
                days.append(AuditChainDay(day=day, sha256=None, previous_sha256=None, records=0, ok=True,
                                          problem=None, note=note, key=None, version_id=None, url=None))
                day += timedelta(days=1)
                continue
            body, version_id = found if found else (None, None)
            checked = audit_chain.check_day(day, body, before_sha, self._index.audit_log(day=day),
                                            link_known=day > start or before is not None)
            problem = checked.problem
            if problem is None and version_id is not None and not pending:
                marker = self._index.export_marker(day)
                if marker is None or marker.version_id != version_id:
                    problem = "the table's record of this day's export is missing or names another file"
            days.append(AuditChainDay(day=day, sha256=checked.sha256, previous_sha256=checked.previous_sha256,
                                      records=checked.records, ok=problem is None, problem=problem,
                                      key=key if version_id else None, version_id=version_id,
                                      url=self._files.presign(key, version_id, self._url_seconds) if version_id
                                      else None))
            before_sha = checked.sha256
            day += timedelta(days=1)
        first_break = next((d.day for d in days if not d.ok), None)
        if first_break:
            logger.error("audit chain broken", extra={"day": first_break.isoformat()})
            count("AuditChainBroken")
        return AuditChain(start=start, end=end, ok=first_break is None, first_break=first_break, days=days)

    # --- auditors -------------------------------------------------------------------------
    def of_unit(self, unit_id: str, closed_from: date, closed_to: date, page_size: int, cursor: str | None,
             by: Principal | None = None, request_id: str = "") -> Page[ArchiveEntry]:
        """A unit's archived files (for the unit and the units below it, see the route). A unit
        outside the user's territory is answered as unknown, and the attempt is in the audit log."""
        problems: dict[str, str] = {}
        if self._units.get(unit_id) is None or not self._visible(by, unit_id):
            problems["unit_id"] = f"no unit {unit_id[:40]!r} in the organisation"
            if by is not None and self._units.get(unit_id) is not None:
                self.refused(AuditAction.LIST, "", by, request_id, 400, unit_id)
        if closed_to < closed_from:
            problems["closed_to"] = "on or after closed_from"
        if problems:
            raise InvalidInput("the archive cannot be listed as asked", problems)
        return Page(*self._index.by_unit(unit_id, closed_from, closed_to, page_size, cursor))

    def files(self, case_id: str, by: Principal | None = None, request_id: str = "") -> list[ArchiveEntry]:
        """The case's archived files in order: the original, then each addendum."""
        return self._entries(case_id, by, AuditAction.FILES, request_id)

    def retrieve(self, case_id: str, file_format: str, actor: str, by: Principal | None = None,
                 request_id: str = "") -> Retrieval:
        """Short-lived links to the case's archived files, the original and each addendum in order
        (the answer's own `url` is the latest), logged with who asked."""
        entries = self._entries(case_id, by, AuditAction.RETRIEVE, request_id, actor)
        links: list[FileLink] = []
        for entry in entries:
            archived = entry.file
            key, version_id, sha = ((archived.json_key, archived.json_version_id, archived.json_sha256)
                                    if file_format == "json" else
                                    (archived.html_key, archived.html_version_id, archived.html_sha256))
            links.append(FileLink(sequence=entry.sequence, key=key, version_id=version_id, sha256=sha,
                                  url=self._files.presign(key, version_id, self._url_seconds)))
        self._audit(actor, AuditAction.RETRIEVE, entries[-1], [(link.key, link.version_id) for link in links],
                    f"link valid {self._url_seconds} s", by, request_id, file_format)
        latest = links[-1]
        return Retrieval(case_id=case_id, format=file_format, url=latest.url, expires_in=self._url_seconds,
                         key=latest.key, version_id=latest.version_id, sha256=latest.sha256, files=links)

    def verify(self, case_id: str, actor: str, by: Principal | None = None, request_id: str = "") -> Verification:
        """Reads every archived file of the case back, recomputes SHA-256 and compares it with the
        index and with the checksum S3 stored at upload, and checks that each file is still locked
        in compliance mode at least until the index's retain-until, and still held where the index
        has a legal hold on (rulebook §7); the outcome is logged."""
        results: list[FileCheck] = []
        entries = self._entries(case_id, by, AuditAction.VERIFY, request_id, actor)
        for position, entry in enumerate(entries):
            archived = entry.file
            before = entries[position - 1].file.json_sha256 if position else None
            for key, version_id, expected in ((archived.json_key, archived.json_version_id, archived.json_sha256),
                                              (archived.html_key, archived.html_version_id, archived.html_sha256)):
                body, s3_checksum = self._files.read(key, version_id)
                computed = sha256_hex(body)
                lock = self._files.lock(key, version_id)
                weakened = lock_problems(lock.mode, lock.retain_until, archived.retain_until, lock.legal_hold,
                                         entry.legal_hold is not None and entry.legal_hold.on)
                broken = chain_problems(entry.sequence, entry.previous_sha256, position, before,
                                        body if key == archived.json_key else None)
                checksums_ok = computed == expected and s3_checksum == sha256_base64(body)
                results.append(FileCheck(
                    key=key, version_id=version_id, sequence=entry.sequence, expected_sha256=expected,
                    computed_sha256=computed, s3_checksum_matches=s3_checksum == sha256_base64(body),
                    checksum_ok=checksums_ok, lock_mode=lock.mode, retain_until=lock.retain_until,
                    expected_retain_until=archived.retain_until, legal_hold=lock.legal_hold,
                    lock_ok=not weakened, chain_ok=not broken, problems=weakened + broken,
                    ok=checksums_ok and not weakened and not broken))
        ok = all(r.ok for r in results)
        weakened_files = sum(1 for r in results if not r.lock_ok)
        outcome = ("MISMATCH" if not all(r.checksum_ok and r.chain_ok for r in results)
                   else "LOCK WEAKENED" if weakened_files else "intact")
        self._audit(actor, AuditAction.VERIFY, entries[-1], [(r.key, r.version_id) for r in results], outcome,
                    by, request_id)
        if not ok:
            logger.error("archived file failed verification", extra={"case_id": case_id, "outcome": outcome})
            count("ArchiveVerificationFailed")
        if weakened_files:
            count("ArchiveLockWeakened", weakened_files)
        return Verification(case_id=case_id, ok=ok, files=results)

    def legal_hold(self, case_id: str, on: bool, actor: str, reason: str,
                   by: Principal | None = None, request_id: str = "") -> list[ArchiveEntry]:
        """Places (or lifts) a legal hold on every archived file of the case, S3 first, then the index."""
        entries = self._entries(case_id, by, AuditAction.LEGAL_HOLD_ON if on else AuditAction.LEGAL_HOLD_OFF,
                                request_id, actor)
        hold = LegalHold(on=on, by=actor, at=self._now(), reason=reason)
        updated, targets = self._hold(entries, hold)
        self._record_hold_on_case(case_id, hold)
        # an addendum the archive run confirmed meanwhile was written before the case knew of the hold
        held = {entry.sequence for entry in entries}
        late, late_targets = self._hold([e for e in self._index.entries(case_id) if e.sequence not in held], hold)
        self._audit(actor, AuditAction.LEGAL_HOLD_ON if on else AuditAction.LEGAL_HOLD_OFF, (updated + late)[-1],
                    targets + late_targets, reason, by, request_id)
        return updated + late

    def _hold(self, entries: list[ArchiveEntry], hold: LegalHold) -> tuple[list[ArchiveEntry], list[tuple[str, str]]]:
        """The hold on each file of these entries in S3 first, then in the index."""
        targets = [pair for e in entries for pair in ((e.file.json_key, e.file.json_version_id),
                                                      (e.file.html_key, e.file.html_version_id))]
        for key, version_id in targets:
            self._files.set_legal_hold(key, version_id, hold.on)
        return [self._index.hold(entry, hold) for entry in entries], targets

    def _record_hold_on_case(self, case_id: str, hold: LegalHold) -> None:
        """The hold goes on the case too, so the next archive run adds it to the case's files as an
        addendum (rulebook §7: nothing recorded after archiving is lost). Once the hot copy has
        expired there is no case to record it on: the audit log's locked daily export keeps it."""
        for _ in range(3):
            try:
                case = self._cases.get(case_id).case
            except CaseNotFound:
                logger.info("legal hold kept in the audit log only: the hot copy has expired",
                            extra={"case_id": case_id})
                return
            updated, event = lifecycle.record_legal_hold(case, hold, self._now())
            try:
                self._cases.save(updated, event, case.version)
                return
            except StaleVersion:
                continue  # changed meanwhile (e.g. the archive run): read it again
        raise StaleVersion(f"case {case_id} kept changing while its legal hold was recorded; try again")

    def audit_log(self, case_id: str | None, day: date | None, by: Principal | None = None,
                  request_id: str = "") -> list[AuditRecord]:
        """The records of one case's archived files, or of one day (exactly one of the two)."""
        if (case_id is None) == (day is None):
            raise InvalidInput("the audit log cannot be read as asked", {"case_id": "give either case_id or date"})
        if case_id is not None:
            self._entries(case_id, by, AuditAction.READ_AUDIT_LOG, request_id)
        return [r for r in self._index.audit_log(case_id=case_id, day=day) if self._visible(by, r.unit_id)]

    def _visible(self, by: Principal | None, unit_id: str) -> bool:
        return by is None or in_territory(by, unit_id, self._units.lineage)

    def _entries(self, case_id: str, by: Principal | None, action: AuditAction, request_id: str,
                 actor: str = "") -> list[ArchiveEntry]:
        """The case's archived files; a case outside the user's territory has none, as far as they
        know. A user's attempt on a case they get no files for is in the audit log, as refused."""
        entries = self._index.entries(case_id) if is_case_id(case_id) else []
        if not entries or not self._visible(by, entries[0].unit_id):
            if by is not None:
                self.refused(action, case_id[:40], by, request_id, 404, entries[0].unit_id if entries else "")
            raise CaseNotFound(f"no archived case file for {case_id[:40]!r}")
        return entries

    def refused(self, action: AuditAction, case_id: str, by: Principal, request_id: str, status: int,
                unit_id: str = "") -> None:
        """An attempt the API refused (403: the role does not allow it; 404: no such file in the
        user's territory; 400: a unit outside it, or the whole organisation's chain asked for by
        an auditor below the top), recorded like any access."""
        self._index.log(AuditRecord(
            at=self._now(), actor=by.name, action=action, case_id=case_id, unit_id=unit_id or by.unit_id,
            keys=(), version_ids=(), outcome=f"{REFUSED} {status}", record_id=uuid.uuid4().hex,
            staff_id=by.subject, roles=tuple(sorted(by.roles)), staff_unit_id=by.unit_id, request_id=request_id))
        logger.info("archive access refused", extra={"actor": by.subject, "action": action.value, "status": status})

    def _audit(self, actor: str, action: AuditAction, entry: ArchiveEntry, files: list[tuple[str, str]],
               outcome: str, by: Principal | None = None, request_id: str = "", file_format: str | None = None) -> None:
        self._index.log(AuditRecord(
            at=self._now(), actor=actor, action=action, case_id=entry.case_id, unit_id=entry.unit_id,
            keys=tuple(k for k, _ in files), version_ids=tuple(v for _, v in files), outcome=outcome,
            record_id=uuid.uuid4().hex, staff_id=by.subject if by else "", roles=tuple(sorted(by.roles)) if by else (),
            staff_unit_id=by.unit_id if by else "", request_id=request_id, format=file_format))
        logger.info("archive accessed", extra={"actor": actor, "action": action.value, "case_id": entry.case_id})
