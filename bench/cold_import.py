"""Cold start per entry point: the import of `app` and the first call, each in a fresh interpreter,
against the local stack's emulator; and the import of `app` against a bare import of the stack's
libraries (`boto3, pydantic, chalice, aws_lambda_powertools`).

Every Lambda function of the app imports `app.py` (Chalice's handler is `app.<function>`), so the
import is what each entry point pays before its first call; what the first call then imports is
its own. Each probe runs with the `_HANDLER` Lambda gives its function (`app.app` for the API), so
a scheduled function's import leaves out the routes as it does on Lambda. The table shows both
times, and how many of our modules each entry point has loaded by then: none loads a module it
does not run.

    .venv/bin/python bench/cold_import.py --runs 7
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BARE = "import boto3, pydantic, chalice, aws_lambda_powertools"
# Timed inside the interpreter, as the probe times `import app`: both sides measured the same way.
BARE_PROBE = f"import time; started = time.perf_counter(); {BARE}; print((time.perf_counter() - started) * 1000)"

# One first call per entry point, as Lambda makes it: the handler with an event and a context.
PROBE = """
import json, sys, time, types
started = time.perf_counter()
import app
imported = time.perf_counter()
context = types.SimpleNamespace(aws_request_id="bench", function_name="bench", memory_limit_in_mb=512,
                                invoked_function_arn="arn:aws:lambda:us-east-1:000000000000:function:bench",
                                log_stream_name="bench", get_remaining_time_in_millis=lambda: 60000)
scheduled = {"version": "0", "account": "000000000000", "region": "us-east-1", "detail": {},
             "detail-type": "Scheduled Event", "source": "aws.events", "time": "2026-11-29T08:00:00Z",
             "id": "bench", "resources": []}
entry = sys.argv[1]
if entry == "api":
    event = {"resource": "/public/units", "path": "/public/units", "httpMethod": "GET", "headers": {},
             "multiValueHeaders": {}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
             "pathParameters": None, "stageVariables": None, "body": None, "isBase64Encoded": False,
             "requestContext": {"resourcePath": "/public/units", "httpMethod": "GET", "requestId": "bench",
                                "identity": {"sourceIp": "127.0.0.1"}}}
    answer = app.app(event, context)
    assert answer["statusCode"] == 200, answer
else:
    getattr(app, {"escalate": "escalate", "archive": "archive", "reports": "send_reports"}[entry])(scheduled, context)
called = time.perf_counter()
ours = sorted(m for m in sys.modules if m.startswith("chalicelib."))
print(json.dumps({"import": (imported - started) * 1000, "first": (called - imported) * 1000, "modules": ours}))
"""


HANDLERS = {"api": "app.app", "escalate": "app.escalate", "archive": "app.archive", "reports": "app.send_reports"}


def fresh(code: str, env: dict[str, str], *args: str) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True)
    return (time.perf_counter() - start) * 1000, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    from local import stack_file
    from local.harness import running_stack
    from local.stack import emulated_aws_environment

    with running_stack() as stack:
        record = stack_file.running(stack.stack_file)
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
               **emulated_aws_environment(record.aws_port), **record.environment,
               "POWERTOOLS_METRICS_NAMESPACE": "bench", "PYTHONDONTWRITEBYTECODE": "0"}
        entries = ("api", "escalate", "archive", "reports")
        fresh("import app", env), fresh(BARE, env)  # warm the bytecode and page caches once
        bare: list[float] = []
        measured: dict[str, list[dict[str, object]]] = {entry: [] for entry in entries}
        for _ in range(args.runs):  # interleaved, so each sees the same machine state
            bare.append(float(fresh(BARE_PROBE, env)[1].splitlines()[-1]))
            for entry in entries:
                as_lambda = {**env, "_HANDLER": HANDLERS[entry]}
                measured[entry].append(json.loads(fresh(PROBE, as_lambda, entry)[1].splitlines()[-1]))  # after logs
    bare_ms = statistics.median(bare)
    print(f"runs per entry point: {args.runs} (medians; fresh interpreters against the local stack's emulator;")
    print("every import timed inside its interpreter)")
    print(f"bare libraries import: {bare_ms:.0f} ms ({BARE})")
    print(f"{'entry point':<12} {'import app':>11} {'÷ bare':>7} {'first call':>11} {'together':>9} "
          f"{'our modules':>12}")
    everything = set().union(*(set(m["modules"]) for runs in measured.values() for m in runs))  # type: ignore[arg-type]
    for entry, runs in measured.items():
        imported = statistics.median(float(r["import"]) for r in runs)  # type: ignore[arg-type]
        first = statistics.median(float(r["first"]) for r in runs)  # type: ignore[arg-type]
        modules = set(runs[-1]["modules"])  # type: ignore[arg-type]
        print(f"{entry:<12} {imported:>8.0f} ms {imported / bare_ms:>7.2f} {first:>8.0f} ms "
              f"{imported + first:>6.0f} ms {len(modules):>5} of {len(everything)}")
    for entry, runs in measured.items():
        unused = sorted(everything - set(runs[-1]["modules"]))  # type: ignore[arg-type]
        print(f"not loaded by {entry}: {', '.join(m.removeprefix('chalicelib.') for m in unused) or '-'}")


if __name__ == "__main__":
    main()
