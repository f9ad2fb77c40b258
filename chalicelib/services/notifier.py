"""The notifier: escalations arrive from the SNS topic (through a queue); each is for people of the
staff directory, who get it by SMS and email in their language, at most one SMS per window — what
arrives inside a window becomes one digest SMS and one digest email. Every (escalation, person,
channel) is recorded with its state and provider id; an SMS that fails, or a person without a
phone, falls back to email, and the fallback is recorded.

Failure policy, as for the escalation run: a person's digest is claimed with a lease; before each
channel is tried the attempt is written down, so a notifier that dies is retried for what it had
not tried yet, and what it had tried but not recorded is reported unconfirmed, never sent twice."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.delivery import Delivery, DeliveryState, Medium, Pending, SentEscalation, SentMessage
from chalicelib.domain.messages import Item, Rendered, render
from chalicelib.domain.staff import StaffMember
from chalicelib.observability import count, logger
from chalicelib.services.ports import DeliveryStore, DigestClaim, EmailSender, People, SmsSender

# A report listed in a person's inbox shows its start (the email has it whole).
SHOWN_CHARS = 4000


class Refused(Exception):
    """The provider refused this one message (an invalid or opted-out number, a rejected address)."""


class TryLater(Exception):
    """The provider did not take the message now (throttled, unavailable): nothing was sent."""


@dataclass
class NotifyReport:
    queued: int = 0
    people: int = 0
    sms: int = 0
    emails: int = 0
    failed: int = 0
    fallbacks: int = 0
    unconfirmed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class NotifierService:
    def __init__(self, store: DeliveryStore, sms: SmsSender, email: EmailSender, people: People,
                 now: Callable[[], datetime], link_base: str, window: timedelta = timedelta(minutes=10),
                 gather: timedelta = timedelta(seconds=60), lease: timedelta = timedelta(minutes=5),
                 max_people_per_run: int = 1000) -> None:
        self._store = store
        self._sms = sms
        self._email = email
        self._people = people
        self._now = now
        self._link_base = link_base
        self._window = window
        self._gather = gather
        self._lease = lease
        self._max_people = max_people_per_run

    def accept(self, payloads: Sequence[dict[str, Any]]) -> NotifyReport:
        """What the topic carries: an escalation is queued in each recipient's digest (a
        redelivered message queues nothing twice); a unit's report is emailed to each of its
        managers. Then whatever is due goes out."""
        now = self._now()
        escalations = [p for p in payloads if p.get("kind") == "escalation"]
        pendings = [Pending(staff_id=staff_id, escalation_key=esc["key"], case_id=esc["case_id"], clock=esc["clock"],
                            level=esc["level"], case_unit_id=esc["case_unit_id"], unit_name=esc["unit_name"],
                            time_zone=esc["time_zone"], due_at=esc.get("due_at"),
                            late_levels=tuple(esc.get("late_levels", ())), queued_at=now)
                    for esc in escalations for staff_id in esc.get("recipients", ())]
        report = NotifyReport(queued=self._store.enqueue(pendings, now, self._gather, self._window))
        for payload in payloads:
            if payload.get("kind") == "report":
                self._email_report(payload, report)
        return self.flush(report)

    def _email_report(self, payload: dict[str, Any], report: NotifyReport) -> None:
        """A daily register or weekly report: long, so by email only, to each manager of the unit,
        once each however often the queue delivers it, and listed with what else they were sent."""
        for staff_id in payload.get("recipients", ()):
            person = self._people.get(staff_id)
            if person is None or not person.active or not person.email:
                continue
            key = str(payload.get("key", "report"))
            if not self._store.claim_report(staff_id, key, self._now()):
                continue  # they have it already: the queue delivered the report again
            # in the person's language where the report carries it (older messages: one text)
            texts = payload.get("texts", {})
            text = texts.get(person.language.value) or texts.get("en") or payload
            subject, body = text["subject"], text["body"]
            shown = f"{subject}\n\n{body}"
            listed = SentMessage(medium=Medium.EMAIL, to=person.email, language=person.language.value,
                                 report=payload.get("key"), state=DeliveryState.SENT,
                                 text=shown if len(shown) <= SHOWN_CHARS else shown[:SHOWN_CHARS] + "…")
            try:
                provider_id = self._email.send(person.email, subject, body,
                                               f'<!doctype html><html lang="{person.language.value}"><body><pre>'
                                               f"{html.escape(body)}</pre></body></html>")
                sent = listed.model_copy(update={"provider_id": provider_id})
                report.emails += 1
            except Refused as exc:
                sent = listed.model_copy(update={"state": DeliveryState.FAILED, "error": str(exc)[:300]})
                report.failed += 1
                logger.warning("report refused by the mail provider", extra={"staff_id": staff_id,
                                                                            "error": str(exc)[:200]})
                count("NotificationsFailed", medium="email")
            except Exception:  # throttled, or unexpected: not sent, so the queue's retry sends it
                self._store.release_report(staff_id, key)
                raise
            self._store.report_done(staff_id, key)
            # in the person's list of what they were sent (their inbox; locally, the outbox); a
            # failure here must not have the queue send the report to everyone again
            try:
                self._store.record_sent(staff_id, sent, self._now(), key)
            except Exception:
                logger.exception("report sent but not listed in the person's inbox", extra={"staff_id": staff_id})
                count("SentMessageNotRecorded")

    def flush(self, report: NotifyReport | None = None) -> NotifyReport:
        """Every person whose digest is due: one SMS and one email for all that waits for them."""
        report = report or NotifyReport()
        now = self._now()
        for staff_id, due_key in self._store.due(now, self._max_people):
            claim = self._store.claim(staff_id, due_key, now, now + self._lease)
            if claim is None:
                continue  # another notifier has it
            try:
                self._deliver(claim, report)
            except TryLater as exc:
                logger.warning("provider throttled; the digest is retried in a minute",
                               extra={"staff_id": staff_id, "error": str(exc)[:200]})
                count("NotificationsThrottled")
                self._store.release(staff_id, self._now() + timedelta(minutes=1))
        if report.people:
            logger.info("notifications sent", extra=report.as_dict())
        return report

    def _deliver(self, claim: DigestClaim, report: NotifyReport) -> None:
        staff_id = claim.staff_id
        items = self._store.pendings(staff_id)
        person = self._people.get(staff_id)
        now = self._now()
        if not items:
            self._store.finish(staff_id, [], [], now, sms_sent=False, window=self._window)
            return
        report.people += 1
        if person is None or not person.active:
            deliveries = [self._record(p, person, Medium.EMAIL, None, {"state": DeliveryState.FAILED.value,
                                                                   "error": "not an active member of staff"}, 1)
                          for p in items]
            report.failed += 1
            self._store.finish(staff_id, deliveries, items, now, sms_sent=False, window=self._window)
            return
        rendered = render([_item(p) for p in items], person.language.value, self._link_base)
        earlier = set(claim.results)  # tried by a notifier that was then throttled: already counted
        sms = self._channel(claim, Medium.SMS, person.phone, lambda phone: self._sms.send(phone, rendered.sms))
        email = self._channel(claim, Medium.EMAIL, person.email,
                              lambda to: self._email.send(to, rendered.subject, rendered.text, rendered.html))
        fallback = Medium.SMS if sms["state"] not in (DeliveryState.SENT.value,) else None
        deliveries = []
        for pending in items:
            deliveries.append(self._record(pending, person, Medium.SMS, rendered, sms, len(items)))
            deliveries.append(self._record(pending, person, Medium.EMAIL, rendered, email, len(items),
                                           fallback_from=fallback if email["state"] == DeliveryState.SENT.value
                                           else None))
        fresh = {k: r for k, r in (("sms", sms), ("email", email)) if k not in earlier}
        self._tally(fresh, fallback, report)
        messages = [SentMessage(
            medium=Medium(medium), state=DeliveryState(result["state"]), provider_id=result.get("provider_id"),
            error=result.get("error"), language=rendered.language,
            to=person.phone if medium == "sms" else person.email,
            segments=rendered.segments if medium == "sms" else None,
            text=rendered.sms if medium == "sms" else f"{rendered.subject}\n\n{rendered.text}",
            cases=[p.case_id for p in items],
            escalations=[SentEscalation(case_id=p.case_id, clock=p.clock, level=p.level, unit_name=p.unit_name)
                         for p in items])
            for medium, result in fresh.items() if result["state"] != DeliveryState.FAILED.value
            or not str(result.get("error", "")).startswith("no ")]
        self._store.finish(staff_id, deliveries, items, self._now(), sms_sent=sms["state"] == "sent",
                           window=self._window, messages=messages)

    def _channel(self, claim: DigestClaim, medium: Medium, address: str | None,
                 send: Callable[[str], str]) -> dict[str, Any]:
        """One channel of one digest, tried at most once across notifier crashes."""
        if medium.value in claim.results:
            return claim.results[medium.value]
        if medium.value in claim.attempted:
            result = {"state": DeliveryState.UNCONFIRMED.value,
                      "error": "the notifier stopped after trying this and before recording it"}
            logger.error("notification unconfirmed: not resent", extra={"staff_id": claim.staff_id,
                                                                        "medium": medium.value})
            count("NotificationsUnconfirmed")
        elif not address:
            missing = "phone" if medium is Medium.SMS else "email"
            result = {"state": DeliveryState.FAILED.value, "error": f"no {missing}"}
        else:
            self._store.attempting(claim.staff_id, medium)
            try:
                result = {"state": DeliveryState.SENT.value, "provider_id": send(address)}
            except TryLater:
                self._store.not_attempted(claim.staff_id, medium)
                raise
            except Refused as exc:
                result = {"state": DeliveryState.FAILED.value, "error": str(exc)[:300]}
                logger.warning("notification refused", extra={"staff_id": claim.staff_id, "medium": medium.value,
                                                              "error": str(exc)[:200]})
        self._store.result(claim.staff_id, medium, result)
        return result

    def _record(self, pending: Pending, person: StaffMember | None, medium: Medium, rendered: Rendered | None,
                result: dict[str, Any], digest_of: int, fallback_from: Medium | None = None) -> Delivery:
        text = "" if rendered is None else rendered.sms if medium is Medium.SMS else rendered.subject
        return Delivery(case_id=pending.case_id, escalation_key=pending.escalation_key, staff_id=pending.staff_id,
                        name=person.name if person else pending.staff_id, medium=medium,
                        state=DeliveryState(result["state"]), at=self._now(),
                        language=rendered.language if rendered else "zh", text=text,
                        segments=rendered.segments if rendered and medium is Medium.SMS else None,
                        provider_id=result.get("provider_id"), error=result.get("error"),
                        fallback_from=fallback_from, digest_of=digest_of)

    def _tally(self, results: dict[str, dict[str, Any]], fallback: Medium | None, report: NotifyReport) -> None:
        """Count what this run did (`results`: the channels it tried), for the report and metrics."""
        sent = {medium for medium, r in results.items() if r["state"] == DeliveryState.SENT.value}
        report.sms += "sms" in sent
        report.emails += "email" in sent
        for medium, result in results.items():
            if result["state"] == DeliveryState.FAILED.value and not result.get("error", "").startswith("no "):
                report.failed += 1  # refused by the provider (a missing phone or address is not a failure)
                count("NotificationsFailed", medium=medium)
        if results and not sent and len(results) == 2:
            logger.error("nobody reached: neither SMS nor email went out", extra={"results": results})
            count("NotificationsUndelivered")
        if fallback is not None and "email" in sent:
            report.fallbacks += 1
        if "sms" in sent:
            count("SmsSent")

    def inbox(self, staff_id: str, limit: int = 50) -> list[SentMessage]:
        """What was sent to a person, newest first: each message with its channel, state and the
        escalations it carried (a manager's inbox, where acknowledging is one click)."""
        return list(reversed(self._store.sent_to(staff_id)))[:limit]

    def feedback(self, provider_id: str, state: DeliveryState, error: str | None = None) -> Delivery | None:
        """A provider's report (SES delivery/bounce, SMS delivery status) moves the delivery on."""
        updated = self._store.update_state(provider_id, state, error)
        if updated is not None and state in (DeliveryState.FAILED, DeliveryState.BOUNCED):
            logger.warning("notification not delivered", extra={"case_id": updated.case_id, "medium": updated.medium,
                                                                "state": state.value})
            count("NotificationsFailed", medium=updated.medium.value)
        return updated


def _item(pending: Pending) -> Item:
    return Item(case_id=pending.case_id, unit_name=pending.unit_name, clock=pending.clock, level=pending.level,
                deadline=pending.due_at, time_zone=pending.time_zone, late_levels=pending.late_levels)
