"""Delivery of escalations to people: what waits for a person, and the state of each (escalation,
person, channel) from queued to delivered, failed or bounced. Pure models, no AWS."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Medium(StrEnum):
    SMS = "sms"
    EMAIL = "email"


class DeliveryState(StrEnum):
    QUEUED = "queued"          # waiting in the person's digest window
    SENT = "sent"              # the provider accepted it (its message id is kept)
    DELIVERED = "delivered"    # the provider reported it reached the phone or mailbox
    FAILED = "failed"          # refused or undeliverable; the fallback (email) is recorded beside it
    BOUNCED = "bounced"        # the mailbox does not exist or refused it
    UNCONFIRMED = "unconfirmed"  # the notifier stopped between sending and recording: not resent


class Pending(BaseModel):
    """One escalation waiting to be told to one person (their digest collects these)."""

    model_config = ConfigDict(frozen=True)

    staff_id: str
    escalation_key: str
    case_id: str
    clock: str
    level: str
    case_unit_id: str
    unit_name: str
    time_zone: str
    due_at: datetime | None
    late_levels: tuple[str, ...] = ()
    queued_at: datetime

    @property
    def urgent(self) -> bool:
        """Rulebook §2: a media, regulator or risk-language notice is told at once, not with the
        next digest."""
        return self.level.startswith("notice-")


class Delivery(BaseModel):
    """One message to one person on one channel about one escalation, and what became of it."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    escalation_key: str
    staff_id: str
    name: str
    medium: Medium
    state: DeliveryState
    at: datetime
    language: str
    text: str
    segments: int | None = None
    provider_id: str | None = None
    error: str | None = None
    fallback_from: Medium | None = None
    digest_of: int = 1

    @property
    def level(self) -> str:
        return self.escalation_key.rsplit("/", 1)[-1]


class SentEscalation(BaseModel):
    """One escalation a digest told a person about."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    clock: str
    level: str
    unit_name: str


class SentMessage(BaseModel):
    """One SMS or email a member of staff was sent — a digest of escalations or a unit's report —
    as their inbox lists it (and, locally, the outbox): to which address, in which language, the
    text, and what became of it."""

    model_config = ConfigDict(frozen=True)

    medium: Medium
    to: str | None = None
    language: str
    text: str
    state: DeliveryState
    segments: int | None = None
    provider_id: str | None = None
    error: str | None = None
    cases: list[str] = []
    escalations: list[SentEscalation] = []
    report: str | None = None       # a report's key (`daily-register#<unit>#<date>`)
    at: datetime | None = None      # when it was listed
    position: str | None = None     # its place in the person's list, to read on after it
