"""Request parsing and the one place domain errors become HTTP responses."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from chalice.app import Response
from pydantic import BaseModel, ValidationError

from chalicelib.domain import errors as err
from chalicelib.domain.auth import Principal, Unauthenticated, may_call
from chalicelib.observability import logger

if TYPE_CHECKING:
    from chalicelib.domain.case_document import CaseDocument

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)  # a report the services return

STATUS_BY_ERROR: dict[type[err.DomainError], int] = {
    err.InvalidInput: 400,
    err.CaseNotFound: 404,
    err.StaffNotFound: 404,
    err.IllegalTransition: 409,
    err.StaleVersion: 409,
    err.RequestInProgress: 409,
    err.PayloadTooLarge: 413,
    err.IdempotencyConflict: 422,
    err.TooManyRequests: 429,
    err.VersionRequired: 428,
}
_IF_MATCH = re.compile(r'^(?:W/)?"?(\d{1,12})"?$')
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def error_response(code: str, message: str, status: int, fields: dict[str, str] | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    return Response(body={"error": code, "message": message, "fields": fields or {}},
                    status_code=status, headers=dict(headers or {}))


# AWS answers that mean "not now": the caller should retry the same request (same Idempotency-Key).
_RETRYABLE_AWS_CODES = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "InternalServerError", "ServiceUnavailable", "TransactionInProgressException", "TransactionConflict",
})


def handles_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a DomainError raised anywhere below a route into `{"error", "message", "fields"}`, and
    an AWS outage that outlasted boto3's retries into a 503 the caller can retry."""
    from botocore.exceptions import BotoCoreError, ClientError

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except err.DomainError as exc:
            status = next(code for cls, code in STATUS_BY_ERROR.items() if isinstance(exc, cls))
            logger.info("request refused", extra={"error": exc.code, "status": status})
            headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, err.TooManyRequests) else None
            return error_response(exc.code, exc.message, status, exc.fields, headers)
        except (ClientError, BotoCoreError) as exc:
            code = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else type(exc).__name__
            if isinstance(exc, ClientError) and code not in _RETRYABLE_AWS_CODES:
                return internal_error()
            logger.warning("storage unavailable", extra={"aws_error": code})
            return error_response("temporarily_unavailable",
                                  "the case store is busy or unreachable; nothing was changed, "
                                  "retry the same request shortly", 503, headers={"Retry-After": "1"})
        except Exception:
            return internal_error()

    return wrapper


def internal_error() -> Response:
    """A bug's 500, logged with what the operator needs to debug it: the exception's type and its
    traceback (masked by the log filter, like every line) on a line with the request id. Call it
    while the exception is being handled."""
    logger.exception("unhandled error")
    return error_response("internal_server", "An internal server error occurred.", 500)


@dataclass(frozen=True)
class RouteDoc:
    """What the OpenAPI document says of a route (chalicelib/api/openapi.py reads it).

    `response` names a view in chalicelib/api/schemas.py (imported only to build the document);
    `query` and `headers` name the parameters the route reads (openapi.QUERY / HEADERS)."""

    response: str
    status: int = 200
    request: type[BaseModel] | None = None
    query: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    csv: bool = False  # also answers text/csv (`format=csv`)
    media: tuple[str, ...] = ()  # a page or asset: these content types, no JSON view
    rate_limited: bool = False  # counts against the signed-in user's write allowance (429)
    conflicts: bool = False  # may answer 409 though it names no existing thing in its path


def documented(response: str, status: int = 200, request: type[BaseModel] | None = None,
               query: tuple[str, ...] = (), headers: tuple[str, ...] = (), csv: bool = False,
               media: tuple[str, ...] = (), rate_limited: bool = False,
               conflicts: bool = False) -> Callable[[Any], Any]:
    def mark(view: Any) -> Any:
        view.openapi = RouteDoc(response, status, request, query, headers, csv, media, rate_limited, conflicts)
        return view

    return mark


@functools.cache
def openapi_document(app: Any) -> dict[str, Any]:
    """The app's OpenAPI document, built on first request and kept for the container's life."""
    from chalicelib.api.openapi import document

    return document(app)


def json_body(body: bytes | str | None, max_bytes: int) -> dict[str, Any]:
    """The body as a JSON object, or a 400/413 that says exactly what is wrong with it."""
    raw = body.encode() if isinstance(body, str) else body or b""
    if len(raw) > max_bytes:
        raise err.PayloadTooLarge(f"the body is {len(raw)} bytes; the limit is {max_bytes}")
    if not raw.strip():
        raise err.InvalidInput("the body is empty; send a JSON object", {"body": "required"})
    try:
        data = json.loads(raw.decode("utf-8"), parse_int=_bounded_int)
    except UnicodeDecodeError as exc:
        raise err.InvalidInput("the body is not UTF-8", {"body": str(exc.reason)}) from exc
    except json.JSONDecodeError as exc:
        raise err.InvalidInput("the body is not valid JSON",
                               {"body": f"{exc.msg} at line {exc.lineno} column {exc.colno}"}) from exc
    except RecursionError as exc:
        raise err.InvalidInput("the body nests too deeply", {"body": "too deeply nested"}) from exc
    if not isinstance(data, dict):
        raise err.InvalidInput("the body must be a JSON object", {"body": "expected an object"})
    too_long = dict.fromkeys(_paths_of(data, _TooLongInteger), f"a number of at most {MAX_INTEGER_DIGITS} digits")
    if too_long:
        raise err.InvalidInput("some numbers are too long", too_long)
    return data


# No field takes a number anywhere near this long; Python refuses to convert past 4,300 digits
# (sys.get_int_max_str_digits), which would otherwise surface as a 500.
MAX_INTEGER_DIGITS = 20


class _TooLongInteger:
    """Stands in for an integer literal too long to convert, so the 400 can name its field."""


def _bounded_int(literal: str) -> int | _TooLongInteger:
    return _TooLongInteger() if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS else int(literal)


def _paths_of(value: Any, kind: type, path: str = "") -> list[str]:
    """Dotted paths (as validation errors name fields) of every value of `kind` in a parsed body."""
    if isinstance(value, kind):
        return [path or "body"]
    if isinstance(value, dict):
        return [p for key, inner in value.items() for p in _paths_of(inner, kind, f"{path}.{key}".lstrip("."))]
    if isinstance(value, list):
        return [p for i, inner in enumerate(value) for p in _paths_of(inner, kind, f"{path}.{i}".lstrip("."))]
    return []


def parse(model: type[M], data: dict[str, Any]) -> M:
    """Validate into a pydantic model; each problem becomes `field.path: reason`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for problem in exc.errors(include_url=False, include_input=False):
            path = ".".join(str(part) for part in problem["loc"]) or "body"
            reason = problem["msg"]
            if problem["type"] == "extra_forbidden":
                reason = "not a field you can set"
            elif problem["type"] == "string_pattern_mismatch":
                from chalicelib.domain.models import PATTERN_MEANINGS

                reason = PATTERN_MEANINGS.get(str(problem.get("ctx", {}).get("pattern")), reason)
            fields.setdefault(path, reason)
        raise err.InvalidInput("some fields are invalid", fields) from exc


def if_match_version(headers: Any) -> int | None:
    value = headers.get("if-match")
    if value is None:
        return None
    match = _IF_MATCH.match(value.strip())
    if not match:
        raise err.InvalidInput("If-Match must hold the case version, e.g. \"3\"",
                               {"If-Match": "expected a version number"})
    return int(match.group(1))


def idempotency_key(headers: Any, caller: str) -> str | None:
    """The Idempotency-Key scoped to its `caller` (staff_caller / api_key_caller): the same key
    from two callers is two requests, so nobody can replay, block or probe another's key."""
    value = headers.get("idempotency-key")
    if value is None:
        return None
    if not _IDEMPOTENCY_KEY.match(value):
        raise err.InvalidInput("Idempotency-Key must be 1–255 visible ASCII characters",
                               {"Idempotency-Key": "invalid"})
    return f"{caller} {value}"


def staff_caller(user: Principal) -> str:
    return f"user:{user.subject}"


def api_key_caller(event: Any) -> str:
    """The hotline system's API key: API Gateway's key id, or (where the app checks keys itself)
    a digest of the key, never the key."""
    key_id = (event.context.get("identity") or {}).get("apiKeyId")
    if key_id:
        return f"api-key:{key_id}"
    digest = hashlib.sha256(str(event.headers.get("x-api-key", "")).encode()).hexdigest()[:32]
    return f"api-key:sha256:{digest}"


def case_response(case: CaseDocument, status: int = 200,
                  extra_headers: dict[str, str] | None = None) -> Response:
    """The case document as JSON, its version as the ETag a change sends back in If-Match."""
    headers: dict[str, str | list[str]] = {"ETag": f'"{case.version}"', **(extra_headers or {})}
    return Response(body=case.model_dump(mode="json"), status_code=status, headers=headers)


def registered(case: CaseDocument, replayed: bool) -> Response:
    """201 with the case's address; a replayed Idempotency-Key says so."""
    headers = {"Location": f"/cases/{case.case_id}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return case_response(case, 201, headers)


def uniform_errors(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Chalice's own errors (415, 405, 500, …) get the same shape as ours; every API answer gets
    the headers that keep personal data out of caches and content sniffing."""
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        code = re.sub(r"(?<!^)(?=[A-Z])", "_", str(body["Code"])).lower().removesuffix("_error")
        response.body = {"error": code, "message": body.get("Message", ""), "fields": {}}
    return with_safe_headers(response)


def with_safe_headers(response: Response) -> Response:
    """`nosniff` on everything, and `no-store` on every answer that does not set its own caching
    (API answers carry cases, names and phones; pages and assets say `no-cache` themselves)."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    if not any(name.lower() == "cache-control" for name in response.headers):
        response.headers["Cache-Control"] = "no-store"
    return response


class RateLimiter:
    """At most `per_minute` calls per key in any 60 s (a sliding window kept in this container)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] | None = None) -> None:
        import time

        self._per_minute = per_minute
        self._clock = clock or time.monotonic
        self._calls: dict[str, list[float]] = {}

    def check(self, key: str) -> None:
        now = self._clock()
        recent = [t for t in self._calls.get(key, []) if now - t < 60]
        if len(recent) >= self._per_minute:
            self._calls[key] = recent
            raise err.TooManyRequests("too many filings from this address; try again in a minute")
        self._calls[key] = [*recent, now]
        if len(self._calls) > 10_000:  # forget idle addresses
            self._calls = {k: v for k, v in self._calls.items() if v and now - v[-1] < 60}


def source_ip(event: Any) -> str:
    return str((event.context.get("identity") or {}).get("sourceIp") or "unknown")


_principal: ContextVar[Principal | None] = ContextVar("principal", default=None)
_request_id: ContextVar[str] = ContextVar("request_id", default="")


def authenticated(event: Any, get_response: Callable[[Any], Response], verify: Callable[[str | None], Principal],
                  public: frozenset[tuple[str, str]], keyed: frozenset[tuple[str, str]],
                  local_api_keys: frozenset[str],
                  on_refused: Callable[[tuple[str, str], Principal, dict[str, str], str], None] | None = None,
                  ) -> Response:
    """Every route but the public and API-key ones needs a valid staff token (401, with no detail
    of what was wrong) and a role the route allows (403; `on_refused` hears of it with the route,
    the user, the path parameters and the request id). The principal is then available to the
    route. API keys are API Gateway's to check; `local_api_keys` stands in where there is none."""
    route = (event.method, event.context.get("resourcePath", event.path))
    _principal.set(None)
    _request_id.set(str(event.context.get("requestId") or f"local-{uuid.uuid4()}"))
    if route in keyed:
        if local_api_keys and event.headers.get("x-api-key") not in local_api_keys:
            return error_response("forbidden", "Forbidden", 403)  # what API Gateway answers
        return get_response(event)
    if route in public:
        return get_response(event)
    try:
        principal = verify(event.headers.get("authorization"))
    except Unauthenticated as exc:
        logger.info("unauthenticated request", extra={"reason": str(exc)})
        return error_response("unauthenticated", "sign in: this needs a valid bearer token", 401,
                              headers={"WWW-Authenticate": 'Bearer realm="complaint-desk"'})
    if not may_call(principal, *route):
        logger.info("role refused", extra={"roles": sorted(principal.roles)})
        if on_refused is not None:
            on_refused(route, principal, dict(event.uri_params or {}), _request_id.get())
        return error_response("forbidden", "your role does not allow this", 403)
    _principal.set(principal)
    logger.thread_safe_append_keys(user=principal.subject)
    return get_response(event)


def request_id() -> str:
    """API Gateway's id of this request, so an audit record can be matched with its logs."""
    return _request_id.get()


def principal() -> Principal:
    found = _principal.get()
    assert found is not None, "an authenticated route runs after the authenticated middleware"
    return found


def command(model: type[M], raw: bytes | str | None, max_bytes: int) -> M:
    """A command from the body, its `actor` being the signed-in user: a client may leave it out or
    send its own name, and is refused if it names anybody else."""
    body = json_body(raw, max_bytes)
    user = principal()
    if body.get("actor", user.name) != user.name:
        raise err.InvalidInput("the actor is the signed-in user",
                               {"actor": "leave it out, or send your own name"})
    fields = {**body, "actor": user.name}
    if "actor_id" in model.model_fields:
        fields["actor_id"] = user.subject
    return parse(model, fields)


def report_format(query: Mapping[str, str] | None) -> str:
    query = query or {}
    fmt = query.get("format", "json")
    if fmt not in ("json", "csv"):
        raise err.InvalidInput("unknown format", {"format": "json or csv"})
    return fmt


def report_response(report: R, fmt: str, rows: Callable[[R], list[dict[str, Any]]],
                    columns: tuple[str, ...], file_name: str) -> Response:
    """A report as JSON, or its `rows(report)` as a CSV download named `file_name` (.csv added);
    the CSV writer neutralises every cell, so a spreadsheet opens it as text, never as formulas."""
    if fmt == "json":
        return Response(body=report.model_dump(mode="json"), status_code=200)
    from chalicelib.domain.reports import as_csv

    safe_name = re.sub(r"[^A-Za-z0-9._-]+", "-", file_name).strip("-")[:120] or "report"
    return Response(body=as_csv(rows(report), columns), status_code=200,
                    headers={"Content-Type": "text/csv; charset=utf-8",
                             "Content-Disposition": f'attachment; filename="{safe_name}.csv"'})


def country_code(value: str) -> str:
    """A calendar is named by its ISO 3166 alpha-2 country code (CN, GB)."""
    if len(value) != 2 or not value.isascii() or not value.isalpha():
        raise err.InvalidInput("unknown calendar", {"country": "an ISO 3166 two-letter country code, e.g. CN"})
    return value.upper()
