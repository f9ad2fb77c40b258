"""Telling the customer (rulebook §1 "every matter answered", §2 receipts, §5 result and
satisfaction): one path, `tell`, that turns a case and a kind of message into the customer's SMS
and/or email in their language, and `send`, which hands them to the providers.

Use: the case service asks `tell` (or `at_intake` / `on_resolve`) for the writes that go into the
same transaction as the case change, commits, then calls `send` with the messages. Any other
change that owes the customer a message does the same (e.g. recording a suggestion's reply:
`tell(case, CustomerMessageKind.ANSWER, reply_text)` and `send`).

Rules: nothing without the customer's consent; SMS only to a valid mobile number of the unit's
country, never to a number typed into the public web form (those customers get email), at most
`sms_per_number_per_day` a day per number (chalicelib/domain/customer_messages.py: `sms_target`).
Each refusal is logged with the number masked and counted (`CustomerSmsRefused` by reason).

Failure policy, as for managers' digests: each message is stored (state `queued`, in the due
index) in the transaction of the change that causes it, so nothing is lost if a provider fails or
the function dies. A throttled or unreachable provider leaves it due a minute later (the `deliver`
schedule retries it: `CustomerMessagesRetried`); a refusal is recorded `failed`
(`CustomerMessagesFailed`); a sender that dies between calling the provider and recording the
answer leaves it `unconfirmed` (`CustomerMessagesUnconfirmed`), never sent twice."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from chalicelib.domain.calendar import country_of
from chalicelib.domain.clocks import reply_by
from chalicelib.domain.customer_messages import (
    HANDLED,
    SMS_TOKEN_BYTES,
    CustomerMessage,
    CustomerMessageKind,
    CustomerMessageView,
    SmsRefusal,
    masked,
    next_steps,
    number_key,
    render_customer,
    sms_target,
    tracking_link,
)
from chalicelib.domain.delivery import DeliveryState, Medium
from chalicelib.domain.messages import sms_segments
from chalicelib.domain.models import Case, Status
from chalicelib.observability import count, logger
from chalicelib.services.notifier import Refused, TryLater
from chalicelib.services.ports import (
    AlsoWritten,
    CaseRepository,
    CustomerMessageQueued,
    CustomerOutbox,
    CustomerTrackingLink,
    EmailSender,
    SmsSender,
    SurveyReminderDue,
    TrackingEntry,
    Units,
)


@dataclass
class Outgoing:
    """What a change owes the customer: transaction items to write with it, messages to send after."""

    writes: list[AlsoWritten] = field(default_factory=list)
    messages: list[CustomerMessage] = field(default_factory=list)
    tracking_hash: str | None = None  # a new tracking token's SHA-256, for the case's intake


@dataclass
class ContactReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unconfirmed: int = 0
    reminders: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)




def hashed_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class CustomerContactService:
    def __init__(self, outbox: CustomerOutbox, sms: SmsSender, email: EmailSender, units: Units,
                 now: Callable[[], datetime], link_base: str, cases: CaseRepository | None = None,
                 sms_per_number_per_day: int = 3, survey_reminder_after: timedelta = timedelta(days=3),
                 lease: timedelta = timedelta(minutes=5), max_per_run: int = 500,
                 number_secret: Callable[[], bytes | None] = lambda: None) -> None:
        """`cases` reads a case for the survey's reminder; `number_secret` gives the key the
        per-number SMS allowance is counted under (read when a first SMS is counted)."""
        self._number_secret = number_secret
        self._outbox = outbox
        self._sms = sms
        self._email = email
        self._units = units
        self._now = now
        self._link_base = link_base
        self._cases = cases
        self._sms_cap = sms_per_number_per_day
        self._reminder_after = survey_reminder_after
        self._lease = lease
        self._max_per_run = max_per_run

    # --- what a change owes the customer (written in its transaction) -------------------------
    def at_intake(self, case: Case, tracking_token: str | None) -> tuple[Outgoing, str | None]:
        """Rulebook §2: a receipt on every channel where the customer agreed to be contacted. A case
        without a tracking token yet (staff channels) gets one here, short enough for an SMS."""
        if not case.customer.contact_consent:
            return Outgoing(), tracking_token
        outgoing = Outgoing()
        if tracking_token is None:
            tracking_token = secrets.token_urlsafe(SMS_TOKEN_BYTES)
            outgoing.tracking_hash = hashed_token(tracking_token)
        told = self.tell(case, CustomerMessageKind.RECEIPT, token=tracking_token)
        outgoing.writes += [CustomerTrackingLink(case.case_id, tracking_token), *told.writes]
        outgoing.messages += told.messages
        return outgoing, tracking_token

    def on_resolve(self, case: Case) -> Outgoing:
        """Rulebook §5: the result goes to the customer, and the satisfaction survey's reminder is
        due once, `survey_reminder_after` later, unless they rate first."""
        if not case.customer.contact_consent or case.resolution is None:
            return Outgoing()
        # never staff's own `result`: without a customer message the customer reads that it was handled
        text = case.resolution.customer_message or HANDLED[case.customer.language.value]
        outgoing = self.tell(case, CustomerMessageKind.ANSWER, text)
        outgoing.writes.append(SurveyReminderDue(case.case_id, self._now() + self._reminder_after))
        return outgoing

    def on_reply_promised(self, case: Case) -> Outgoing:
        """Rulebook §1 建议: the receipt said the customer would be told when to expect a reply;
        this tells them, once the leader has promised a date."""
        return self.tell(case, CustomerMessageKind.REPLY_PROMISED)

    def tell(self, case: Case, kind: CustomerMessageKind, text: str = "", token: str | None = None) -> Outgoing:
        """The one way a message to the customer is made: in their language, by SMS where the rules
        allow it and by email where they gave an address; each stored `queued` (its transaction
        item) until `send` (or the `deliver` schedule) hands it to the provider."""
        if not case.customer.contact_consent:
            return Outgoing()
        outgoing = Outgoing()
        token = token or self._outbox.tracking_token(case.case_id)
        if token is None:  # a case from before customers were written to: give it a link now
            token = secrets.token_urlsafe(SMS_TOKEN_BYTES)
            outgoing.writes += [CustomerTrackingLink(case.case_id, token),
                                TrackingEntry(case.case_id, hashed_token(token))]
        unit = self._units.get(case.unit_id)
        # the unit's country (`GB-ENG` → `GB`): where its customers' phone numbers are read and texted
        time_zone, country = (unit.time_zone, country_of(unit.calendar)) if unit else ("UTC", "")
        now = self._now()
        language = case.customer.language.value
        promised = reply_by(case.clocks)
        acceptance = case.clocks.get("acceptance")
        steps = next_steps(case.type.value, language, acceptance is not None and acceptance.due_at <= now)
        rendered = render_customer(kind, language, case.case_id, unit.name if unit else case.unit_id,
                                   tracking_link(self._link_base, token), promised, time_zone, steps, text, now,
                                   case.type.value)
        phone = self._sms_number(case, country, now)
        if phone:
            outgoing.messages.append(CustomerMessage(
                case_id=case.case_id, message_id=f"{now.isoformat()}#{kind.value}#sms", kind=kind, medium=Medium.SMS,
                to=phone, language=rendered.language, text=rendered.sms, segments=sms_segments(rendered.sms),
                created_at=now))
        if case.customer.email:
            outgoing.messages.append(CustomerMessage(
                case_id=case.case_id, message_id=f"{now.isoformat()}#{kind.value}#email", kind=kind,
                medium=Medium.EMAIL, to=case.customer.email, language=rendered.language, text=rendered.text,
                subject=rendered.subject, html=rendered.html, created_at=now))
        if not outgoing.messages:
            logger.info("customer not written to: no address the rules allow", extra={"case_id": case.case_id,
                                                                                    "kind": kind.value})
        outgoing.writes += [CustomerMessageQueued(m) for m in outgoing.messages]
        return outgoing

    def _sms_number(self, case: Case, country: str, now: datetime) -> str | None:
        """The customer's number in E.164 if they may get this SMS (and it is counted), else None."""
        target = sms_target(case, country)
        refusal = target.refusal
        if target.e164:
            counted = number_key(target.e164, self._number_secret())
            if not self._outbox.take_sms_allowance(counted, now, self._sms_cap):
                refusal = SmsRefusal.DAILY_CAP
        if refusal is None:
            return target.e164
        if refusal is not SmsRefusal.NO_CONSENT:
            logger.warning("customer SMS refused", extra={"case_id": case.case_id, "reason": refusal.value,
                                                          "to": masked(case.customer.phone),
                                                          "channel": case.channel.value})
            count("CustomerSmsRefused", reason=refusal.value)
        return None

    # --- handing messages to the providers ----------------------------------------------------
    def send(self, messages: Sequence[CustomerMessage], report: ContactReport | None = None) -> ContactReport:
        """Right after the change is committed: each message once. What cannot go now stays due."""
        report = report or ContactReport()
        for message in messages:
            claimed = self._outbox.claim_message(message, self._now() + self._lease)
            if claimed is not None:
                self._send_one(message, claimed.attempted, report)
        return report

    def run_due(self) -> ContactReport:
        """The `deliver` schedule: messages a provider did not take (or a sender left), and survey
        reminders that are due."""
        report = ContactReport()
        now = self._now()
        for due in self._outbox.due(now, self._max_per_run):
            claimed = self._outbox.claim(due, now + self._lease)
            if claimed is None:
                continue
            if claimed.message is None:
                self._remind(due.case_id, report)
            else:
                self._send_one(claimed.message, claimed.attempted, report)
        if any(asdict(report).values()):
            logger.info("customer messages", extra=report.as_dict())
        return report

    def _remind(self, case_id: str, report: ContactReport) -> None:
        """Once: only if the case still waits for the customer's rating."""
        assert self._cases is not None, "reminders need the case store"
        from chalicelib.domain.public_status import rated_by_customer

        record = self._cases.get(case_id)
        case = record.case
        self._outbox.reminder_done(case_id)
        if case.status is not Status.RESOLVED or case.feedback is not None or case.archive is not None \
                or rated_by_customer(record.history):
            return
        outgoing = self.tell(case, CustomerMessageKind.SURVEY_REMINDER)
        if outgoing.writes:
            self._outbox.write(outgoing.writes)
        report.reminders += 1
        self.send(outgoing.messages, report)

    def _send_one(self, message: CustomerMessage, attempted: bool, report: ContactReport) -> None:
        now = self._now()
        log = {"case_id": message.case_id, "medium": message.medium.value, "kind": message.kind.value,
               "to": masked(message.to)}
        if attempted:
            logger.error("customer message unconfirmed: not resent", extra=log)
            count("CustomerMessagesUnconfirmed")
            report.unconfirmed += 1
            self._outbox.finished(message.model_copy(update={
                "state": DeliveryState.UNCONFIRMED,
                "error": "the sender stopped after trying this and before recording it"}), now)
            return
        self._outbox.attempting(message)
        tries = message.attempts + 1
        try:
            if message.medium is Medium.SMS:
                provider_id = self._sms.send(message.to, message.text)
            else:
                provider_id = self._email.send(message.to, message.subject or "", message.text, message.html or "")
        except Refused as exc:
            logger.warning("customer message refused by the provider", extra={**log, "error": str(exc)[:200]})
            count("CustomerMessagesFailed", medium=message.medium.value)
            report.failed += 1
            self._outbox.finished(message.model_copy(update={"state": DeliveryState.FAILED, "attempts": tries,
                                                             "error": str(exc)[:300]}), now)
            return
        except Exception as exc:  # TryLater, or anything unexpected: never lose the message
            logger.warning("customer message not sent now; retried in a minute",
                           extra={**log, "error": f"{type(exc).__name__}: {str(exc)[:200]}",
                                  "attempts": tries, "throttled": isinstance(exc, TryLater)})
            count("CustomerMessagesRetried", medium=message.medium.value)
            report.retried += 1
            self._outbox.retry_at(message.model_copy(update={"attempts": tries, "error": str(exc)[:300]}),
                                  now + timedelta(minutes=1))
            return
        self._outbox.finished(message.model_copy(update={"state": DeliveryState.SENT, "attempts": tries,
                                                         "provider_id": provider_id, "sent_at": now,
                                                         "error": None}), now)
        report.sent += 1
        count("CustomerSmsSent" if message.medium is Medium.SMS else "CustomerEmailsSent")
        logger.info("customer message sent", extra=log)

    def feedback(self, provider_id: str, state: DeliveryState, error: str | None = None) -> CustomerMessage | None:
        """A provider's receipt for a customer message (SES event, SMS delivery log)."""
        updated = self._outbox.update_state(provider_id, state, error)
        if updated is not None and state in (DeliveryState.FAILED, DeliveryState.BOUNCED):
            logger.warning("customer message not delivered", extra={"case_id": updated.case_id,
                                                                    "medium": updated.medium.value})
            count("CustomerMessagesFailed", medium=updated.medium.value)
        return updated

    def messages(self, case_id: str) -> list[CustomerMessageView]:
        """The case's customer messages as staff see them (addresses masked), oldest first."""
        return [m.view() for m in sorted(self._outbox.messages(case_id), key=lambda m: m.message_id)]

