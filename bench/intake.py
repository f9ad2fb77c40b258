"""Intake throughput over HTTP against the local stack with 2 workers.

Starts the stack exactly as `./dev run` does, posts a bounded number of cases from 2 threads,
then prints cases/s, latency percentiles, and checks every case was stored once.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from local.harness import running_stack
from tests.conftest import complaint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=600, help="total cases to post")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    # One signed-in agent sends every request: lift the per-user write limit (60 a minute), which
    # would otherwise be what this measures.
    os.environ.setdefault("STAFF_WRITES_PER_MINUTE", "1000000")
    with running_stack() as stack:
        from local.harness import staff_token

        signed_in = {"Authorization": f"Bearer {staff_token(stack, 'Bench Agent', ['agent'], 'store-xh-01')}"}
        latencies: list[float] = []
        in_order: list[float] = []
        failures: list[str] = []
        created: list[str] = []
        lock = threading.Lock()
        per_worker = args.cases // args.workers

        def worker(index: int) -> None:
            session = requests.Session()
            session.headers.update(signed_in)
            for n in range(per_worker):
                body = complaint(expectation=f"bench worker {index} case {n}")
                start = time.perf_counter()
                response = session.post(f"{stack.api}/cases", json=body, timeout=30,
                                        headers={"Idempotency-Key": f"bench-{index}-{n}"})
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    in_order.append(elapsed)
                    if response.status_code == 201:
                        created.append(response.json()["case_id"])
                    else:
                        failures.append(f"{response.status_code} {response.text[:200]}")

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.workers)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - began

        stored, cursor = 0, None
        while True:
            url = f"{stack.api}/cases?unit_id=store-xh-01&limit=100" + (f"&cursor={cursor}" if cursor else "")
            page = requests.get(url, timeout=30, headers=signed_in).json()
            stored += len(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                break

    latencies.sort()
    print(f"workers:            {args.workers}")
    print(f"cases posted:       {len(latencies)}  (201: {len(created)}, other: {len(failures)})")
    print(f"throughput:         {len(created) / wall:.1f} cases/s over {wall:.1f} s")
    print(f"latency p50 / p99:  {statistics.median(latencies) * 1000:.0f} ms / "
          f"{latencies[int(len(latencies) * 0.99) - 1] * 1000:.0f} ms")
    tenth = max(1, len(in_order) // 10)
    print(f"p50 first / last tenth: {statistics.median(in_order[:tenth]) * 1000:.0f} ms / "
          f"{statistics.median(in_order[-tenth:]) * 1000:.0f} ms  (early vs late in the run)")
    print(f"stored (listed):    {stored}  distinct ids: {len(set(created))}")
    if failures or stored != len(created) or len(set(created)) != len(created):
        print("MISMATCH:", failures[:5])
        raise SystemExit(1)


if __name__ == "__main__":
    main()
