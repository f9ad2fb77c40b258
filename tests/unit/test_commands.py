"""What clients may send: the intake's rules across fields (rulebook §1, §2) and strict commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from chalicelib.domain import commands as cmd
from tests.conftest import complaint

NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


def violations(**overrides: object) -> dict[str, str]:
    return cmd.intake_rule_violations(cmd.IntakeRequest.model_validate(complaint(**overrides)), NOW)


def test_a_complete_hotline_complaint_breaks_no_rule() -> None:
    assert violations() == {}


def test_a_hotline_call_records_all_of_the_5w_and_a_complaint_its_cause() -> None:
    problems = violations(five_w={"what": "charged twice"}, cause=None)
    assert set(problems) == {"five_w.when", "five_w.where", "five_w.who", "five_w.how", "cause"}


@pytest.mark.parametrize(("received", "reason"), [
    (NOW + timedelta(minutes=10), "cannot be in the future"),
    (NOW - timedelta(days=31), "at most 30 days in the past"),
    (datetime(1999, 12, 31, tzinfo=UTC), "cannot be before 2000-01-01"),
])
def test_a_back_dated_receipt_is_bounded(received: datetime, reason: str) -> None:
    assert reason in violations(received_at=received.isoformat())["received_at"]


def test_a_receipt_within_the_window_is_accepted_and_the_web_form_may_not_set_one() -> None:
    assert violations(received_at=(NOW - timedelta(days=29)).isoformat()) == {}
    assert "leave it out" in violations(channel="web", received_at=NOW.isoformat())["received_at"]


def test_commands_refuse_fields_they_do_not_know() -> None:
    with pytest.raises(ValidationError, match="extra"):
        cmd.Resolve.model_validate({"actor": "Li Na", "result": "refunded", "refund_all": True})
