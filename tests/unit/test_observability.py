"""No phone number in clear in any log line."""

from __future__ import annotations

import io

import pytest

from chalicelib.domain.identifiers import is_case_id, new_case_id
from chalicelib.observability import logger, mask_phone_numbers


@pytest.mark.parametrize("phone", ["13800001234", "+86 138 0000 1234", "010-6512-3456", "(0571) 88000001",
                                   "0571-12-345678", "2026-11-2345"])
def test_phone_numbers_are_masked_to_their_last_two_digits(phone: str) -> None:
    masked = mask_phone_numbers(f"caller {phone} rang")
    assert phone not in masked
    assert masked.endswith(f"{''.join(c for c in phone if c.isdigit())[-2:]} rang")


@pytest.mark.parametrize("moment", ["2027-11-23", "2027-11-23T04:00:00+00:00", "2026-11-23 09:15",
                                    "2026-11-23T04:00:00.123456Z"])
def test_dates_and_times_are_not_taken_for_phone_numbers(moment: str) -> None:
    assert mask_phone_numbers(f"retained until {moment}.") == f"retained until {moment}."


def test_case_numbers_never_look_like_phone_numbers() -> None:
    for _ in range(2000):
        case_id = new_case_id()
        assert is_case_id(case_id)
        assert mask_phone_numbers(case_id) == case_id


def test_logger_masks_messages_and_extra_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    written = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", written)
    logger.info("call from 13800001234", extra={"contact": "+86 139 1234 5678"})
    out = written.getvalue()
    assert "13800001234" not in out and "139 1234 5678" not in out
    assert "******34" in out and "******78" in out


@pytest.mark.parametrize("text", [
    "customer={'name': 'Ouyang Xiuying', 'phone': '13912345678'}",
    '{"customer": {"name":"Ouyang Xiuying","phone":"13912345678"}}',
])
def test_names_quoted_from_a_record_are_hidden(text: str) -> None:
    masked = mask_phone_numbers(text)
    assert "Ouyang" not in masked and "13912345678" not in masked and "***" in masked


def test_a_staff_id_stays_readable_in_the_log_while_a_phone_beside_it_is_masked() -> None:
    from chalicelib.observability import mask_phone_numbers

    line = mask_phone_numbers("staff 173564af-3e0f-5b1c-97a6-b6ca91e4aaa4 phone +86 138 0000 0003")
    assert "173564af-3e0f-5b1c-97a6-b6ca91e4aaa4" in line and "138" not in line
