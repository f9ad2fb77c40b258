"""Report cost against a year of cases.

Seeds a year (2025-12-01 … 2026-11-30) of `--cases` cases (default 52,000) over 20 units (a
branch, 3 county companies, 16 stores), each worked through the lifecycle in the domain
(accepted, assigned, finding, resolved, feedback, at random but seeded times). Every case item is
written to the table; the statistics counters are what `stat_deltas` adds for each step, summed
per unit and day and written with the same `stats_updates` the service's transactions use.

Then it asks the report service for one store's month and the branch's month, counting every item
any DynamoDB call returned (at the client), and checks the report's figures against figures
computed directly from the generated cases, without the counters.

In-process moto (no HTTP), so the time is moto's; the items read carry over to AWS.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

START = date(2025, 12, 1)
DAYS = 365
TZ = "Asia/Shanghai"

from chalicelib.domain.calendar import UnitClock, WorkingCalendar  # noqa: E402  (after the path is set)
from chalicelib.domain.statistics import StatsDelta, local_day, stat_deltas, working_days_between  # noqa: E402
from local.counting import CountingClient  # noqa: E402


def organisation() -> list[dict[str, Any]]:
    units = [{"unit_id": "branch-bench", "name": "Bench branch", "kind": "branch", "parent_id": None}]
    for c in range(3):
        units.append({"unit_id": f"county-{c}", "name": f"County {c}", "kind": "county", "parent_id": "branch-bench"})
    for s in range(16):
        units.append({"unit_id": f"store-{s:02d}", "name": f"Store {s}", "kind": "store",
                      "parent_id": f"county-{s % 3}"})
    return [{**u, "time_zone": TZ, "calendar": "CN"} for u in units]


def generate(total: int, stores: list[str], rng: random.Random) -> list[list[tuple[Any, Any]]]:
    """Each case's states, from receipt to the end of its lifecycle, as (case, moment) pairs."""
    from chalicelib.domain import commands as cmd
    from chalicelib.domain import lifecycle
    from chalicelib.domain.identifiers import new_case_id

    clock = UnitClock(TZ, WorkingCalendar("CN"))
    kinds = ["complaint"] * 6 + ["inquiry"] * 2 + ["suggestion", "praise"]
    channels = ["hotline", "web", "in_store", "letter"]
    causes = ["product", "service", "equipment_environment"]
    lives = []
    for _ in range(total):
        received = (datetime.combine(START, datetime.min.time(), tzinfo=UTC)
                    + timedelta(seconds=rng.randrange(DAYS * 86400)))
        kind = rng.choice(kinds)
        body = {"type": kind, "channel": rng.choice(channels), "unit_id": rng.choice(stores),
                "customer": {"name": "Bench Customer", "phone": "13800001234"},
                "five_w": {"when": "t", "where": "w", "who": "p", "what": "bench case", "how": "h"},
                "cause": {"category": rng.choice(causes)} if kind == "complaint" else None}
        case, _ = lifecycle.register(new_case_id(), cmd.IntakeRequest.model_validate(body), received, "bench", clock)
        states = [(case, received)]
        plan: list[tuple[str, float, dict[str, Any]]] = [("accept", rng.choice([1, 3, 20, 30]), {})]  # 1 in 4 late
        if kind == "complaint":
            plan += [("assign", 1, {"handler": "bench handler"}),
                     ("record-finding", 2, {"kind": "customer_issue", "detail": "bench"}),
                     ("resolve", rng.choice([4, 30, 60, 100, 170]), {"result": "bench"})]
        elif kind == "inquiry":
            plan.append(("resolve", rng.choice([2, 10, 30]), {"result": "answered", "customer_message": "answered"}))
        if plan[-1][0] == "resolve":
            plan.append(("record-feedback", 24, {"satisfied": True, "satisfaction": rng.randint(1, 5)}))
        for action, hours, fields in plan:
            at = states[-1][1] + timedelta(hours=hours)
            command = lifecycle.ACTIONS[action].command.model_validate({"actor": "bench", **fields})
            case, _ = lifecycle.apply_action(case, action, command, at, clock)
            states.append((case, at))
        lives.append(states)
    return lives


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=52_000)
    args = parser.parse_args(argv)
    os.environ.update({"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"})
    os.environ.pop("AWS_ENDPOINT_URL", None)

    import boto3
    from moto import mock_aws

    from chalicelib.adapters.case_repository import DynamoCaseRepository
    from chalicelib.adapters.statistics_store import stats_updates
    from chalicelib.adapters.unit_registry import DynamoUnitRegistry
    from chalicelib.bootstrap import build_report_service
    from chalicelib.config import Settings
    from chalicelib.domain.models import Unit
    from local.provision import provision, stage_environment

    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        env = stage_environment(provision(session, "bench"))
        ddb = session.client("dynamodb")
        table = env["TABLE_NAME"]
        registry = DynamoUnitRegistry(ddb, table)
        units = organisation()
        for unit in units:
            registry.put(Unit.model_validate(unit))
        stores = [u["unit_id"] for u in units if u["kind"] == "store"]

        began = time.perf_counter()
        lives = generate(args.cases, stores, random.Random(7))
        print(f"generated in {time.perf_counter() - began:.0f} s", flush=True)
        clock = UnitClock(TZ, WorkingCalendar("CN"))
        totals: dict[tuple[str, date], Counter[str]] = {}
        for states in lives:
            previous = None
            for case, at in states:
                for delta in stat_deltas(previous, case, at, clock):
                    totals.setdefault((delta.unit_id, delta.day), Counter()).update(delta.counters)
                previous = case
        repo = DynamoCaseRepository(ddb, table)
        finals = [states[-1][0] for states in lives]
        for start in range(0, len(finals), 25):
            ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": repo._case_item(c)}}
                                                       for c in finals[start:start + 25]]})
        for (unit_id, day), counters in totals.items():
            [update] = stats_updates(table, [StatsDelta(unit_id, day, counters)])
            ddb.update_item(**update["Update"])  # the service's transaction item, on its own
        seeded = time.perf_counter() - began
        print(f"seeded:              {len(finals)} cases over {len(stores)} stores of {len(units)} units, "
              f"{len(totals)} unit-day counter items, in {seeded:.0f} s")

        counting = CountingClient(ddb)
        settings = Settings(table_name=table, escalation_topic_arn=env["ESCALATION_TOPIC_ARN"])
        reports = build_report_service(settings, counting, session.client("sns"),
                                       now=lambda: datetime(2026, 12, 1, tzinfo=UTC),
                                       units=DynamoUnitRegistry(counting, table))
        problems = []
        for unit_id, label in (("store-05", "one store"), ("branch-bench", "the branch (20 units)")):
            reports.statistics(unit_id, date(2026, 6, 1), date(2026, 6, 30))  # warm the unit registry's cache
            counting.items_read = 0
            started = time.perf_counter()
            report = reports.statistics(unit_id, date(2026, 6, 1), date(2026, 6, 30))
            elapsed = (time.perf_counter() - started) * 1000
            in_scope = [u["unit_id"] for u in units if unit_id in registry.lineage(u["unit_id"])]
            print(f"report, {label}, June 2026: {counting.items_read} items read "
                  f"(bound: {len(in_scope)} units x 30 days = {len(in_scope) * 30}; cases in the table: "
                  f"{len(finals)}), {elapsed:.0f} ms")
            if counting.items_read > len(in_scope) * 30 or counting.scans:
                problems.append(f"{label}: read {counting.items_read} items")
            problems += check(report.summary.model_dump(mode="json"), lives, set(in_scope), clock)
        if problems:
            print("MISMATCH:", *problems[:10], sep="\n  ")
            return 1
        print("figures:             received, by type, acceptance and handling on-time rates, median and p90 "
              "handling days and average satisfaction match figures computed from the cases directly")
        return 0


def check(summary: dict[str, Any], lives: list[list[tuple[Any, Any]]], units: set[str],
          clock: UnitClock) -> list[str]:
    """The report against figures worked out from the generated cases, without any counter."""
    june = (date(2026, 6, 1), date(2026, 6, 30))
    received = [s[0][0] for s in lives if s[0][0].unit_id in units and june[0] <= local_day(s[0][1], TZ) <= june[1]]
    expected: dict[str, Any] = {"received": len(received), "by_type": dict(Counter(c.type.value for c in received))}
    met = Counter()
    days = []
    scores = []
    for states in lives:
        final = states[-1][0]
        if final.unit_id not in units:
            continue
        for name, clk in final.clocks.items():
            if clk.stopped_at and june[0] <= local_day(clk.stopped_at, TZ) <= june[1]:
                met[(name, bool(clk.goal_met) and clk.stopped_at <= clk.due_at)] += 1
        if final.resolution and june[0] <= local_day(final.resolution.resolved_at, TZ) <= june[1]:
            days.append(working_days_between(local_day(final.received_at, TZ),
                                             local_day(final.resolution.resolved_at, TZ), clock))
        if final.feedback and june[0] <= local_day(final.feedback.recorded_at, TZ) <= june[1]:
            scores.append(final.feedback.satisfaction)
    problems = []
    if summary["received"] != expected["received"] or summary["by_type"] != dict(
            sorted(expected["by_type"].items(), key=lambda kv: (-kv[1], kv[0]))):
        problems.append(f"received {summary['received']} {summary['by_type']} vs {expected}")
    for name in ("acceptance", "handling"):
        want = {"met": met[(name, True)], "breached": met[(name, False)]}
        got = {k: summary["clocks"][name][k] for k in ("met", "breached")}
        if got != want:
            problems.append(f"{name}: {got} vs {want}")
    days.sort()
    median = days[max(0, -(-len(days) // 2) - 1)]
    p90 = days[max(0, -(-len(days) * 9 // 10) - 1)]
    if (summary["handling_working_days"]["median"], summary["handling_working_days"]["p90"]) != (median, p90):
        problems.append(f"handling days {summary['handling_working_days']} vs median {median}, p90 {p90}")
    if summary["satisfaction"]["average"] != round(statistics.mean(scores), 2):
        problems.append(f"satisfaction {summary['satisfaction']['average']} vs {statistics.mean(scores):.2f}")
    return problems


if __name__ == "__main__":
    raise SystemExit(main())
