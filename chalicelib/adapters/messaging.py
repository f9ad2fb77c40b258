"""The providers that reach people: SMS through SNS (`Publish` to a phone number, Transactional)
and email through SES (v2 `SendEmail`, with a configuration set whose events come back as
delivery receipts). Each answers with the provider's message id, `Refused` for this message only,
or `TryLater` when nothing was sent and the same message may be sent again."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.services.notifier import Refused, TryLater

_TRY_LATER = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException", "ServiceUnavailable",
                        "InternalError", "InternalFailure", "KMSThrottlingException", "LimitExceededException"})


def _classified(exc: Exception) -> Exception:
    if isinstance(exc, ClientError) and exc.response["Error"]["Code"] not in _TRY_LATER:
        return Refused(f"{exc.response['Error']['Code']}: {exc.response['Error'].get('Message', '')}")
    return TryLater(str(exc))


class SnsSms:
    """China and some other countries need registered templates and take no sender id; where a
    country has a sender id (or origination number) it is configured per country code."""

    def __init__(self, client: Any, sender_ids: dict[str, str] | None = None) -> None:
        self._client = client
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


class SesEmail:
    def __init__(self, client: Any, sender: str, configuration_set: str) -> None:
        self._client = client
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
