"""Start the local stack as a separate process (as a person would) for e2e tests and benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningStack:
    api: str
    aws: str
    log: Path
    aws_port: int
    stack_file: Path  # the stack's own .local/stack.json; jobs find it through COMPLAINT_DESK_STACK_FILE
    exit_code: int | None = None

    def job_environment(self) -> dict[str, str]:
        """The environment for `./dev job`, `./dev cli` or `./dev token` aimed at this stack."""
        return {**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
                "COMPLAINT_DESK_STACK_FILE": str(self.stack_file)}

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def running_stack(startup_seconds: float = 60.0, extra_args: tuple[str, ...] = ()) -> Iterator[RunningStack]:
    """Yields once the API answers (401 to an anonymous GET /units); on exit sends Ctrl-C and records
    the exit code."""
    api_port, aws_port = free_port(), free_port()
    log = Path(tempfile.mkstemp(prefix="complaint-desk-stack-", suffix=".log")[1])
    stack_file = log.with_suffix(".json")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
           "COMPLAINT_DESK_STACK_FILE": str(stack_file)}
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "local.stack", "--port", str(api_port), "--aws-port", str(aws_port),
             *extra_args],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    stack = RunningStack(f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{aws_port}", log, aws_port, stack_file)
    try:
        _wait_until_ready(process, stack, startup_seconds)
        yield stack
    finally:
        process.send_signal(signal.SIGINT)
        try:
            stack.exit_code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            stack.exit_code = process.wait()


def _wait_until_ready(process: subprocess.Popen[bytes], stack: RunningStack, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"local stack exited early:\n{stack.output()}")
        try:
            with urllib.request.urlopen(f"{stack.api}/units", timeout=1):
                return
        except urllib.error.HTTPError as answered:
            if answered.code < 500:
                return
            time.sleep(0.3)
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"local stack did not answer within {seconds:.0f} s:\n{stack.output()}")


def staff_token(stack: RunningStack, name: str, roles: list[str], unit_id: str, table: str = "complaint-desk-local",
                minutes: float | None = None) -> str:
    """A token of a person enrolled in the running stack's staff directory with these roles on this
    unit (each (name, roles, unit) its own person, as an administrator would add them)."""
    import uuid

    import boto3

    from chalicelib.adapters.staff_directory import DynamoStaffDirectory
    from chalicelib.domain.staff import StaffMember
    from local.issuer import mint

    sub = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}|{','.join(sorted(roles))}|{unit_id}"))
    ddb = boto3.client("dynamodb", endpoint_url=stack.aws, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    DynamoStaffDirectory(ddb, table).put(StaffMember(staff_id=sub, name=name, unit_id=unit_id,
                                                     roles=frozenset(roles)))  # type: ignore[arg-type]
    return mint(name, roles, unit_id, minutes, sub=sub)
