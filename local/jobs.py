"""Run one scheduled function once against the running local stack.

    ./dev job escalate                                  # the Lambda handler, now
    ./dev job escalate --at 2026-11-25T09:00+08:00      # what the run would do at that moment
    ./dev job archive --at 2026-11-30T09:00+08:00       # archive what would be due by then
    ./dev job reports --at 2026-11-30T08:00+08:00       # registers and weekly reports due then
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
    parser.add_argument("--aws-port", type=int, default=4566, help="the running stack's emulated AWS port")
    parser.add_argument("--stage", default="local")
    parser.add_argument("--at", type=datetime.fromisoformat,
                        help="run as if it were this moment (ISO 8601 with offset)")
    args = parser.parse_args(argv)

    from local.stack import emulated_aws_environment

    os.environ.update(emulated_aws_environment(args.aws_port))
    sys.path.insert(0, str(ROOT))
    import boto3

    from local.provision import provision, stage_environment

    os.environ.update(stage_environment(provision(boto3.session.Session(region_name="us-east-1"), args.stage)))
    if args.at is not None:
        from chalicelib import bootstrap
        from chalicelib.config import get_settings

        settings, now = get_settings(), lambda: args.at
        runs = {"escalate": lambda: bootstrap.build_escalation_service(settings, now=now).run().as_dict(),
                # the audit log's days are over by the wall clock, not by --at
                "archive": lambda: bootstrap.build_archive_service(settings, now=now,
                                                                   export_now=bootstrap.utc_now).run().as_dict(),
                "reports": lambda: bootstrap.build_report_service(settings, now=now).send_due()}
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
