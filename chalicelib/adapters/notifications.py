"""SNS, the escalation bus: publishing escalations (and reports) in batches. Nobody subscribes per
person: the notifier's queue takes everything and tells each person (services/notifier.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.escalation import SUBJECT_MAX_CHARS, OutgoingMessage, cut_at_word, message_document

PUBLISH_BATCH_SIZE = 10  # SNS PublishBatch limit


def sns_subject(text: str) -> str:
    """The subject as SNS accepts it: control characters become spaces, and a longer text is cut
    with an ellipsis (a refused subject would fail the whole message, not just its e-mail line)."""
    flat = "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in text).strip()
    return cut_at_word(flat, SUBJECT_MAX_CHARS)


class SnsPublisher:
    def __init__(self, client: Any | Callable[[], Any], topic_arn: str) -> None:
        """`client` may be a factory, so an API container that never publishes never builds one."""
        self._client_or_factory = client
        self._topic_arn = topic_arn

    @cached_property
    def _client(self) -> Any:
        made = self._client_or_factory
        return made() if callable(made) else made

    def publish(self, messages: Sequence[OutgoingMessage]) -> dict[str, str | Exception]:
        """key → SNS message id, or the error that stopped it. Never raises for a failed publish:
        the caller records each failure and the next run retries it."""
        outcome: dict[str, str | Exception] = {}
        for start in range(0, len(messages), PUBLISH_BATCH_SIZE):
            chunk = messages[start:start + PUBLISH_BATCH_SIZE]
            try:
                answer = self._client.publish_batch(
                    TopicArn=self._topic_arn,
                    PublishBatchRequestEntries=[_entry(str(i), m) for i, m in enumerate(chunk)])
            except (ClientError, BotoCoreError) as exc:
                outcome.update({m.key: exc for m in chunk})
                continue
            for ok in answer.get("Successful", []):
                outcome[chunk[int(ok["Id"])].key] = ok["MessageId"]
            for failed in answer.get("Failed", []):
                outcome[chunk[int(failed["Id"])].key] = RuntimeError(
                    f"{failed.get('Code')}: {failed.get('Message', 'publish failed')}")
        return outcome


def _entry(entry_id: str, message: OutgoingMessage) -> dict[str, Any]:
    """One message, a text per protocol: SMS-sized for phones, subject and body for email, the
    whole document as JSON for queues (machine subscribers and the local outbox)."""
    return {
        "Id": entry_id,
        "Subject": sns_subject(message.subject),
        "MessageStructure": "json",
        "Message": json.dumps({"default": message.body, "sms": message.sms, "email": message.body,
                               "sqs": json.dumps(message_document(message), ensure_ascii=False)},
                              ensure_ascii=False),
        "MessageAttributes": {name: {"DataType": "String", "StringValue": value}
                              for name, value in message.attributes.items()},
    }
