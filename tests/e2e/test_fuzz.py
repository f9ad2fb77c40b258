"""Fuzzing (issue 9): schemathesis generates requests from the served OpenAPI document and sends them
over HTTP to the local stack, signed in with every role. No answer may be a 5xx, and every answer
must be one the document declares, with the declared shape and content type.

FUZZ_EXAMPLES (default 40) is the number of examples per operation; at 30 operations that is over
1,000 requests, and each operation also gets schemathesis' edge-case phase."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from local.harness import RunningStack, running_stack
from local.stack import LOCAL_HOTLINE_KEY

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
ALL_ROLES = ["agent", "unit-manager", "branch-supervisor", "auditor", "admin"]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
sent: list[tuple[str, int]] = []


@pytest.fixture(scope="module")
def fuzzed_stack() -> Iterator[RunningStack]:
    # The public form's per-address limit would answer most fuzzed filings 429; lift it so the
    # form's own validation is what gets fuzzed (429 is still a documented answer).
    os.environ["PUBLIC_REQUESTS_PER_MINUTE"] = "1000000"
    try:
        with running_stack() as running:
            yield running
    finally:
        os.environ.pop("PUBLIC_REQUESTS_PER_MINUTE", None)
    assert running.exit_code == 0, running.output()[-3000:]


def _document() -> dict[str, Any]:
    from app import app
    from chalicelib.api.openapi import document

    return document(app)


# The document the app serves at /openapi.json (the last test checks the stack serves this one).
schema = schemathesis.openapi.from_dict(_document())


@pytest.fixture(scope="module")
def auth_headers() -> dict[str, str]:
    from local.issuer import mint

    return {"Authorization": f"Bearer {mint('Fuzz Tester', ALL_ROLES, 'branch-hz')}", "x-api-key": LOCAL_HOTLINE_KEY}


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.generate])
def test_no_fuzzed_request_gets_a_5xx_or_an_undocumented_answer(case: Any, auth_headers: dict[str, str],
                                                                 fuzzed_stack: RunningStack) -> None:
    response = case.call(base_url=fuzzed_stack.api, headers=auth_headers, timeout=30)
    sent.append((f"{case.method} {case.path}", response.status_code))
    case.validate_response(response, checks=CHECKS)


def test_the_fuzzing_sent_at_least_1000_requests_and_reached_past_validation(fuzzed_stack: RunningStack) -> None:
    """Runs after the fuzzing (same module, file order): it counted what was sent."""
    if not sent:
        pytest.skip("run together with the fuzzing test")
    from collections import Counter

    statuses = Counter(status for _, status in sent)
    print(f"schemathesis sent {len(sent)} requests; answers by status: {dict(sorted(statuses.items()))}")
    assert len(sent) >= min(1000, 25 * EXAMPLES), len(sent)
    assert not [s for s in sent if s[1] >= 500]
    succeeded = {operation for operation, status in sent if status < 300}
    assert {"POST /cases", "POST /public/cases", "GET /units", "GET /openapi.json"} <= succeeded, succeeded
    assert requests.get(f"{fuzzed_stack.api}/openapi.json", timeout=10).json() == _document()
