"""SNS: publishing escalations in batches, and the managers' subscriptions with filter policies so
each receives only the units they manage."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.escalation import OutgoingMessage, message_document
from chalicelib.domain.models import ManagerContact, Unit

PUBLISH_BATCH_SIZE = 10  # SNS PublishBatch limit
SUBJECT_MAX_CHARS = 99  # SNS: "less than 100 characters", no line breaks or control characters


def sns_subject(text: str) -> str:
    """The subject as SNS accepts it: control characters become spaces, and a longer text is cut
    with an ellipsis (a refused subject would fail the whole message, not just its e-mail line)."""
    flat = "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in text).strip()
    return flat if len(flat) <= SUBJECT_MAX_CHARS else flat[:SUBJECT_MAX_CHARS - 1] + "…"


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


Endpoints = Callable[[Unit, ManagerContact], Iterable[tuple[str, str]]]


def contact_endpoints(unit: Unit, contact: ManagerContact) -> list[tuple[str, str]]:
    """In AWS: an SMS subscription for a phone number, an email subscription for an address."""
    endpoints = []
    if contact.phone:
        endpoints.append(("sms", "+" + "".join(ch for ch in contact.phone if ch.isdigit())))
    if contact.email:
        endpoints.append(("email", contact.email))
    return endpoints


def sync_subscriptions(client: Any, topic_arn: str, units: Iterable[Unit],
                       endpoints: Endpoints = contact_endpoints,
                       protocols: frozenset[str] = frozenset({"sms", "email"})) -> int:
    """Subscribe every manager contact of every unit, filtered to messages whose `unit` attribute
    is one of the units they manage (a person managing two units gets both on one subscription),
    and unsubscribe contacts of `protocols` no unit names any more, so a manager who left stops
    receiving. The organisation changes without a deploy, so this follows the registry rather
    than a template. Returns the number of subscriptions created, changed or removed."""
    wanted: dict[tuple[str, str], set[str]] = {}
    for unit in units:
        for contact in unit.managers:
            for protocol, endpoint in endpoints(unit, contact):
                wanted.setdefault((protocol, endpoint), set()).add(unit.unit_id)
    existing: dict[tuple[str, str], str] = {}
    kwargs: dict[str, Any] = {"TopicArn": topic_arn}
    while True:
        page = client.list_subscriptions_by_topic(**kwargs)
        existing |= {(s["Protocol"], s["Endpoint"]): s["SubscriptionArn"] for s in page.get("Subscriptions", [])}
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    changed = 0
    for (protocol, endpoint), unit_ids in wanted.items():
        policy = json.dumps({"unit": sorted(unit_ids)})
        arn = existing.get((protocol, endpoint))
        if arn is None or arn == "PendingConfirmation":
            client.subscribe(TopicArn=topic_arn, Protocol=protocol, Endpoint=endpoint, ReturnSubscriptionArn=True,
                             Attributes={"FilterPolicy": policy, "FilterPolicyScope": "MessageAttributes"})
        elif client.get_subscription_attributes(SubscriptionArn=arn)["Attributes"].get("FilterPolicy") != policy:
            client.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicy",
                                               AttributeValue=policy)
        else:
            continue
        changed += 1
    for (protocol, endpoint), arn in existing.items():
        if protocol in protocols and (protocol, endpoint) not in wanted and arn != "PendingConfirmation":
            client.unsubscribe(SubscriptionArn=arn)
            changed += 1
    return changed
