"""What managers would receive, on the console and in a text file a person can read."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from local.inbox import Delivered, LocalInboxes


def describe(delivered: Delivered) -> str:
    """One outbox entry: who gets it by SMS and email, the SMS text, the email subject and body."""
    doc = delivered.document
    recipients = []
    for manager in delivered.unit.managers:
        ways = [way for way in (f"SMS {manager.phone}" if manager.phone else "",
                                f"email {manager.email}" if manager.email else "") if way]
        recipients.append(f"{manager.name} ({manager.role}; {', '.join(ways)})")
    at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return "\n".join([
        f"=== {at}  to {delivered.unit.name} [{delivered.unit.unit_id}]",
        *(f"    {r}" for r in recipients),
        f"SMS:     {doc['sms']}",
        f"Subject: {doc['subject']}",
        "",
        doc["body"],
        "",
    ])


class Outbox:
    """Polls the managers' inboxes each second; prints each SMS line and appends the full entry."""

    def __init__(self, inboxes: LocalInboxes, path: Path, interval: float = 1.0) -> None:
        self._inboxes = inboxes
        self.path = path
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="outbox", daemon=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.flush()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except Exception as exc:  # the emulator going away at shutdown, for one
                print(f"outbox: {exc}", flush=True)

    def flush(self) -> int:
        delivered = self._inboxes.drain()
        if delivered:
            with self.path.open("a", encoding="utf-8") as out:
                for item in delivered:
                    out.write(describe(item) + "\n")
                    print(f"[outbox] to {item.unit.unit_id}: {item.document['sms']}", flush=True)
        return len(delivered)
