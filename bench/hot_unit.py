"""One unit in the news: `--workers` threads file cases for one unit for `--seconds` on the local
stack, every intake adding to the same per-unit per-day statistics counter in its transaction.

Each case has its own Idempotency-Key; a 409 (in progress) or 503 (transaction conflicts outlasted
the adapter's retries) is retried with the same key, as a client would. At the end it counts: every
key that got a 201 is one stored case listed once in the unit's register (0 lost, 0 duplicated), and
the unit's `received` counter for the day grew by exactly the number of cases. It prints cases/s,
p50/p99 of each request and of each case (first try to 201), retries, and conflicts seen.

The emulator serves one request at a time (local/emulator.py), so moto never reports a
TransactionConflict here: the conflicts DynamoDB would raise at this rate are estimated in
docs/capacity.md from the measured in-flight time.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from local.harness import running_stack
from tests.conftest import complaint

UNIT = "store-xh-01"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share) - 1)] * 1000 if ordered else 0.0


def received_today(session: requests.Session, api: str) -> int:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()  # the unit's local day
    answer = session.get(f"{api}/reports/statistics", params={"unit_id": UNIT, "from": today, "to": today},
                         timeout=30)
    answer.raise_for_status()
    return int(answer.json()["summary"].get("received", 0))


def listed_cases(session: requests.Session, api: str) -> Counter[str]:
    """Every case of the unit's register (all pages), counted."""
    seen: Counter[str] = Counter()
    params: dict[str, Any] = {"unit_id": UNIT, "limit": 100}
    while True:
        page = session.get(f"{api}/cases", params=params, timeout=60).json()
        seen.update(item["case_id"] for item in page["items"])
        if not page.get("next_cursor"):
            return seen
        params["cursor"] = page["next_cursor"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)

    with running_stack() as stack:
        from local.harness import staff_token

        auth = {"Authorization": f"Bearer {staff_token(stack, 'Hot Unit Agent', ['agent', 'unit-manager'], UNIT)}"}
        admin = requests.Session()
        supervisor = staff_token(stack, "Hot Unit Supervisor", ["branch-supervisor"], "branch-hz")
        admin.headers.update({"Authorization": f"Bearer {supervisor}"})
        before = received_today(admin, stack.api)
        lock = threading.Lock()
        requests_ms: list[float] = []
        cases_ms: list[float] = []
        created: dict[str, set[str]] = {}
        statuses: Counter[int] = Counter()
        retries = 0
        problems: list[str] = []
        deadline = time.monotonic() + args.seconds

        def worker(index: int) -> None:
            nonlocal retries
            session = requests.Session()
            session.headers.update(auth)
            while time.monotonic() < deadline:
                key = f"hot-{index}-{uuid.uuid4().hex[:12]}"
                first = time.perf_counter()
                for attempt in range(50):
                    started = time.perf_counter()
                    answer = session.post(f"{stack.api}/cases", json=complaint(unit_id=UNIT, expectation=key),
                                          headers={"Idempotency-Key": key}, timeout=60)
                    now = time.perf_counter()
                    with lock:
                        requests_ms.append(now - started)
                        statuses[answer.status_code] += 1
                    if answer.status_code == 201:
                        with lock:
                            cases_ms.append(now - first)
                            created.setdefault(key, set()).add(answer.json()["case_id"])
                        break
                    if answer.status_code not in (409, 503):
                        with lock:
                            problems.append(f"{key}: {answer.status_code} {answer.text[:160]}")
                        break
                    with lock:
                        retries += 1
                    time.sleep(0.02 * (attempt + 1))
                else:
                    with lock:
                        problems.append(f"{key}: not filed after 50 tries")

        started = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started

        case_ids = {case_id for ids in created.values() for case_id in ids}
        listed = listed_cases(admin, stack.api)
        lost = case_ids - set(listed)
        duplicated = [key for key, ids in created.items() if len(ids) > 1] + [c for c, n in listed.items() if n > 1]
        counted = received_today(admin, stack.api) - before
        print(f"hot unit {UNIT}: {args.workers} workers for {args.seconds:.0f} s")
        print(f"  {len(case_ids)} cases in {elapsed:.1f} s = {len(case_ids) / elapsed:.1f} cases/s")
        print(f"  request p50 {percentile(requests_ms, 0.5):.0f} ms, p99 {percentile(requests_ms, 0.99):.0f} ms;"
              f" case (first try to 201) p50 {percentile(cases_ms, 0.5):.0f} ms,"
              f" p99 {percentile(cases_ms, 0.99):.0f} ms")
        print(f"  answers {dict(sorted(statuses.items()))}; client retries {retries};"
              f" transaction conflicts seen (503) {statuses.get(503, 0)}")
        print(f"  lost {len(lost)}, duplicated {len(duplicated)}; counter `received` +{counted}"
              f" for {len(case_ids)} cases")
        for problem in problems[:10]:
            print("  problem:", problem)
        ok = not lost and not duplicated and not problems and counted == len(case_ids)
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
