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

from local import access_log, stack_file
from local.notify_pump import NotifyPump
from local.outbox import Outbox
from local.scheduler import Scheduler, scheduled_jobs

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_ORGANISATION = Path(__file__).resolve().parent / "sample_organisation.json"
SAMPLE_STAFF = Path(__file__).resolve().parent / "sample_staff.json"
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
    """Resources from infra/resources.yaml, then the sample organisation and its staff into the table."""
    import boto3

    from chalicelib.bootstrap import build_organisation_service
    from chalicelib.config import Settings
    from chalicelib.domain.models import Unit
    from local.provision import provision, stage_environment

    session = boto3.session.Session(region_name=REGION)
    created = provision(session, stage)
    env = stage_environment(created)
    settings = Settings(table_name=env["TABLE_NAME"], escalation_topic_arn=env["ESCALATION_TOPIC_ARN"])
    organisation = build_organisation_service(settings, session.client("dynamodb"), session.client("sns"))
    for unit in json.loads(SAMPLE_ORGANISATION.read_text()):  # parents first, as an administrator loads them
        organisation.put_unit(unit["unit_id"], Unit.model_validate(unit))
    seed_sample_staff(settings, session.client("dynamodb"), session.client("sns"))
    return env


def seed_sample_staff(settings: Any, ddb: Any, sns: Any) -> list[Any]:
    """The sample organisation's people (local/sample_staff.json): managers, agents, an auditor and
    an administrator, their ids derived from their names as the local issuer's tokens are."""
    from chalicelib.adapters.staff_directory import NamedIdentityProvider
    from chalicelib.bootstrap import build_staff_service
    from chalicelib.domain.staff import StaffDetails

    staff = build_staff_service(settings, ddb, sns, identity=NamedIdentityProvider())
    existing = {member.name: member.staff_id for member in staff.list()}
    people = [StaffDetails.model_validate(row) for row in json.loads(SAMPLE_STAFF.read_text())]
    return [staff.update(existing[p.name], p) if p.name in existing else staff.add(p) for p in people]


def delivery_environment(stage: str, api_port: int) -> dict[str, str]:
    """The notifier's settings on the local stack: links to this console, the template's SES
    configuration set and sender (verified in the emulator), and no gathering delay, so a person
    running it sees the first message at once (the 10-minute window between SMS still holds)."""
    import boto3
    import yaml

    from local.provision import TEMPLATE

    sender = yaml.safe_load(TEMPLATE.read_text())["Parameters"]["SenderEmail"]["Default"]
    ses = boto3.session.Session(region_name=REGION).client("sesv2")
    ses.create_email_identity(EmailIdentity=sender)
    return {"CONSOLE_LINK_BASE": f"http://127.0.0.1:{api_port}", "SES_SENDER": sender,
            "SES_CONFIGURATION_SET": f"complaint-desk-{stage}", "DIGEST_GATHER_SECONDS": "0"}


def start_outbox(env: dict[str, str], path: Path) -> Outbox:
    """What each person and each customer was sent (SMS and email), drained into the outbox file and
    the console."""
    import boto3

    from chalicelib.adapters.customer_outbox import DynamoCustomerOutbox
    from chalicelib.adapters.delivery_store import DynamoDeliveryStore
    from chalicelib.adapters.staff_directory import DynamoStaffDirectory

    ddb = boto3.session.Session(region_name=REGION).client("dynamodb")
    outbox = Outbox(DynamoStaffDirectory(ddb, env["TABLE_NAME"], cache_seconds=5),
                    DynamoDeliveryStore(ddb, env["TABLE_NAME"]), path,
                    customers=DynamoCustomerOutbox(ddb, env["TABLE_NAME"]))
    outbox.start()
    return outbox


def start_notify_pump(stage: str, app_module: Any) -> NotifyPump:
    """The notifier's queue, handed to its function as Lambda's SQS trigger would."""
    import boto3

    sqs = boto3.session.Session(region_name=REGION).client("sqs")
    pump = NotifyPump(sqs, sqs.get_queue_url(QueueName=f"complaint-desk-{stage}-notify")["QueueUrl"],
                      app_module.notify, report_job)
    pump.start()
    return pump


def report_job(name: str, result: Any) -> None:
    """A line on the console when a scheduled run did something (or failed)."""
    if isinstance(result, Exception):
        print(f"[{name}] run failed: {result!r}; the next run tries again", flush=True)
    elif isinstance(result, dict) and "items_read" in result and any(
            result.get(k) for k in ("sent", "failed", "unconfirmed")):
        print(f"[{name}] sent {result['sent']}, failed {result['failed']}, unconfirmed {result['unconfirmed']}, "
              f"read {result['items_read']} items in {result['seconds']} s", flush=True)
    elif isinstance(result, dict) and any(result.get(k) for k in ("sms", "emails", "failed", "queued")):
        print(f"[{name}] " + ", ".join(f"{k} {v}" for k, v in result.items() if v), flush=True)


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


def banner(stack: stack_file.StackRecord, jobs: dict[str, Any], every: float, outbox: Path, written: Path) -> str:
    """What a person needs to start using the stack, printed once it is up."""
    api, env = stack.api, stack.environment
    auditor = '$(./dev token --name "Qian Yu")'
    return f"""
Complaint Desk is running (stage {stack.stage!r}; ports recorded in {_relative(written)})
  API            {api}   (every route but the public form's needs a staff token: see 'sign in')
  emulated AWS   {stack.aws}   (AWS CLI: --endpoint-url {stack.aws}, any credentials)
  table          {env["TABLE_NAME"]}
  topic          {env["ESCALATION_TOPIC_ARN"]}
  bucket         {env["ARCHIVE_BUCKET"]}
  scheduled jobs {", ".join(jobs)} every {every:g} s   (run one now: ./dev job escalate)
  outbox         {outbox}   (every SMS and email a person or customer was sent, with language and state; also here)
  sign in        export TOKEN=$(./dev token --name "Li Na")   (the sample staff: local/sample_staff.json)
                 curl -H "Authorization: Bearer $TOKEN" "{api}/cases?unit_id=store-xh-01"
  hotline        POST {api}/intake/hotline with header x-api-key: {LOCAL_HOTLINE_KEY}
  web form       {api}/   (the public intake form, zh/en; API: POST /public/cases)
  staff console  {api}/console   (sign in with a token from ./dev token ...)
  reports        ./dev job reports --at 2026-11-30T08:00+08:00   (daily registers, Monday's weekly report)
  API document   {api}/openapi.json
  auditors       export COMPLAINT_DESK_TOKEN={auditor}
                 ./dev cli archive list|fetch|download|verify ...   (./dev cli --help)
Ctrl-C stops everything.
"""


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


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

    try:  # one stack per stack file: the tools would not know which one they talk to
        running = stack_file.running()
        print(f"a local stack is already running (API {running.api}, AWS {running.aws}, recorded in "
              f"{_relative(stack_file.stack_file_path())}); stop it first, or set "
              f"{stack_file.ENV_VARIABLE} to another file for a second one", file=sys.stderr)
        return 1
    except stack_file.NoRunningStack:
        pass
    os.environ.update(emulated_aws_environment(args.aws_port))
    sys.path.insert(0, str(ROOT))
    emulator = start_emulator(args.aws_port)
    try:
        from local.issuer import auth_environment

        env = {**provision_and_seed(args.stage), **auth_environment(), "INTAKE_API_KEYS": LOCAL_HOTLINE_KEY,
               **delivery_environment(args.stage, args.port)}
        os.environ.update(env)  # the stage config names the same resources; this makes sure
        server = create_api_server(args.stage, "127.0.0.1", args.port)
        outbox = start_outbox(env, args.outbox)
        pump = start_notify_pump(args.stage, sys.modules["app"])
        jobs = scheduled_jobs(sys.modules["app"])
        scheduler = Scheduler(jobs, args.schedule_seconds, report_job)
        scheduler.start()
        record = stack_file.StackRecord(pid=os.getpid(), stage=args.stage, api_port=args.port,
                                        aws_port=args.aws_port, environment=env)
        written = stack_file.write(record)
        print(banner(record, jobs, args.schedule_seconds, outbox.path, written), flush=True)

        def stop(*_: Any) -> None:
            threading.Thread(target=server.shutdown, daemon=True).start()

        # Handled explicitly: a stack started in the background of a script inherits SIGINT ignored.
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        server.serve_forever()
        scheduler.stop()
        pump.stop()
        outbox.stop()
    finally:
        stack_file.remove(os.getpid())
        stop_emulator(emulator)
        print("Complaint Desk stopped.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
