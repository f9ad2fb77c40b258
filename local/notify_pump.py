"""The local stack's stand-in for Lambda's SQS trigger: it takes what arrives on the notifier's
queue (every escalation on the topic, as in AWS) and calls the `notify` function's Lambda handler
with an SQS event, deleting the messages it handled; a batch that fails stays on the queue and
comes back after its visibility timeout, as in AWS."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class NotifyPump:
    def __init__(self, sqs: Any, queue_url: str, handler: Callable[[dict[str, Any], Any], Any],
                 report: Callable[[str, Any], None], interval: float = 0.5) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._handler = handler
        self._report = report
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="notify-pump", daemon=True)
        self._arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.pump()
            except Exception as exc:  # the emulator going away at shutdown, or a failed batch
                self._report("notify", exc)

    def pump(self) -> int:
        """One batch (up to 10 messages, like the trigger's batch size); returns how many."""
        messages = self._sqs.receive_message(QueueUrl=self._queue_url, MaxNumberOfMessages=10,
                                             WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                              "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs",
                              "eventSourceARN": self._arn, "awsRegion": "us-east-1"} for m in messages]}
        self._report("notify", self._handler(event, None))
        self._sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
        return len(messages)
