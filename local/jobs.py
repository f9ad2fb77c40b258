"""Run one scheduled function once against the running local stack (found through
`.local/stack.json`, which `./dev run` writes; nothing is provisioned again).

    ./dev job escalate                                  # the Lambda handler, now
    ./dev job escalate --at 2026-11-25T09:00+08:00      # what the run would do at that moment
    ./dev job archive --at 2026-11-30T09:00+08:00       # archive what would be due by then
    ./dev job reports --at 2026-11-30T08:00+08:00       # registers and weekly reports due then
    ./dev job deliver --at 2026-11-25T09:20+08:00       # the digests due by then (SMS and email)

A run with --at acts on the stack's real data: what it sends is recorded as sent, what it
archives is archived and locked; a later run (timed or not) does not do it again.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("job", help="the scheduled function's name, e.g. escalate")
    parser.add_argument("--at", type=datetime.fromisoformat,
                        help="run as if it were this moment (ISO 8601 with offset)")
    args = parser.parse_args(argv)

    from local import stack_file
    from local.stack import emulated_aws_environment

    try:
        stack = stack_file.running()
    except stack_file.NoRunningStack as none:
        print(none, file=sys.stderr)
        return 1
    os.environ.update(emulated_aws_environment(stack.aws_port))
    os.environ.update(stack.environment)  # the resources the stack provisioned, as its functions see them
    sys.path.insert(0, str(ROOT))
    if args.at is not None:
        from chalicelib import bootstrap
        from chalicelib.config import get_settings

        settings, now = get_settings(), lambda: args.at
        runs = {"escalate": lambda: bootstrap.build_escalation_service(settings, now=now).run().as_dict(),
                # the audit log's days are over by the wall clock, not by --at
                "archive": lambda: bootstrap.build_archive_service(settings, now=now,
                                                                   export_now=bootstrap.utc_now).run().as_dict(),
                "reports": lambda: bootstrap.build_report_service(settings, now=now).send_due(),
                "deliver": lambda: bootstrap.build_notifier_service(settings, now=now).flush().as_dict()}
        if args.job not in runs or args.at.tzinfo is None:
            parser.error(f"--at needs one of {', '.join(runs)} and a time with its offset")
        result = runs[args.job]()
    else:
        import app
        from local.scheduler import scheduled_jobs

        jobs = scheduled_jobs(app)
        if args.job not in jobs:
            parser.error(f"no scheduled function {args.job!r}; there are: {', '.join(jobs)}")
        result = jobs[args.job]()
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
