"""Domain errors: each carries a stable code and a message a person can act on."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the service layer raises on purpose."""

    code = "domain_error"

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class InvalidInput(DomainError):
    """The request is malformed or a field is invalid (HTTP 400)."""

    code = "invalid_input"


class PayloadTooLarge(DomainError):
    """The request body exceeds the configured limit (HTTP 413)."""

    code = "payload_too_large"


class CaseNotFound(DomainError):
    """No case has this id (HTTP 404)."""

    code = "case_not_found"


class CaseIdTaken(DomainError):
    """A newly drawn case id is already in use: the intake draws another (never reaches a client)."""

    code = "case_id_taken"


class AlreadyRegistered(DomainError):
    """The intake's Idempotency-Key already made a case: its answer is that case."""

    code = "already_registered"

    def __init__(self, case_id: str) -> None:
        super().__init__(f"this Idempotency-Key already made case {case_id}")
        self.case_id = case_id


class IllegalTransition(DomainError):
    """The lifecycle does not allow this action in the case's current status (HTTP 409)."""

    code = "illegal_transition"


class StaleVersion(DomainError):
    """The client presented a version that is no longer current (HTTP 409)."""

    code = "stale_version"


class VersionRequired(DomainError):
    """An update came without If-Match or body version (HTTP 428)."""

    code = "version_required"


class IdempotencyConflict(DomainError):
    """An Idempotency-Key was reused with a different body (HTTP 422)."""

    code = "idempotency_key_reused"


class RequestInProgress(DomainError):
    """The same Idempotency-Key is being processed right now (HTTP 409, retry later)."""

    code = "request_in_progress"


class TooManyRequests(DomainError):
    """A caller sent more than the rate allows (HTTP 429 with Retry-After: `retry_after` seconds)."""

    code = "too_many_requests"

    def __init__(self, message: str, retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class StaffNotFound(DomainError):
    """No member of staff has this id (HTTP 404)."""

    code = "staff_not_found"
