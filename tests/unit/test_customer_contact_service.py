"""The customer-contact service's rules on in-memory fakes of its ports (tests/fakes.py): consent,
the SMS rules and the per-number allowance, what a failing provider leaves due, a message a dead
sender had tried, and the survey's one reminder. No moto: milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain import commands as cmd
from chalicelib.domain import lifecycle
from chalicelib.domain.calendar import UnitClock, WorkingCalendar
from chalicelib.domain.customer_messages import CustomerMessageKind
from chalicelib.domain.delivery import DeliveryState, Medium
from chalicelib.domain.models import Case
from chalicelib.services.customer_contact import CustomerContactService
from chalicelib.services.notifier import Refused, TryLater
from tests.conftest import complaint
from tests.fakes import InMemoryCustomerOutbox, InMemoryUnits, RecordingSender, sample_staffed_units

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
CLOCK = UnitClock("Asia/Shanghai", WorkingCalendar("CN"))


class Desk:
    def __init__(self) -> None:
        self.now = NOW
        self.outbox, self.sms, self.email = InMemoryCustomerOutbox(), RecordingSender(), RecordingSender()
        self.service = CustomerContactService(self.outbox, self.sms, self.email,
                                              InMemoryUnits(list(sample_staffed_units().values())),
                                              lambda: self.now, "https://cd.example.cn", sms_per_number_per_day=3)

    def receipt(self, **customer: Any) -> Case:
        """A hotline case of a customer who agreed (by default) to be texted, with its receipt sent."""
        body = complaint(customer={"name": "Wang Fang", "phone": "13800001234", "contact_consent": True,
                                   "language": "zh", **customer})
        case, _ = lifecycle.register(f"CD-TEST-{len(self.outbox.stored):04d}-AAAA",
                                     cmd.IntakeRequest.model_validate(body), self.now, "agent 7", CLOCK)
        outgoing, _ = self.service.at_intake(case, None)
        self.outbox.write(outgoing.writes)
        self.service.send(outgoing.messages)
        return case


@pytest.fixture
def desk() -> Desk:
    return Desk()


def test_no_consent_no_message_and_consent_gets_the_receipt_by_sms(desk: Desk) -> None:
    desk.receipt(contact_consent=False)
    assert desk.sms.sent == [] and desk.outbox.stored == {}
    case = desk.receipt()
    ((to, text),) = desk.sms.sent
    assert to == "+8613800001234" and text.startswith("【投诉台】已登记,") and "/track#" in text
    (message,) = desk.outbox.messages(case.case_id)
    assert (message.kind, message.state, message.provider_id) == (CustomerMessageKind.RECEIPT, DeliveryState.SENT,
                                                                  "provider-1")


def test_a_number_gets_at_most_the_days_allowance_of_sms(desk: Desk) -> None:
    for _ in range(5):
        desk.receipt()
    assert len(desk.sms.sent) == 3  # the rest were refused before any provider was asked
    desk.now += timedelta(days=1)
    desk.receipt()
    assert len(desk.sms.sent) == 4  # a new UTC day, a new allowance


def test_a_foreign_or_non_mobile_number_is_never_texted(desk: Desk) -> None:
    for phone in ("+44 7911 123456", "400 812 0001", "0571 8800 0002"):
        desk.receipt(phone=phone)
    assert desk.sms.sent == []


def test_a_provider_that_fails_leaves_the_message_due_and_the_next_run_sends_it(desk: Desk) -> None:
    desk.sms.fail = [TryLater("throttled")]
    case = desk.receipt()
    (waiting,) = desk.outbox.messages(case.case_id)
    assert (waiting.state, waiting.attempts) == (DeliveryState.QUEUED, 1) and desk.sms.sent == []
    assert desk.service.run_due().sent == 0  # not before its minute
    desk.now += timedelta(minutes=1)
    assert desk.service.run_due().sent == 1 and len(desk.sms.sent) == 1
    assert desk.outbox.messages(case.case_id)[0].state is DeliveryState.SENT


def test_a_refused_message_is_failed_not_retried(desk: Desk) -> None:
    desk.sms.fail = [Refused("invalid number")]
    case = desk.receipt()
    assert desk.outbox.messages(case.case_id)[0].state is DeliveryState.FAILED
    desk.now += timedelta(minutes=5)
    assert desk.service.run_due().sent == 0


def test_a_message_a_dead_sender_had_tried_is_unconfirmed_never_sent_twice(desk: Desk) -> None:
    body = complaint(customer={"name": "Wang Fang", "phone": "13800001234", "contact_consent": True})
    case, _ = lifecycle.register("CD-TEST-DEAD-AAAA", cmd.IntakeRequest.model_validate(body), NOW, "agent 7", CLOCK)
    outgoing, _ = desk.service.at_intake(case, None)
    desk.outbox.write(outgoing.writes)
    (message,) = outgoing.messages
    desk.outbox.claim_message(message, NOW + timedelta(minutes=5))
    desk.outbox.attempting(message)  # … and the sender died before recording what the provider said
    desk.now += timedelta(minutes=6)
    report = desk.service.run_due()
    assert (report.unconfirmed, report.sent, desk.sms.sent) == (1, 0, [])
    assert desk.outbox.messages(case.case_id)[0].state is DeliveryState.UNCONFIRMED


def test_the_answer_by_email_when_the_customer_gave_only_an_address(desk: Desk) -> None:
    case = desk.receipt(phone="0571 8800 0002", email="wang.fang@example.com", language="en")
    assert [m.medium for m in desk.outbox.messages(case.case_id)] == [Medium.EMAIL]
    assert desk.email.sent[0][0] == "wang.fang@example.com" and desk.email.sent[0][1].startswith("We have your case")
