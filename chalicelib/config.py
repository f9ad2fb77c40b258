"""Settings read once from the environment (set per stage in .chalice/config.json)."""

from __future__ import annotations

import os
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib.domain.escalation import Ladder

if TYPE_CHECKING:
    from chalicelib.domain.archive import ArchivePolicy


class Settings(BaseModel):
    """Each setting is the environment variable of its name in capitals (`TABLE_NAME`), unless
    given (tests, benchmarks). Plain pydantic: pydantic-settings imports asyncio, a quarter of
    the API's cold import for nothing it would do here."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, given: Any) -> Any:
        found = {name: os.environ[name.upper()] for name in cls.model_fields if name.upper() in os.environ}
        return {**found, **given} if isinstance(given, dict) else given

    stage: str = "local"
    table_name: str = "complaint-desk-local"
    escalation_topic_arn: str = ""
    archive_bucket: str = ""
    # Staff tokens: the issuer and audience (Cognito user pool and app client in AWS, the
    # local issuer locally); the keys are the issuer's JWKS unless a URL is given.
    auth_issuer: str = ""
    auth_audience: str = ""
    auth_jwks_url: str = ""
    # The longest ID token the user pool issues (its app client's IdTokenValidity in
    # infra/resources.yaml): a token that claims to live longer was not issued by the pool.
    auth_max_token_seconds: int = Field(default=3600, ge=60)
    # Cognito's hosted sign-in page for the staff console (empty: the console asks for a token).
    auth_signin_url: str = ""
    max_body_bytes: int = 64 * 1024
    # A bulk staff import (JSON rows or CSV text) may be larger than any other request.
    max_import_bytes: int = 2 * 1024 * 1024
    # The Cognito user pool the staff directory keeps in step (empty: the local stand-in).
    user_pool_id: str = ""
    # The public web form: smaller bodies, and at most this many filings a minute per
    # source address in each container (API Gateway throttles the method as a whole in AWS).
    public_max_body_bytes: int = 16 * 1024
    # Keys hotline systems may use, checked by the app only where API Gateway does not check them
    # (the local stack, tests); empty in AWS.
    intake_api_keys: str = ""
    public_requests_per_minute: int = Field(default=10, ge=1)
    # Each staff user may register cases and take case actions at most this many times a minute,
    # counted in the table so every container sees the same count (429 with Retry-After beyond).
    staff_writes_per_minute: int = Field(default=60, ge=1)
    idempotency_ttl_seconds: int = 24 * 3600
    default_page_size: int = 25
    max_page_size: int = 100
    # Escalation ladder: warn when this share of a clock has run; then breach; then one unit up
    # every `escalation_step_hours` while still breached, up to the top of the organisation; then
    # a daily reminder to the top at this unit-local hour until acknowledged (-1: no reminders).
    escalation_warning_share: float = Field(default=0.75, gt=0, lt=1)
    escalation_step_hours: float = Field(default=4.0, gt=0)
    escalation_reminder_hour: int = Field(default=8, ge=-1, le=23)
    # Staff may back-date a receipt (a letter opened today, a call logged late) this far at most.
    backdate_max_days: int = Field(default=30, ge=1, le=366)
    # A claimed escalation whose run has not recorded it within the lease is reported, not resent.
    escalation_lease_seconds: int = 300
    escalation_max_items_per_run: int = 50_000
    escalation_time_budget_seconds: float = 600.0

    # Archive: a closed case is archived once it has not been reopened for the settle
    # period; its file is locked in compliance mode for the retention; the table's hot copy expires
    # `archive_hot_copy_days` after the archive is confirmed.
    archive_settle_hours: float = Field(default=72.0, ge=0)
    archive_retention_years: int = Field(default=1, ge=1, le=100)
    archive_important_retention_years: int = Field(default=10, ge=1, le=100)
    archive_hot_copy_days: float = Field(default=90.0, gt=0)
    archive_url_seconds: int = Field(default=300, ge=1, le=3600)
    archive_max_cases_per_run: int = 2_000
    archive_time_budget_seconds: float = 600.0

    # Delivery of escalations to people: the staff console's address as links in SMS and email
    # carry it (keep it short: a Chinese SMS has 70 characters), the verified SES sender and its
    # configuration set (whose events are the delivery receipts), sender ids per phone prefix
    # (JSON, e.g. {"+44": "ComplaintDk"}; none for China), at most one SMS per person per window,
    # and how long a burst is gathered into one digest.
    console_link_base: str = "http://127.0.0.1:8000"
    ses_sender: str = "complaint-desk@example.com"
    ses_configuration_set: str = "complaint-desk"
    sms_sender_ids: str = "{}"
    digest_window_minutes: float = Field(default=10.0, gt=0)
    digest_gather_seconds: float = Field(default=60.0, ge=0)

    # Messages to customers (receipt, answer, satisfaction survey): at most this many SMS per
    # customer number per UTC day (an SMS-pumping guard; receipts fall back to email beyond it),
    # and the survey's one reminder this many days after the answer if no rating came. Their links
    # use `console_link_base` (keep it at most 24 characters for one-segment Chinese SMS).
    customer_sms_per_number_per_day: int = Field(default=3, ge=0, le=50)
    survey_reminder_days: float = Field(default=3.0, gt=0, le=60)

    # Spot checks: a mismatch orders rectification within this many working days.
    rectify_working_days: int = Field(default=5, ge=1, le=30)
    # Rulebook §5 (follow up later): a resolved complaint's follow-up contact is due by the end of
    # this many days after the day of resolution, unit-local.
    follow_up_days: int = Field(default=7, ge=1, le=60)

    # Repeat complainants: the Secrets Manager secret holding the HMAC key of the customer index (a
    # keyed hash of each customer's normalised phone number), read once per container. Empty: cases
    # are not linked. A new key starts the index afresh.
    customer_key_secret_arn: str = ""

    def jwks_url(self) -> str:
        return self.auth_jwks_url or f"{self.auth_issuer}/.well-known/jwks.json"

    def archive_policy(self) -> ArchivePolicy:
        from chalicelib.domain.archive import ArchivePolicy  # the archive's models load only where used

        return ArchivePolicy(settle=timedelta(hours=self.archive_settle_hours),
                             retention_years=self.archive_retention_years,
                             important_retention_years=self.archive_important_retention_years,
                             hot_copy=timedelta(days=self.archive_hot_copy_days))

    def ladder(self) -> Ladder:
        return Ladder(warning_share=self.escalation_warning_share,
                      step_delay=timedelta(hours=self.escalation_step_hours),
                      reminder_hour=None if self.escalation_reminder_hour < 0 else self.escalation_reminder_hour)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
