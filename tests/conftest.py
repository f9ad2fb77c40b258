"""Fixtures: a moto-backed AWS with resources provisioned from infra/resources.yaml and the sample
organisation, and the Chalice app wired to it through bootstrap."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from moto import mock_aws

from chalicelib import bootstrap
from chalicelib.config import Settings, get_settings
from chalicelib.domain.models import Unit
from local.provision import provision, stage_environment
from local.stack import SAMPLE_ORGANISATION, SAMPLE_STAFF, seed_sample_staff

STAGE = "test"
# The test run's own token issuer (local/issuer.py): a key of its own, away from the local stack's.
ISSUER_DIR = Path(tempfile.mkdtemp(prefix="complaint-desk-issuer-"))
HOTLINE_KEY = "test-hotline-key"
ALL_ROLES = ["agent", "unit-manager", "branch-supervisor", "auditor", "admin"]


def staff_token(name: str = "Li Na", roles: list[str] | None = None, unit_id: str = "branch-hz",
                enrol: bool = True, **claims: Any) -> str:
    """A signed ID token of a member of the test's staff directory: by default one who may do
    everything everywhere (tests of what a role or a unit may not do ask for less). Each (name,
    roles, unit) is its own person in the directory, enrolled as an administrator would; with
    `enrol=False` the person is left out of it."""
    import os
    import uuid

    from local.issuer import mint

    roles = roles or ALL_ROLES
    sub = claims.pop("sub", None) or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}|{','.join(sorted(roles))}|{unit_id}"))
    if enrol and os.environ.get("TABLE_NAME"):
        enrol_staff(_administrator[0] if _administrator else boto3.client("dynamodb"), os.environ["TABLE_NAME"],
                    sub, name, roles, unit_id)
    return mint(name, roles, unit_id, key_dir=ISSUER_DIR, sub=sub, **claims)


def sample_token(name: str) -> str:
    """A token of a person of the sample organisation's staff (local/sample_staff.json), with the
    unit and roles the directory gives them."""
    import uuid

    from local.issuer import mint

    person = next(p for p in json.loads(SAMPLE_STAFF.read_text()) if p["name"] == name)
    return mint(name, person["roles"], person["unit_id"], key_dir=ISSUER_DIR,
                sub=str(uuid.uuid5(uuid.NAMESPACE_URL, name)))


# The test's administrator's DynamoDB client (the `aws` fixture's credentials): people are enrolled
# with it even while a test runs the app with a function's narrower policy.
_administrator: list[Any] = []


def enrol_staff(ddb: Any, table: str, staff_id: str, name: str, roles: list[str], unit_id: str) -> None:
    """A person in the directory as the staff service stores them (tests only: no identity provider)."""
    from chalicelib.adapters.staff_directory import DynamoStaffDirectory
    from chalicelib.domain.staff import StaffMember

    DynamoStaffDirectory(ddb, table).put(StaffMember(staff_id=staff_id, name=name, unit_id=unit_id,
                                                     roles=frozenset(roles), email=None))


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
                  bootstrap.staff_service, bootstrap.report_service, bootstrap.staff_writes,
                  bootstrap.risk_phrase_service, bootstrap.customer_contact_service, bootstrap.customer_key):
        built.cache_clear()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    from local.aws_limits import aws_limits

    with mock_aws(), aws_limits():
        from local.issuer import auth_environment

        env = {**stage_environment(provision(boto3.session.Session(region_name="us-east-1"), STAGE)),
               **auth_environment(ISSUER_DIR)}
        env["INTAKE_API_KEYS"] = HOTLINE_KEY
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        _clear_service_caches()
        from chalicelib.adapters.unit_registry import DynamoUnitRegistry

        registry = DynamoUnitRegistry(boto3.client("dynamodb"), env["TABLE_NAME"])
        for unit in json.loads(SAMPLE_ORGANISATION.read_text()):
            registry.put(Unit.model_validate(unit))
        seed_sample_staff(Settings(table_name=env["TABLE_NAME"], escalation_topic_arn=env["ESCALATION_TOPIC_ARN"]),
                          boto3.client("dynamodb"), boto3.client("sns"))
        _administrator[:] = [boto3.client("dynamodb")]
        yield env
        _administrator.clear()
        _clear_service_caches()


@pytest.fixture
def settings(aws: dict[str, str]) -> Settings:
    return get_settings()


@pytest.fixture
def api(aws: dict[str, str]) -> Iterator[Any]:
    from chalice.test import Client

    import app as app_module
    from chalicelib.api.http import RateLimiter
    from chalicelib.api.routes import public

    # each test starts with a fresh allowance of public filings
    public.public_filings = RateLimiter(get_settings().public_requests_per_minute)  # INTAKE_API_KEYS: aws
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
    if str(overrides.get("unit_id", "")).startswith("store-london") and "customer" not in overrides:
        body["customer"] = {"name": "Jane Doe", "phone": "07911 123456"}  # a London caller's number
    body.update(overrides)
    return body


JSON = {"Content-Type": "application/json"}


def hangzhou_today() -> date:
    """The day a Hangzhou store manager is living in: reports count by the unit's own calendar day,
    which between 16:00 and 24:00 UTC is already tomorrow's date in UTC+8."""
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
