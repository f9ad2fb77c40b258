"""Scheduled functions on the local stack: found in the Chalice app's own `@app.schedule`
registrations and invoked through their handlers, as EventBridge invokes the Lambda."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from types import ModuleType
from typing import Any


def scheduled_jobs(app_module: ModuleType) -> dict[str, Callable[[], Any]]:
    """name → a zero-argument call of that scheduled function's Lambda handler."""
    from chalice.app import ScheduledEventConfig

    jobs: dict[str, Callable[[], Any]] = {}
    for source in app_module.app.event_sources:
        if isinstance(source, ScheduledEventConfig):
            handler = getattr(app_module, source.handler_string.rsplit(".", 1)[1])
            jobs[source.name] = _invoker(handler, source.name)
    return jobs


def _invoker(handler: Callable[[dict[str, Any], Any], Any], name: str) -> Callable[[], Any]:
    def invoke() -> Any:
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
                 "source": "aws.events", "account": "123456789012",
                 "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "region": "us-east-1",
                 "resources": [f"arn:aws:events:us-east-1:123456789012:rule/{name}"], "detail": {}}
        return handler(event, None)
    return invoke


class Scheduler:
    """Runs every job each `interval` seconds on a background thread until stopped."""

    def __init__(self, jobs: dict[str, Callable[[], Any]], interval: float,
                 report: Callable[[str, Any], None]) -> None:
        self._jobs = jobs
        self._interval = interval
        self._report = report
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            for name, job in self._jobs.items():
                try:
                    self._report(name, job())
                except Exception as exc:  # a failing run must not stop the next one
                    self._report(name, exc)
