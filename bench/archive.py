"""Archive run throughput against the local stack's emulator.

Seeds N closed complaints (default 5,000; each received, accepted and closed, so its partition
holds the case and three history events), then runs the archive once at a moment past their
settle period and prints archived cases per second and the DynamoDB items read per archived case,
counted at the client from every Query/GetItem response (not taken from the service's report).
A second run must find nothing due, and S3 must hold exactly two objects per case.

Then the audit log's daily export: N audit records (default 10,000) on one day, exported once the
day is over: items read, seconds, the file's size, and that a second run exports nothing.

The time is the emulator's (moto serving S3 and DynamoDB over HTTP on loopback, one request at a
time); the items read per case carries over to AWS.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from local.counting import CountingClient
from local.harness import free_port
from local.stack import emulated_aws_environment, provision_and_seed, start_emulator, stop_emulator

CLOSED_AT = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def seed(ddb: Any, table: str, total: int) -> None:
    """Closed complaints written as the service writes them (case item + its history events)."""
    from chalicelib.adapters.case_repository import DynamoCaseRepository
    from chalicelib.adapters.table import event_sk, to_item
    from chalicelib.domain import commands as cmd
    from chalicelib.domain import lifecycle
    from chalicelib.domain.calendar import UnitClock, WorkingCalendar

    repo = DynamoCaseRepository(ddb, table)
    clock = UnitClock("Asia/Shanghai", WorkingCalendar("CN"))
    request = cmd.IntakeRequest.model_validate({
        "type": "complaint", "channel": "hotline", "unit_id": "store-xh-01",
        "customer": {"name": "Bench", "phone": "13800000000"},
        "five_w": {"what": "charged twice for one carton of milk"}, "cause": {"category": "service"}})
    batch: list[dict[str, Any]] = []
    for n in range(total):
        received_at = CLOSED_AT - timedelta(hours=3)
        case, received = lifecycle.register(f"CD-B{n:07d}", request, received_at, "bench", clock)
        case, accepted = lifecycle.apply_action(case, "accept", cmd.Accept(actor="Li Na"), received_at)
        case, closed = lifecycle.apply_action(case, "close", cmd.Close(actor="Li Na", reason="withdrawn"), CLOSED_AT)
        batch.append({"PutRequest": {"Item": repo._case_item(case)}})
        batch += [{"PutRequest": {"Item": to_item({"pk": f"CASE#{case.case_id}", "sk": event_sk(e.seq),
                                                   "entity": "event", "doc": e.model_dump(mode="json")})}}
                  for e in (received, accepted, closed)]
        while len(batch) >= 25:
            _write(ddb, table, batch[:25])
            batch = batch[25:]
    if batch:
        _write(ddb, table, batch)


def _write(ddb: Any, table: str, requests: list[dict[str, Any]]) -> None:
    pending = {table: requests}
    while pending:
        pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def audit_export(settings: Any, ddb: Any, s3: Any, total: int) -> None:
    """The daily export of `total` audit records of one day: what it reads, how long it takes,
    how large the file is, and that a second run does not export the day again."""
    from chalicelib.adapters.archive_store import audit_item
    from chalicelib.bootstrap import build_archive_service
    from chalicelib.domain.archive_records import AuditAction, AuditRecord

    day_start = datetime.combine((CLOSED_AT + timedelta(days=10)).date(), datetime.min.time(), UTC)
    spacing = timedelta(days=1) / (total + 1)
    batch: list[dict[str, Any]] = []
    for n in range(total):
        record = AuditRecord(at=day_start + spacing * (n + 1), actor="Auditor Qian",
                             action=AuditAction.RETRIEVE, case_id=f"CD-B{n % 5000:07d}", unit_id="store-xh-01",
                             keys=(f"case-files/2026/11/store-xh-01/CD-B{n % 5000:07d}-v3-0123456789abcdef.json",),
                             version_ids=("v",), outcome="link valid 300 s", record_id=f"{n:032x}",
                             staff_id="4d6f2c1e-0000-0000-0000-000000000000", roles=("auditor",),
                             staff_unit_id="branch-hz", request_id=f"req-{n}", format="json")
        batch.append({"PutRequest": {"Item": audit_item(record)}})
        if len(batch) == 25:
            _write(ddb, settings.table_name, batch)
            batch = []
    if batch:
        _write(ddb, settings.table_name, batch)
    next_day = datetime.combine(day_start.date() + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=1)
    counting = CountingClient(ddb)
    service = build_archive_service(settings, counting, s3, now=lambda: next_day)
    began = time.perf_counter()
    exported = service.export_audit_log()
    seconds = time.perf_counter() - began
    again = build_archive_service(settings, ddb, s3, now=lambda: next_day).export_audit_log()
    mine = [e for e in exported if e.day == day_start.date()]
    size = s3.head_object(Bucket=settings.archive_bucket, Key=mine[0].key)["ContentLength"] if mine else 0
    print(f"audit export: {total} records of {day_start.date()}, {len(exported)} day file(s) written, "
          f"{counting.items_read} items read ({counting.items_read / max(total, 1):.2f} per record), "
          f"{seconds:.1f} s, file {size / 1_000_000:.2f} MB (1 PUT), second run wrote {len(again)}")
    if not mine or mine[0].records != total or again:
        raise SystemExit(f"expected the day's {total} records exported once: {exported}, then {again}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=5_000)
    parser.add_argument("--audit-records", type=int, default=10_000)
    args = parser.parse_args()

    port = free_port()
    os.environ.update(emulated_aws_environment(port))
    emulator = start_emulator(port)
    try:
        import boto3

        from chalicelib.bootstrap import build_archive_service
        from chalicelib.config import Settings

        session = boto3.session.Session(region_name="us-east-1")
        ddb, s3 = session.client("dynamodb"), session.client("s3")
        env = provision_and_seed("bench-archive")  # resources and sample organisation, as ./dev run makes them
        settings = Settings(table_name=env["TABLE_NAME"], archive_bucket=env["ARCHIVE_BUCKET"],
                            archive_max_cases_per_run=args.cases * 2, archive_time_budget_seconds=3600)

        began = time.perf_counter()
        seed(ddb, settings.table_name, args.cases)
        print(f"seeded {args.cases} closed complaints in {time.perf_counter() - began:.1f} s", flush=True)

        counting = CountingClient(ddb)
        after_settle = CLOSED_AT + timedelta(hours=73)
        began = time.perf_counter()
        report = build_archive_service(settings, counting, s3, now=lambda: after_settle).run()
        seconds = time.perf_counter() - began
        again = build_archive_service(settings, ddb, s3, now=lambda: after_settle).run()
        objects = sum(len(page.get("Versions", [])) for page in s3.get_paginator("list_object_versions")
                      .paginate(Bucket=settings.archive_bucket, Prefix="case-files/"))

        print(f"{'cases':>7} {'archived':>8} {'failed':>6} {'seconds':>8} {'cases/s':>8} {'items read':>10} "
              f"{'read/case':>9} {'objects':>8} {'again':>6}")
        print(f"{args.cases:>7} {report.archived:>8} {report.failed:>6} {seconds:>8.1f} "
              f"{report.archived / seconds:>8.1f} {counting.items_read:>10} "
              f"{counting.items_read / max(report.archived, 1):>9.2f} {objects:>8} {again.due:>6}")
        if report.archived != args.cases or report.failed or again.due or objects != 2 * args.cases:
            raise SystemExit(f"expected {args.cases} archived once: {report.as_dict()}, then {again.as_dict()}, "
                             f"{objects} objects")
        print("every case archived once (JSON + HTML); a second run found nothing due")
        audit_export(settings, ddb, s3, args.audit_records)
    finally:
        stop_emulator(emulator)


if __name__ == "__main__":
    main()
