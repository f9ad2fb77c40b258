"""The whole service on this machine: moto on loopback, resources from infra/, the Chalice app.

    python -m local.stack            # API on http://127.0.0.1:8000, AWS on http://127.0.0.1:4566
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from local import access_log
from local.inbox import LocalInboxes
from local.outbox import Outbox
from local.scheduler import Scheduler, scheduled_jobs

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_ORGANISATION = Path(__file__).resolve().parent / "sample_organisation.json"
DEFAULT_OUTBOX = ROOT / ".local" / "outbox.txt"
REGION = "us-east-1"


def emulated_aws_environment(aws_port: int) -> dict[str, str]:
    """Point every AWS client in this process (and any shell that exports it) at the emulator."""
    return {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws_port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }


def start_emulator(aws_port: int) -> subprocess.Popen[bytes]:
    """The emulator (local/emulator.py) in its own process, so it and the API each get a core."""
    with open(os.environ.get("EMULATOR_LOG", os.devnull), "w") as log:  # EMULATOR_LOG=path keeps moto's log
        process = subprocess.Popen([sys.executable, "-m", "local.emulator", str(aws_port)],
                                   stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the AWS emulator exited with code {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", aws_port)) == 0:
                return process
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the AWS emulator did not listen on port {aws_port} within 30 s")


def stop_emulator(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


LOCAL_HOTLINE_KEY = "local-hotline-key"  # API Gateway's key in AWS; the app checks this one locally


def provision_and_seed(stage: str) -> dict[str, str]:
    """Resources from infra/resources.yaml, then the sample organisation into the table."""
    import boto3

    from chalicelib.bootstrap import build_organisation_service
    from chalicelib.config import Settings
    from chalicelib.domain.models import Unit
    from local.provision import provision, stage_environment

    session = boto3.session.Session(region_name=REGION)
    created = provision(session, stage)
    env = stage_environment(created)
    organisation = build_organisation_service(
        Settings(table_name=env["TABLE_NAME"], escalation_topic_arn=env["ESCALATION_TOPIC_ARN"]),
        session.client("dynamodb"), session.client("sns"))
    for unit in json.loads(SAMPLE_ORGANISATION.read_text()):  # parents first, as an administrator loads them
        organisation.put_unit(unit["unit_id"], Unit.model_validate(unit))
    return env


def start_outbox(env: dict[str, str], path: Path, stage: str) -> Outbox:
    """Managers' inboxes (queues with their subscription filters) drained into the outbox file."""
    import boto3

    from chalicelib.adapters.dynamodb import DynamoUnitRegistry

    session = boto3.session.Session(region_name=REGION)
    units = DynamoUnitRegistry(session.client("dynamodb"), env["TABLE_NAME"]).all()
    outbox = Outbox(LocalInboxes(session, env["ESCALATION_TOPIC_ARN"], units, f"complaint-desk-{stage}"), path)
    outbox.start()
    return outbox


def report_job(name: str, result: Any) -> None:
    """A line on the console when a scheduled run did something (or failed)."""
    if isinstance(result, Exception):
        print(f"[{name}] run failed: {result!r}; the next run tries again", flush=True)
    elif isinstance(result, dict) and any(result.get(k) for k in ("sent", "failed", "unconfirmed")):
        print(f"[{name}] sent {result['sent']}, failed {result['failed']}, unconfirmed {result['unconfirmed']}, "
              f"read {result['items_read']} items in {result['seconds']} s", flush=True)


def _any_method(handler: Any, name: str) -> Any:
    if name.startswith("do_"):
        return handler._generic_handle
    raise AttributeError(name)


def create_api_server(stage: str, host: str, port: int) -> Any:
    """The same local server `chalice local` runs, built in-process so one Ctrl-C stops all."""
    from chalice.cli.factory import CLIFactory
    from chalice.local import ChaliceRequestHandler

    # The dev server writes headers and body in separate sends; with Nagle on, every response
    # waits ~40 ms for a delayed ACK. Lambda behind API Gateway has no such delay.
    ChaliceRequestHandler.disable_nagle_algorithm = True
    # The dev server knows only the methods Chalice routes; any other (TRACE, QUERY, …) got an HTML
    # 501 from http.server. Route every method through the gateway emulation, which answers them.
    ChaliceRequestHandler.__getattr__ = _any_method
    # Its access log names every path: tracking tokens and sign-in codes are masked first.
    if not getattr(ChaliceRequestHandler, "masks_secrets", False):
        access_log.install(ChaliceRequestHandler)
        ChaliceRequestHandler.masks_secrets = True
    factory = CLIFactory(project_dir=str(ROOT), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    return factory.create_local_server(config.chalice_app, config, host, port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000, help="API port (default 8000)")
    parser.add_argument("--aws-port", type=int, default=4566, help="emulated AWS port (default 4566)")
    parser.add_argument("--stage", default="local")
    parser.add_argument("--schedule-seconds", type=float, default=60.0,
                        help="how often the scheduled functions run (default 60)")
    parser.add_argument("--outbox", type=Path, default=DEFAULT_OUTBOX,
                        help=f"where managers' messages are kept (default {DEFAULT_OUTBOX.relative_to(ROOT)})")
    args = parser.parse_args(argv)

    os.environ.update(emulated_aws_environment(args.aws_port))
    sys.path.insert(0, str(ROOT))
    emulator = start_emulator(args.aws_port)
    try:
        from local.issuer import auth_environment

        env = {**provision_and_seed(args.stage), **auth_environment(), "INTAKE_API_KEYS": LOCAL_HOTLINE_KEY}
        os.environ.update(env)  # the stage config names the same resources; this makes sure
        server = create_api_server(args.stage, "127.0.0.1", args.port)
        outbox = start_outbox(env, args.outbox, args.stage)
        jobs = scheduled_jobs(sys.modules["app"])
        scheduler = Scheduler(jobs, args.schedule_seconds, report_job)
        scheduler.start()
        endpoint = os.environ["AWS_ENDPOINT_URL"]
        print(f"""
Complaint Desk is running (stage {args.stage!r})
  API            http://127.0.0.1:{args.port}   (every route but none needs a staff token, see 'sign in')
  emulated AWS   {endpoint}   (AWS CLI: --endpoint-url {endpoint}, any credentials)
  table          {env["TABLE_NAME"]}
  topic          {env["ESCALATION_TOPIC_ARN"]}
  bucket         {env["ARCHIVE_BUCKET"]}
  scheduled jobs {", ".join(jobs)} every {args.schedule_seconds:g} s   (run one now: ./dev job escalate)
  outbox         {outbox.path}   (every SMS/email a manager would receive; also printed here)
  sign in        export TOKEN=$(./dev token --role agent --unit store-xh-01 --name "Li Na")
                 curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:{args.port}/cases?unit_id=store-xh-01
  hotline        POST http://127.0.0.1:{args.port}/intake/hotline with header x-api-key: {LOCAL_HOTLINE_KEY}
  web form       http://127.0.0.1:{args.port}/   (the public intake form, zh/en; API: POST /public/cases)
  staff console  http://127.0.0.1:{args.port}/console   (sign in with a token from ./dev token ...)
  reports        ./dev job reports --at 2026-11-30T08:00+08:00   (daily registers, Monday's weekly report)
  API document   http://127.0.0.1:{args.port}/openapi.json
  auditors       COMPLAINT_DESK_TOKEN=$(./dev token --role auditor --unit branch-hz --name "Qian Yu") \
                 ./dev cli archive list|fetch|download|verify ...   (./dev cli --help)
Ctrl-C stops everything.
""", flush=True)

        def stop(*_: Any) -> None:
            threading.Thread(target=server.shutdown, daemon=True).start()

        # Handled explicitly: a stack started in the background of a script inherits SIGINT ignored.
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        server.serve_forever()
        scheduler.stop()
        outbox.stop()
    finally:
        stop_emulator(emulator)
        print("Complaint Desk stopped.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
