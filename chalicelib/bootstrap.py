"""Builds the services with their real adapters, once per cold start; tests pass their own."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from chalicelib.config import Settings, get_settings
from chalicelib.services.cases import CaseService


def utc_now() -> datetime:
    return datetime.now(UTC)


def dynamodb_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 5}))


def intake_idempotency(settings: Settings, client: Any) -> Any:
    """Powertools idempotency, storing its records in the case table under `IDEMPOTENCY#intake`."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    store = DynamoDBPersistenceLayer(
        table_name=settings.table_name, key_attr="pk", sort_key_attr="sk",
        static_pk_value="IDEMPOTENCY#intake", expiry_attr="expires_at", boto3_client=client,
    )
    config = IdempotencyConfig(event_key_jmespath="key", payload_validation_jmespath="payload",
                               expires_after_seconds=settings.idempotency_ttl_seconds,
                               raise_on_no_idempotency_key=True)

    def wrap(func: Any) -> Any:
        return idempotent_function(data_keyword_argument="request", persistence_store=store,
                                   config=config)(func)

    wrap.config = config  # type: ignore[attr-defined]
    return wrap


def build_case_service(settings: Settings, client: Any | None = None,
                       now: Any = utc_now) -> CaseService:
    from chalicelib.adapters.dynamodb import DynamoCaseRepository, DynamoUnitRegistry

    client = client or dynamodb_client()
    return CaseService(
        cases=DynamoCaseRepository(client, settings.table_name),
        units=DynamoUnitRegistry(client, settings.table_name),
        now=now,
        idempotency=intake_idempotency(settings, client),
    )


@lru_cache(maxsize=1)
def case_service() -> CaseService:
    return build_case_service(get_settings())
