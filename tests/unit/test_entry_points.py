"""Each Lambda function imports `app.py`; only the API's loads the routes and their models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, sys
import app
ours = sorted(m for m in sys.modules if m.startswith("chalicelib."))
print(json.dumps({"routes": sorted(app.app.routes), "modules": ours}))
"""


def imported_as(handler: str | None) -> dict[str, list[str]]:
    env = {k: v for k, v in os.environ.items() if k != "_HANDLER"}
    if handler is not None:
        env["_HANDLER"] = handler
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, check=True, capture_output=True,
                          text=True)
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("handler", ["app.escalate", "app.archive", "app.send_reports", "app.notify", "app.deliver"])
def test_a_scheduled_or_queue_function_loads_no_route_and_no_service(handler: str) -> None:
    loaded = imported_as(handler)
    assert loaded["routes"] == []
    assert not [m for m in loaded["modules"] if m.startswith(("chalicelib.api", "chalicelib.services"))]


@pytest.mark.parametrize("handler", ["app.app", None])  # the API's function; chalice package and the local stack
def test_the_api_function_serves_every_area(handler: str | None) -> None:
    routes = imported_as(handler)["routes"]
    for path in ("/cases", "/cases/{case_id}", "/public/cases", "/staff", "/archive/{case_id}",
                 "/reports/daily-register", "/audit-log/chain"):
        assert path in routes
