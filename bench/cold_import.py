"""Cold import time of `app` against a bare import of the stack's libraries (issue 2).

Each sample is a fresh interpreter; the two commands alternate so both see the same machine state.
Prints median milliseconds of each and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BARE = "import boto3, pydantic, chalice, aws_lambda_powertools"
APP = "import app"


def sample(code: str) -> float:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0", "AWS_DEFAULT_REGION": "us-east-1"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    sample(APP), sample(BARE)  # warm the bytecode cache and the page cache once
    empty, bare, app = [], [], []
    for _ in range(args.runs):
        empty.append(sample("pass"))
        bare.append(sample(BARE))
        app.append(sample(APP))
    base = statistics.median(empty)
    bare_ms, app_ms = statistics.median(bare) - base, statistics.median(app) - base
    print(f"runs per command:            {args.runs} (medians, interpreter start {base:.0f} ms subtracted)")
    print(f"bare libraries import:       {bare_ms:.0f} ms   ({BARE})")
    print(f"app import:                  {app_ms:.0f} ms   ({APP})")
    print(f"ratio app / bare:            {app_ms / bare_ms:.2f}")


if __name__ == "__main__":
    main()
