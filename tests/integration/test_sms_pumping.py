"""No SMS-pumping hole: the public form cannot make us text numbers, and no channel texts a foreign,
premium-rate or toll-free number, or one number more than the daily cap. Every refusal is logged
with the number masked. `pytest -s` prints the figures."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from chalicelib.config import get_settings
from tests.conftest import HOTLINE_KEY, JSON, complaint

ANONYMOUS = {**JSON, "Authorization": ""}
HOTLINE = {**JSON, "x-api-key": HOTLINE_KEY}
# What an SMS pumper types: foreign mobiles and premium / personal / satellite numbers abroad, and
# premium-looking numbers at home (China's 400 and 800 service numbers). The unit is in China.
FOREIGN_OR_PREMIUM = [
    *(f"+44 7911 1{n:05d}" for n in range(10)),        # UK (and Channel Islands) mobiles
    *(f"+44 909 879 {n:04d}" for n in range(5)),       # UK premium rate
    *(f"+44 70 1234 {n:04d}" for n in range(5)),       # UK personal numbers (a pumping favourite)
    *(f"+371 901 2{n:04d}" for n in range(5)),         # Latvian premium rate
    *(f"+234 803 123 {n:04d}" for n in range(5)),      # Nigerian mobiles
    *(f"+7 916 123 {n:04d}" for n in range(5)),        # Russian mobiles
    *(f"+882 16{n:06d}" for n in range(5)),            # international networks (satellite)
    *(f"400 812 {n:04d}" for n in range(5)),           # China's 400 service numbers
    *(f"800 812 {n:04d}" for n in range(5)),           # China's 800 toll-free numbers
]
ONE_NUMBER = "13800001234"


def sms_sent() -> list[tuple[str, str]]:
    return list(sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values())


def filing(phone: str, n: int) -> dict[str, Any]:
    body = complaint(customer={"name": f"Caller {n}", "phone": phone, "contact_consent": True})
    body.pop("channel")
    return body


@pytest.fixture
def open_form(api: Any) -> Any:
    """The web form without its per-address limit: these filings come from many addresses."""
    from chalicelib.api.http import RateLimiter
    from chalicelib.api.routes import public

    public.public_filings = RateLimiter(10_000)
    return api


def test_seventy_public_filings_and_seventy_hotline_calls_text_only_what_the_limits_allow(
        open_form: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    api = open_form
    cap = get_settings().customer_sms_per_number_per_day
    assert len(set(FOREIGN_OR_PREMIUM)) == 50
    for n, phone in enumerate(FOREIGN_OR_PREMIUM):
        assert api.post("/public/cases", headers=ANONYMOUS, body=json.dumps(filing(phone, n))).status_code == 201
    for n in range(20):
        assert api.post("/public/cases", headers=ANONYMOUS, body=json.dumps(filing(ONE_NUMBER, n))).status_code == 201
    public_sms = len(sms_sent())
    # the same numbers through a staff channel (a hotline system's key, or staff typing what a caller says)
    for n, phone in enumerate([*FOREIGN_OR_PREMIUM, *[ONE_NUMBER] * 20]):
        body = {**filing(phone, n), "receiver": "agent 7"}
        assert api.post("/intake/hotline", headers=HOTLINE, body=json.dumps(body)).status_code == 201
    hotline_sms = sms_sent()[public_sms:]

    assert public_sms == 0  # a public form never texts: its numbers are unconfirmed (email instead)
    assert [to for to, _ in hotline_sms] == ["+8613800001234"] * cap  # only the home mobile, only `cap` a day

    refusals = [vars(r) for r in caplog.records if r.getMessage() == "customer SMS refused"]
    reasons: dict[str, int] = {}
    for line in refusals:
        reasons[line["reason"]] = reasons.get(line["reason"], 0) + 1
    # every line logged, before any output masking: its message and the fields the code added
    # (not logging's own timestamps and ids, whose digits can happen to match a number's)
    standard = set(vars(logging.makeLogRecord({})))
    out = "\n".join(f"{r.getMessage()} {({k: v for k, v in vars(r).items() if k not in standard})}"
                     for r in caplog.records)
    assert reasons == {"web-form": 70, "not-the-units-country": 40, "not-a-mobile-number": 10,
                       "daily-cap-reached": 20 - cap}
    for phone in {*FOREIGN_OR_PREMIUM, ONE_NUMBER}:
        digits = "".join(ch for ch in phone if ch.isdigit())
        assert digits[-7:] not in out, f"a full number reached the log: …{digits[-4:]}"
    assert all(line["to"].startswith("******") for line in refusals)

    with capsys.disabled():
        print(f"\nSMS-pumping limits: web form → no SMS (email only); SMS only to mobile numbers of the unit's "
              f"country; at most {cap} a number a UTC day")
        print(f"70 public filings (50 foreign/premium numbers + 20 with one number): {public_sms} SMS sent")
        print(f"70 hotline calls with the same numbers: {len(hotline_sms)} SMS sent (all to the one home mobile)")
        print(f"refusals logged (number masked): {len(refusals)} {dict(sorted(reasons.items()))}")
