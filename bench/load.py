"""Load with retries and races against the local stack, ending with a count.

1. Intake: `--workers` threads file `--cases` cases. Every case is sent twice with the same
   Idempotency-Key, the second time by another thread at the same moment (a client's retry racing
   its own first attempt); a 409 "in progress" is retried after a pause, as a client would.
2. Updates: `--contested` of the new cases are accepted, then every worker reads each and assigns
   it to its own handler with If-Match at the same moment; each answer must be 200 or 409.

Then it counts: each Idempotency-Key made exactly one stored case, the unit's register lists each
once, every 200 update is in the case's history exactly once (and no 409 is), the version is the
number of changes. It prints cases/s and p50/p99, and exits 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from local.harness import running_stack
from tests.conftest import complaint

UNIT = "store-xh-01"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share) - 1)] * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=400)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--contested", type=int, default=40, help="cases every worker updates at once")
    args = parser.parse_args(argv)

    # One signed-in agent sends every request: lift the per-user write limit (60 a minute), which
    # would otherwise be what this measures.
    os.environ.setdefault("STAFF_WRITES_PER_MINUTE", "1000000")
    with running_stack() as stack:
        from local.harness import staff_token

        auth = {"Authorization": f"Bearer {staff_token(stack, 'Load Agent', ['agent'], UNIT)}"}
        for index in range(args.workers):  # the handlers the contested updates assign: people of the unit
            staff_token(stack, f"handler-{index}", ["agent"], UNIT)
        lock = threading.Lock()
        latencies: list[float] = []
        by_key: dict[str, set[str]] = {}
        problems: list[str] = []

        def file(session: requests.Session, key: str) -> None:
            for _ in range(50):
                started = time.perf_counter()
                answer = session.post(f"{stack.api}/cases", json=complaint(expectation=f"load {key}"),
                                      headers={"Idempotency-Key": key}, timeout=30)
                with lock:
                    latencies.append(time.perf_counter() - started)
                if answer.status_code == 201:
                    with lock:
                        by_key.setdefault(key, set()).add(answer.json()["case_id"])
                    return
                if answer.status_code not in (409, 503):
                    with lock:
                        problems.append(f"intake {key}: {answer.status_code} {answer.text[:120]}")
                    return
                time.sleep(0.05)  # in progress or busy: retry the same request
            problems.append(f"intake {key}: still not answered after 50 tries")

        def intake_worker(index: int) -> None:
            session = requests.Session()
            session.headers.update(auth)
            # Worker i files keys i, i+1, … in a ring, so every key is sent by two workers at once.
            for n in range(index, args.cases, args.workers):
                file(session, f"load-{n}")
                file(session, f"load-{(n + 1) % args.cases}")

        began = time.perf_counter()
        run_threads(intake_worker, args.workers)
        wall = time.perf_counter() - began
        created = sorted({case for cases in by_key.values() for case in cases})
        for key, cases in by_key.items():
            if len(cases) != 1:
                problems.append(f"key {key} made {len(cases)} cases")
        if len(by_key) != args.cases:
            problems.append(f"{args.cases} keys, {len(by_key)} answered 201")
        listed = Counter(listed_case_ids(stack.api, auth))
        if set(listed) != set(created) or any(n != 1 for n in listed.values()):
            problems.append(f"register lists {sum(listed.values())} entries for {len(created)} cases")

        contested = created[: args.contested]
        for case_id in contested:  # accepted first: an assignment needs an accepted case
            accepted = requests.post(f"{stack.api}/cases/{case_id}/accept", json={"version": 1}, headers=auth,
                                     timeout=30)
            if accepted.status_code != 200:
                problems.append(f"accept {case_id}: {accepted.status_code}")
        outcomes: dict[str, list[tuple[str, int]]] = {case_id: [] for case_id in contested}
        update_latencies: list[float] = []
        barrier = threading.Barrier(args.workers)

        def update_worker(index: int) -> None:
            session = requests.Session()
            session.headers.update(auth)
            handler = f"handler-{index}"
            for case_id in contested:
                case = session.get(f"{stack.api}/cases/{case_id}", timeout=30)
                barrier.wait()
                started = time.perf_counter()
                answer = session.post(f"{stack.api}/cases/{case_id}/assign", json={"handler": handler},
                                      headers={"If-Match": case.headers["ETag"]}, timeout=30)
                with lock:
                    update_latencies.append(time.perf_counter() - started)
                    outcomes[case_id].append((handler, answer.status_code))

        run_threads(update_worker, args.workers)
        statuses = Counter(status for answers in outcomes.values() for _, status in answers)
        for case_id, answers in outcomes.items():
            problems += check_history(stack.api, auth, case_id, answers)
        if set(statuses) - {200, 409}:
            problems.append(f"updates answered {dict(statuses)}")

    print(f"workers:                {args.workers}")
    print(f"intake:                 {args.cases} cases, each sent twice at once with one Idempotency-Key")
    print(f"  requests:             {len(latencies)} ({len(latencies) - 2 * args.cases} retries after 409)")
    print(f"  throughput:           {len(created) / wall:.1f} cases/s over {wall:.1f} s")
    print(f"  latency p50 / p99:    {percentile(latencies, 0.5):.0f} ms / {percentile(latencies, 0.99):.0f} ms")
    print(f"  stored / listed:      {len(created)} / {sum(listed.values())}")
    print(f"contested updates:      {len(contested)} cases x {args.workers} workers at once")
    print(f"  answers:              {dict(sorted(statuses.items()))}")
    print(f"  latency p50 / p99:    {percentile(update_latencies, 0.5):.0f} ms / "
          f"{percentile(update_latencies, 0.99):.0f} ms")
    if problems:
        print("MISMATCH:", *problems[:10], sep="\n  ")
        return 1
    print("count:                  every case stored once; every update applied once or answered 409")
    return 0


def run_threads(target: Any, workers: int) -> None:
    threads = [threading.Thread(target=target, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def listed_case_ids(api: str, auth: dict[str, str]) -> list[str]:
    ids, cursor = [], None
    while True:
        url = f"{api}/cases?unit_id={UNIT}&limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = requests.get(url, timeout=30, headers=auth).json()
        ids += [item["case_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return ids


def check_history(api: str, auth: dict[str, str], case_id: str, answers: list[tuple[str, int]]) -> list[str]:
    """The applied updates (200) are in the history once each, in version order; a 409 left no trace."""
    case = requests.get(f"{api}/cases/{case_id}", headers=auth, timeout=30).json()
    assigned = [event for event in case["history"] if event["action"] == "assign"]
    applied = [handler for handler, status in answers if status == 200]
    problems = []
    if len(applied) != 1 or len(assigned) != 1:
        problems.append(f"{case_id}: {len(applied)} updates answered 200, {len(assigned)} in the history")
    elif assigned[0]["changes"]["handler"]["after"] != applied[0] or case["handler"] != applied[0]:
        problems.append(f"{case_id}: the history says {assigned[0]['changes']}, the 200 went to {applied}")
    if case["version"] != len(case["history"]) or [e["seq"] for e in case["history"]] != list(
            range(1, len(case["history"]) + 1)):
        problems.append(f"{case_id}: version {case['version']} with {len(case['history'])} history events")
    return problems


if __name__ == "__main__":
    raise SystemExit(main())
