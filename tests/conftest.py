"""Fixtures: a moto-backed AWS with resources provisioned from infra/resources.yaml and the sample
organisation, and the Chalice app wired to it through bootstrap."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib import bootstrap
from chalicelib.config import Settings, get_settings
from chalicelib.domain.models import Unit
from local.provision import provision, stage_environment
from local.stack import SAMPLE_ORGANISATION

STAGE = "test"
# The test run's own token issuer (local/issuer.py): a key of its own, away from the local stack's.
ISSUER_DIR = Path(tempfile.mkdtemp(prefix="complaint-desk-issuer-"))
HOTLINE_KEY = "test-hotline-key"
ALL_ROLES = ["agent", "unit-manager", "branch-supervisor", "auditor", "admin"]


def staff_token(name: str = "Li Na", roles: list[str] | None = None, unit_id: str = "branch-hz",
                **claims: Any) -> str:
    """A signed ID token; by default one that may do everything everywhere (tests of what a role
    or a unit may not do ask for less)."""
    from local.issuer import mint

    return mint(name, roles or ALL_ROLES, unit_id, key_dir=ISSUER_DIR, **claims)


class SignedInClient:
    """Chalice's test client, signed in as the body's `actor` (else Li Na) unless the test sends its
    own Authorization header (an empty one sends none)."""

    def __init__(self, http: Any) -> None:
        self._http = http

    def _call(self, method: str, path: str, headers: dict[str, str] | None = None, body: Any = b"") -> Any:
        headers = dict(headers or {})
        if headers.get("Authorization") == "":
            headers.pop("Authorization")
        elif "Authorization" not in headers:
            actor = None
            try:
                parsed = json.loads(body) if body else None
                actor = parsed.get("actor") if isinstance(parsed, dict) else None
            except (ValueError, UnicodeDecodeError, RecursionError):
                pass
            headers["Authorization"] = f"Bearer {staff_token(actor if isinstance(actor, str) else 'Li Na')}"
        return getattr(self._http, method)(path, headers=headers, body=body)

    def get(self, path: str, headers: dict[str, str] | None = None) -> Any:
        return self._call("get", path, headers)

    def post(self, path: str, headers: dict[str, str] | None = None, body: Any = b"") -> Any:
        return self._call("post", path, headers, body)

    def put(self, path: str, headers: dict[str, str] | None = None, body: Any = b"") -> Any:
        return self._call("put", path, headers, body)

    def request(self, method: str, path: str, headers: dict[str, str] | None = None, body: Any = b"") -> Any:
        return self._call(method.lower(), path, headers, body)


class FakeClock:
    """A settable `now` for services, so a test can step through hours and days."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@contextmanager
def served_dynamodb(table: str) -> Iterator[Any]:
    """A client of the local emulator running as a server (one request at a time, as the local stack
    serves it) with an empty `pk`/`sk` table: for tests that need real concurrent requests."""
    from local.harness import free_port
    from local.stack import start_emulator, stop_emulator

    port = free_port()
    emulator = start_emulator(port)
    try:
        client = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                              aws_access_key_id="x", aws_secret_access_key="x")
        client.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                  {"AttributeName": "sk", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                       {"AttributeName": "sk", "KeyType": "RANGE"}])
        yield client
    finally:
        stop_emulator(emulator)


def _clear_service_caches() -> None:
    get_settings.cache_clear()
    for built in (bootstrap.case_service, bootstrap.escalation_service, bootstrap.archive_service,
                  bootstrap.organisation_service, bootstrap.unit_registry, bootstrap.token_verifier,
                  bootstrap.staff_writes):
        built.cache_clear()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        from local.issuer import auth_environment

        env = {**stage_environment(provision(boto3.session.Session(region_name="us-east-1"), STAGE)),
               **auth_environment(ISSUER_DIR)}
        env["INTAKE_API_KEYS"] = HOTLINE_KEY
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        _clear_service_caches()
        from chalicelib.adapters.dynamodb import DynamoUnitRegistry

        registry = DynamoUnitRegistry(boto3.client("dynamodb"), env["TABLE_NAME"])
        for unit in json.loads(SAMPLE_ORGANISATION.read_text()):
            registry.put(Unit.model_validate(unit))
        yield env
        _clear_service_caches()


@pytest.fixture
def settings(aws: dict[str, str]) -> Settings:
    return get_settings()


@pytest.fixture
def api(aws: dict[str, str]) -> Iterator[Any]:
    from chalice.test import Client

    import app as app_module
    from chalicelib.api.http import RateLimiter

    # each test starts with a fresh allowance of public filings
    app_module.public_filings = RateLimiter(get_settings().public_requests_per_minute)
    app_module.local_api_keys = frozenset({HOTLINE_KEY})
    with Client(app_module.app) as client:
        yield SignedInClient(client.http)


@pytest.fixture
def staff_writes_per_minute(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Sets the per-user write limit for one test (`staff_writes_per_minute(3)`): a test of roles
    that sends hundreds of changes as one user lifts it, a test of the limit lowers it."""
    def limit(per_minute: int) -> None:
        monkeypatch.setenv("STAFF_WRITES_PER_MINUTE", str(per_minute))
        get_settings.cache_clear()
        bootstrap.staff_writes.cache_clear()

    yield limit
    get_settings.cache_clear()
    bootstrap.staff_writes.cache_clear()


def complaint(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "complaint", "channel": "hotline", "unit_id": "store-xh-01",
        "customer": {"name": "Wang Fang", "phone": "13800001234"},
        "five_w": {"when": "yesterday 15:00", "where": "checkout 2", "who": "cashier Liu",
                   "what": "charged twice for one carton of milk", "how": "scanned twice"},
        "cause": {"category": "service", "detail": "cashier error"},
        "expectation": "refund of the double charge and an apology",
    }
    body.update(overrides)
    return body


JSON = {"Content-Type": "application/json"}
