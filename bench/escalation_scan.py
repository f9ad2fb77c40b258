"""Escalation run cost against the local stack's emulator.

For 1k / 10k / 100k open cases with a fixed number due, prints the items the run read divided
by the rungs due (target <= 1.2 at every size) and the run time; then, in a fresh table, one
run with 10k open cases all due (target: escalated in one run in under 60 s, publishes batched
10 per PublishBatch). A second run after each must send nothing.

The topic has the managers' SMS and email subscriptions with their filter policies, as in AWS
(moto accepts them and delivers nothing). The local stack's SQS inboxes are left out here:
moto signs and appends each SQS delivery at a cost that grows with the queue (12 ms per
message on an empty queue, 100 ms at 5k queued), which would measure moto, not the service.

Open cases are seeded straight into the emulated table (case item + its clocks' alarms, as the
service writes them; history events are left out, the run never reads them). The time is the
emulator's: moto evaluates a GSI Query in Python over the whole table, so its run time grows
with the table where DynamoDB's would not; items read is the figure that carries over to AWS.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from local.harness import free_port
from local.stack import emulated_aws_environment, provision_and_seed, start_emulator, stop_emulator

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def seed(ddb: object, table: str, total: int, due: int, first_id: int, unit_id: str = "store-xh-01",
         late: timedelta = timedelta(hours=25)) -> None:
    """`total` open praise cases at `unit_id` (one 24-hour acceptance clock each); `due` of them
    received `late` ago (breach due, and every rung above due by then), the rest 1 h ago (nothing
    due for 17 h)."""
    from chalicelib.adapters.case_repository import DynamoCaseRepository
    from chalicelib.adapters.table import alarm_item
    from chalicelib.domain import commands as cmd
    from chalicelib.domain import lifecycle
    from chalicelib.domain.calendar import UnitClock, WorkingCalendar
    from chalicelib.domain.escalation import Ladder, alarm_changes

    repo = DynamoCaseRepository(ddb, table)
    clock = UnitClock("Asia/Shanghai", WorkingCalendar("CN"))
    request = cmd.IntakeRequest.model_validate({
        "type": "praise", "channel": "web", "unit_id": unit_id,
        "customer": {"name": "Bench", "phone": "13800000000"}, "five_w": {"what": "kind cashier"}})
    batch: list[dict] = []
    for n in range(total):
        received = NOW - (late if n < due else timedelta(hours=1))
        case, _ = lifecycle.register(f"CD-B{first_id + n:07d}", request, received, "bench", clock)
        alarms, _ = alarm_changes(None, case, Ladder())
        batch.append({"PutRequest": {"Item": repo._case_item(case)}})
        batch += [{"PutRequest": {"Item": alarm_item(alarm)}} for alarm in alarms]
        while len(batch) >= 25:
            _write(ddb, table, batch[:25])
            batch = batch[25:]
    if batch:
        _write(ddb, table, batch)


def deep_tree(settings: object, ddb: object, sns: object) -> str:
    """A 5-level chain under the sample branch (branch → region → county → district → store), each
    with a manager in the staff directory; returns the store's id."""
    from chalicelib.adapters.staff_directory import NamedIdentityProvider
    from chalicelib.bootstrap import build_organisation_service, build_staff_service
    from chalicelib.domain.models import Unit
    from chalicelib.domain.staff import StaffDetails

    organisation = build_organisation_service(settings, ddb, sns)  # type: ignore[arg-type]
    staff = build_staff_service(settings, ddb, sns, identity=NamedIdentityProvider())  # type: ignore[arg-type]
    parent = "branch-hz"
    for level, kind in enumerate(("county", "county", "department", "store"), start=1):
        unit_id = f"deep-{level}"
        organisation.put_unit(unit_id, Unit(unit_id=unit_id, name=f"Deep level {level}", kind=kind, parent_id=parent,
                                            time_zone="Asia/Shanghai", calendar="CN"))
        staff.add(StaffDetails(name=f"Manager {level}", unit_id=unit_id, roles=frozenset({"unit-manager"}),
                               email=f"m{level}@example.com"))
        parent = unit_id
    return parent


def _write(ddb: object, table: str, requests: list[dict]) -> None:
    pending = {table: requests}
    while pending:
        pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000", help="open cases per measurement")
    parser.add_argument("--due", type=int, default=500, help="rungs due in each size's run")
    parser.add_argument("--big-due", type=int, default=10_000, help="rungs due in the big run")
    parser.add_argument("--deep-open", type=int, default=10_000, help="open cases in the 5-level tree")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    port = free_port()
    os.environ.update(emulated_aws_environment(port))
    emulator = start_emulator(port)
    try:
        import boto3

        from chalicelib.bootstrap import build_escalation_service
        from chalicelib.config import Settings

        session = boto3.session.Session(region_name="us-east-1")
        ddb, sns = session.client("dynamodb"), session.client("sns")

        def stage(name: str) -> Settings:
            """Resources, sample organisation and managers' subscriptions, as ./dev run makes them."""
            env = provision_and_seed(name)
            return Settings(table_name=env["TABLE_NAME"], escalation_topic_arn=env["ESCALATION_TOPIC_ARN"])

        def measure(settings: Settings, open_cases: int, due: int, seed_seconds: float, rungs_each: int = 1,
                    label: str = "") -> None:
            """`due` clocks due now, each sending `rungs_each` messages (a late case in a deep tree
            tells every level at once); read/due is items read per clock due."""
            report = build_escalation_service(settings, ddb, sns, now=lambda: NOW).run()
            again = build_escalation_service(settings, ddb, sns, now=lambda: NOW).run()
            ratio = report.items_read / max(due, 1)
            print(f"{open_cases:>10} {due:>6} {report.items_read:>10} {ratio:>8.2f} {report.sent:>6} "
                  f"{report.seconds:>7.2f} {seed_seconds:>7.1f} {again.sent:>6}  {label}", flush=True)
            if report.sent != due * rungs_each or report.failed or report.unconfirmed or again.sent:
                raise SystemExit(f"expected {due * rungs_each} sent once, got {report.as_dict()} "
                                 f"then {again.as_dict()}")

        print(f"{'open cases':>10} {'due':>6} {'items read':>10} {'read/due':>8} {'sent':>6} {'run s':>7} "
              f"{'seed s':>7} {'resent':>6}")
        settings = stage("bench")
        seeded = 0
        for size in sizes:
            began = time.perf_counter()
            # the cases already there were escalated by the previous run and are not due again
            # for hours; top up to `size` open cases with `due` of the new ones due now
            fresh = max(size - seeded, args.due)
            seed(ddb, settings.table_name, fresh, args.due, seeded)
            seeded += fresh
            measure(settings, seeded, args.due, time.perf_counter() - began)
        began = time.perf_counter()
        deep = stage("bench-deep")
        leaf = deep_tree(deep, ddb, sns)
        # received 40 h ago: breach (24 h) and the rungs of the 4 units above (every 4 h) all due
        seed(ddb, deep.table_name, args.deep_open, args.due, 0, unit_id=leaf, late=timedelta(hours=40))
        measure(deep, args.deep_open, args.due, time.perf_counter() - began, rungs_each=5,
                label="5-level tree, noticed 16 h late: 5 units told per case")
        began = time.perf_counter()
        big = stage("bench-big")
        seed(ddb, big.table_name, args.big_due, args.big_due, 0)
        measure(big, args.big_due, args.big_due, time.perf_counter() - began)
        print("every due rung was sent once; a second run sent nothing")
    finally:
        stop_emulator(emulator)


if __name__ == "__main__":
    main()
