"""Repeat complainants (rulebook §5: a customer's value and history weigh in the remedy): the
cases of one customer are linked by a keyed hash of their phone number, normalised to E.164 in
the case's unit's country, so `138 0000 1234` and `+86 13800001234` are one customer. The key is
an HMAC with a secret from configuration: without the secret nobody can test a phone number
against the index, and no raw phone number is stored in it. Pure: no AWS."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime
from functools import lru_cache

from pydantic import BaseModel, ConfigDict

from chalicelib.domain.calendar import country_of
from chalicelib.domain.models import CaseType, ContactLanguage, Customer


def normalised_phone(raw: str, calendar: str) -> str:
    """E.164 read in the unit's country; a number the numbering plan does not know is kept as its
    digits, so the same typing still links."""
    from chalicelib.domain.staff import e164

    try:
        return e164(raw, country_of(calendar))
    except ValueError:
        return "digits:" + re.sub(r"\D", "", raw)


@lru_cache(maxsize=256)
def customer_key(raw_phone: str, calendar: str, secret: bytes) -> str:
    """HMAC-SHA256 of the normalised phone number under the configured secret, hex (an intake
    asks twice: for the customer's earlier cases and to file the new one)."""
    return hmac.new(secret, normalised_phone(raw_phone, calendar).encode(), hashlib.sha256).hexdigest()


def in_the_units_language(customer: Customer, calendar: str) -> Customer:
    """The language a customer is written to when nobody said: Chinese for a unit in China,
    English elsewhere (a London store's customer is not texted in Chinese by default)."""
    if "language" in customer.model_fields_set:
        return customer
    spoken = ContactLanguage.ZH if country_of(calendar) == "CN" else ContactLanguage.EN
    return customer.model_copy(update={"language": spoken})


class EarlierCase(BaseModel):
    """Another case of the same customer, as the case page lists it: `status` is `archived` when
    only the archive holds it now."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    received_at: datetime
    type: CaseType
    status: str
    unit_id: str
