"""The load benchmark (bench/load.py) at a small size: its closing count must hold."""

from __future__ import annotations

import subprocess
import sys

from local.harness import ROOT


def test_under_racing_retries_and_updates_every_case_is_stored_once_and_every_update_counted() -> None:
    run = subprocess.run([sys.executable, "bench/load.py", "--cases", "40", "--contested", "6"], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "stored / listed:      40 / 40" in run.stdout
    assert "answers:              {200: 6, 409: 18}" in run.stdout
