"""The local server's access log masks what would let a reader act as a complainant or staff."""

from __future__ import annotations

import pytest

from local.access_log import mask_secrets

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"


@pytest.mark.parametrize("line, secret", [
    ('"GET /public/track/Zx8_kq-1aBcDeFgHiJkLmNoPqRsTuVwX HTTP/1.1" 200 -', "Zx8_kq-1aBcDeFgHiJkLmNoPqRsTuVwX"),
    ('"GET /public/track/abc?x=1 HTTP/1.1" 404 -', "abc"),
    ('"GET /console?code=one-time-code&state=s7 HTTP/1.1" 200 -', "one-time-code"),
    ('"GET /console?state=s7&code=one-time-code HTTP/1.1" 200 -', "s7"),
    (f'"GET /console?id_token={JWT} HTTP/1.1" 200 -', JWT),
    (f"Authorization: Bearer {JWT}", JWT),
    ("Authorization: Bearer opaque-staff-token", "opaque-staff-token"),
    (f'"GET /x/{JWT} HTTP/1.1" 404 -', JWT),
])
def test_tokens_and_codes_are_masked(line: str, secret: str) -> None:
    masked = mask_secrets(line)
    assert secret not in masked and "***" in masked


def test_ordinary_lines_are_kept() -> None:
    line = '"GET /cases?unit_id=store-xh-01&limit=20 HTTP/1.1" 200 -'
    assert mask_secrets(line) == line
