"""What people were sent, on the console and in a text file a person can read: every SMS and email
the notifier sent (to moto's SNS and SES), per person and channel, with its language, segment
count and delivery state, read from each person's record of what was sent to them; and beside
them every message a customer was sent (receipt, answer, survey reminder), from the day's list."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any


def describe(name: str, message: dict[str, Any]) -> str:
    """One outbox entry: to whom, how, in which language, what became of it, and the text."""
    medium = "SMS" if message["medium"] == "sms" else "email"
    segments = f", {message['segments']} segment{'s' if message['segments'] != 1 else ''}" if message.get(
        "segments") else ""
    state = message["state"] + (f" ({message['error']})" if message.get("error") else "")
    return "\n".join([f"=== {message['at']}  {medium} to {name} <{message.get('to') or '-'}>  "
                      f"[{message['language']}{segments}; {state}]", message["text"], ""])


def headline(name: str, message: dict[str, Any]) -> str:
    first = message["text"].splitlines()[0] if message["text"] else ""
    return f"[outbox] {message['medium'].upper()} to {name} ({message['language']}, {message['state']}): {first}"


class Outbox:
    """Polls each person's sent list each second; prints one line per message and appends the
    full entry to the file."""

    def __init__(self, staff: Any, store: Any, path: Path, interval: float = 1.0, customers: Any = None) -> None:
        self._staff = staff
        self._store = store
        self._customers = customers
        self.path = path
        self._interval = interval
        self._seen: dict[str, str] = {}
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
        written = 0
        for person in self._staff.all():
            messages = self._store.sent_to(person.staff_id, self._seen.get(person.staff_id, ""))
            if not messages:
                continue
            self._seen[person.staff_id] = messages[-1].position or ""
            with self.path.open("a", encoding="utf-8") as out:
                for sent in messages:
                    message = sent.model_dump(mode="json")
                    out.write(describe(person.name, message) + "\n")
                    print(headline(person.name, message), flush=True)
                    written += 1
        return written + self._flush_customers()

    def _flush_customers(self) -> int:
        """Customers' messages of yesterday and today (UTC), named by their case, never by the
        customer's name (the console is a log)."""
        if self._customers is None:
            return 0
        from datetime import UTC, datetime, timedelta

        today = datetime.now(UTC)
        written = 0
        for day in (f"{today - timedelta(days=1):%Y-%m-%d}", f"{today:%Y-%m-%d}"):
            messages = self._customers.sent_on(day, self._seen.get(f"customers {day}", ""))
            if not messages:
                continue
            self._seen[f"customers {day}"] = messages[-1]["sk"]
            with self.path.open("a", encoding="utf-8") as out:
                for message in messages:
                    shown = {**message, "at": message.get("sent_at") or message["created_at"],
                             "text": message["text"] if message["medium"] == "sms"
                             else f"{message.get('subject') or ''}\n\n{message['text']}"}
                    who = f"the customer of {message['case_id']} ({message['kind']})"
                    out.write(describe(who, shown) + "\n")
                    print(headline(who, shown), flush=True)
                    written += 1
        return written
