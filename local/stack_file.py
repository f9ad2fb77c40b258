"""Where the running local stack is: `./dev run` writes `.local/stack.json` (its ports, stage and the
resources it provisioned) and removes it when it stops; `./dev job`, `./dev cli` and `./dev token`
read it instead of assuming the default ports or provisioning again.

    python -m local.stack_file api     # prints the running stack's API URL (nothing if none runs)

COMPLAINT_DESK_STACK_FILE names another file (the tests' stacks use their own, so a stack a person
runs on the default file is never overwritten).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STACK_FILE = ROOT / ".local" / "stack.json"
ENV_VARIABLE = "COMPLAINT_DESK_STACK_FILE"


class NoRunningStack(Exception):
    """There is no local stack to talk to; the message is one line for a person."""


@dataclass(frozen=True)
class StackRecord:
    pid: int
    stage: str
    api_port: int
    aws_port: int
    environment: dict[str, str] = field(default_factory=dict)  # what the app's functions read

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def aws(self) -> str:
        return f"http://127.0.0.1:{self.aws_port}"


def stack_file_path() -> Path:
    return Path(os.environ.get(ENV_VARIABLE) or DEFAULT_STACK_FILE)


def write(record: StackRecord, path: Path | None = None) -> Path:
    path = path or stack_file_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(record), indent=2), encoding="utf-8")
    temporary.replace(path)
    return path


def remove(pid: int, path: Path | None = None) -> None:
    """Removes the file if it is still this process's (a newer stack may have replaced it)."""
    path = path or stack_file_path()
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == pid:
            path.unlink()
    except (OSError, ValueError):
        pass


def read(path: Path | None = None) -> StackRecord | None:
    path = path or stack_file_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return StackRecord(pid=int(data["pid"]), stage=str(data["stage"]), api_port=int(data["api_port"]),
                           aws_port=int(data["aws_port"]), environment=dict(data.get("environment") or {}))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def running(path: Path | None = None) -> StackRecord:
    """The running stack's record, or NoRunningStack saying (in one line) why there is none."""
    path = path or stack_file_path()
    record = read(path)
    if record is None:
        raise NoRunningStack(f"no local stack is running (no {_shown(path)}): start one with ./dev run")
    if not _alive(record.pid) or not _listening(record.aws_port):
        raise NoRunningStack(f"no local stack is running (the one on ports {record.api_port}/{record.aws_port} "
                             f"in {_shown(path)} has stopped): start one with ./dev run")
    return record


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["api"]:
        print(__doc__, file=sys.stderr)
        return 2
    with contextlib.suppress(NoRunningStack):
        print(running().api)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
