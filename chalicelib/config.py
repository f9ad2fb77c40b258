"""Settings read once from the environment (set per stage in .chalice/config.json)."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    stage: str = "local"
    table_name: str = "complaint-desk-local"
    escalation_topic_arn: str = ""
    archive_bucket: str = ""
    max_body_bytes: int = 64 * 1024
    idempotency_ttl_seconds: int = 24 * 3600
    default_page_size: int = 25
    max_page_size: int = 100


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
