"""The providers that reach people: SMS through SNS (`Publish` to a phone number, Transactional)
and email through SES (v2 `SendEmail`, with a configuration set whose events come back as
delivery receipts). Each answers with the provider's message id, `Refused` for this message only,
or `TryLater` when nothing was sent and the same message may be sent again."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.delivery import DeliveryState
from chalicelib.services.notifier import Refused, TryLater

_TRY_LATER = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException", "ServiceUnavailable",
                        "InternalError", "InternalFailure", "KMSThrottlingException", "LimitExceededException"})


def _classified(exc: Exception) -> Exception:
    if isinstance(exc, ClientError) and exc.response["Error"]["Code"] not in _TRY_LATER:
        return Refused(f"{exc.response['Error']['Code']}: {exc.response['Error'].get('Message', '')}")
    return TryLater(str(exc))


class _LazyClient:
    """`client` may be a factory, so a container that only reads (the inbox, receipts) builds none."""

    def __init__(self, client: Any | Callable[[], Any]) -> None:
        self._client_or_factory = client

    @cached_property
    def _client(self) -> Any:
        made = self._client_or_factory
        return made() if callable(made) else made


class SnsSms(_LazyClient):
    """China and some other countries need registered templates and take no sender id; where a
    country has a sender id (or origination number) it is configured per country code."""

    def __init__(self, client: Any | Callable[[], Any], sender_ids: dict[str, str] | None = None) -> None:
        super().__init__(client)
        self._sender_ids = sender_ids or {}

    def send(self, phone: str, text: str) -> str:
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
        sender = next((sid for prefix, sid in self._sender_ids.items() if phone.startswith(prefix)), None)
        if sender:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": sender}
        try:
            return str(self._client.publish(PhoneNumber=phone, Message=text, MessageAttributes=attributes)["MessageId"])
        except (ClientError, BotoCoreError) as exc:
            raise _classified(exc) from exc


class SesEmail(_LazyClient):
    def __init__(self, client: Any | Callable[[], Any], sender: str, configuration_set: str) -> None:
        super().__init__(client)
        self._sender = sender
        self._configuration_set = configuration_set

    def send(self, to: str, subject: str, text: str, html: str) -> str:
        try:
            answer = self._client.send_email(
                FromEmailAddress=self._sender, Destination={"ToAddresses": [to]},
                ConfigurationSetName=self._configuration_set,
                Content={"Simple": {"Subject": {"Data": subject, "Charset": "UTF-8"},
                                    "Body": {"Text": {"Data": text, "Charset": "UTF-8"},
                                             "Html": {"Data": html, "Charset": "UTF-8"}}}})
        except (ClientError, BotoCoreError) as exc:
            raise _classified(exc) from exc
        return str(answer["MessageId"])


def receipt_from_ses_event(event: dict[str, Any]) -> tuple[str, DeliveryState, str | None] | None:
    """An SES event (configuration set → SNS → the notifier's queue) as (message id, state, reason).
    Send and delays change nothing; delivery, bounce, complaint, reject and rendering failure do."""
    kind = event.get("eventType") or event.get("notificationType")
    message_id = (event.get("mail") or {}).get("messageId")
    if not message_id or not kind:
        return None
    if kind == "Delivery":
        return message_id, DeliveryState.DELIVERED, None
    if kind == "Bounce":
        bounce = event.get("bounce") or {}
        why = ", ".join(r.get("diagnosticCode", r.get("status", "")) for r in bounce.get("bouncedRecipients", []))
        return message_id, DeliveryState.BOUNCED, f"{bounce.get('bounceType', 'bounce')}: {why}"[:300]
    if kind in ("Reject", "Rendering Failure", "RenderingFailure"):
        return message_id, DeliveryState.FAILED, kind
    if kind == "Complaint":
        return message_id, DeliveryState.DELIVERED, "the recipient marked it as spam"
    return None


def receipts_from_sms_logs(awslogs_data: str) -> list[tuple[str, DeliveryState, str | None]]:
    """SNS SMS delivery status (the `sns/<region>/<account>/DirectPublishToPhoneNumber[/Failure]`
    log groups, sent to the receipts function by a subscription filter): base64 gzip of
    CloudWatch Logs events whose messages are JSON with `notification.messageId` and `status`."""
    import base64
    import gzip
    import json

    batch = json.loads(gzip.decompress(base64.b64decode(awslogs_data)))
    receipts = []
    for entry in batch.get("logEvents", []):
        try:
            record = json.loads(entry["message"])
        except (KeyError, ValueError):
            continue
        message_id = (record.get("notification") or {}).get("messageId")
        if not message_id:
            continue
        ok = record.get("status") == "SUCCESS"
        reason = None if ok else str((record.get("delivery") or {}).get("providerResponse", "failed"))[:300]
        receipts.append((message_id, DeliveryState.DELIVERED if ok else DeliveryState.FAILED, reason))
    return receipts
