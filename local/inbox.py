"""Units' inboxes on the escalation bus, for tests and the local stack: one SQS queue per unit
subscribed to the escalation topic with the filter `{"unit": [unit]}`, so a queue holds exactly
what the bus addressed to that unit (the notifier then tells its people)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.models import Unit


@dataclass(frozen=True)
class Delivered:
    unit: Unit
    document: dict[str, Any]  # key, sms, subject, body, attributes


class LocalInboxes:
    def __init__(self, session: Any, topic_arn: str, units: list[Unit], prefix: str) -> None:
        self._sqs = session.client("sqs")
        self._units = {unit.unit_id: unit for unit in units}
        self._queues: dict[str, str] = {}
        sns = session.client("sns")
        for unit in units:
            url = self._sqs.create_queue(QueueName=f"{prefix}-inbox-{unit.unit_id}")["QueueUrl"]
            self._queues[unit.unit_id] = url
            arn = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, ReturnSubscriptionArn=True,
                          Attributes={"FilterPolicy": json.dumps({"unit": [unit.unit_id]}),
                                      "FilterPolicyScope": "MessageAttributes"})

    def drain(self) -> list[Delivered]:
        """Every message delivered since the last drain (short polls: the emulator is single-threaded)."""
        delivered: list[Delivered] = []
        for unit_id, url in self._queues.items():
            while True:
                answer = self._sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
                messages = answer.get("Messages", [])
                if not messages:
                    break
                for message in messages:
                    envelope = json.loads(message["Body"])
                    delivered.append(Delivered(self._units[unit_id], json.loads(envelope["Message"])))
                self._sqs.delete_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
        return delivered
