"""Fuzzing: schemathesis generates requests from the served OpenAPI document and sends them
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
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from local.harness import RunningStack, running_stack
from local.stack import LOCAL_HOTLINE_KEY
from tests.conftest import complaint

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
WORKFLOWS = int(os.environ.get("FUZZ_WORKFLOWS", "40"))
ALL_ROLES = ["agent", "unit-manager", "branch-supervisor", "auditor", "admin"]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
sent: list[tuple[str, int]] = []
lifecycle_answers: list[tuple[str, int]] = []


@pytest.fixture(scope="module")
def fuzzed_stack() -> Iterator[RunningStack]:
    # The public form's per-address limit would answer most fuzzed filings 429; lift it so the
    # form's own validation is what gets fuzzed (429 is still a documented answer).
    # The same for the per-user limit on staff writes: one fuzzing user sends thousands.
    os.environ["PUBLIC_REQUESTS_PER_MINUTE"] = os.environ["STAFF_WRITES_PER_MINUTE"] = "1000000"
    try:
        with running_stack() as running:
            yield running
    finally:
        os.environ.pop("PUBLIC_REQUESTS_PER_MINUTE", None)
        os.environ.pop("STAFF_WRITES_PER_MINUTE", None)
    assert running.exit_code == 0, running.output()[-3000:]


def _document() -> dict[str, Any]:
    from app import app
    from chalicelib.api.openapi import document

    return document(app)


# The document the app serves at /openapi.json (the last test checks the stack serves this one).
schema = schemathesis.openapi.from_dict(_document())


@pytest.fixture(scope="module")
def auth_headers(fuzzed_stack: RunningStack) -> dict[str, str]:
    from local.harness import staff_token

    return {"Authorization": f"Bearer {staff_token(fuzzed_stack, 'Fuzz Tester', ALL_ROLES, 'branch-hz')}",
            "x-api-key": LOCAL_HOTLINE_KEY}


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.generate])
def test_no_fuzzed_request_gets_a_5xx_or_an_undocumented_answer(case: Any, auth_headers: dict[str, str],
                                                                 fuzzed_stack: RunningStack) -> None:
    response = case.call(base_url=fuzzed_stack.api, headers=auth_headers, timeout=30)
    sent.append((f"{case.method} {case.path}", response.status_code))
    case.validate_response(response, checks=CHECKS)


CASE_OPERATIONS = [operation for operation in (result.ok() for result in schema.get_all_operations())
                   if operation.path.startswith("/cases/{case_id}")]


@settings(max_examples=WORKFLOWS, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_actions_on_real_cases_get_no_5xx_and_the_history_follows(
        data: Any, auth_headers: dict[str, str], fuzzed_stack: RunningStack) -> None:
    """The lifecycle itself, fuzzed: a real case of a drawn type, then 8 operations on it drawn from
    the document (accept, assign, finding, resolve, feedback, close, reopen, …) with generated
    bodies and the case's current version, so they get past validation and the version check."""
    kind = data.draw(st.sampled_from(["complaint", "inquiry", "suggestion", "praise"]))
    created = requests.post(f"{fuzzed_stack.api}/cases", headers=auth_headers, timeout=30,
                            json=complaint(type=kind, cause=None if kind != "complaint" else {"category": "service"}))
    assert created.status_code == 201, created.text
    case_id, version, applied = created.json()["case_id"], 1, 0
    for _ in range(8):
        operation = data.draw(st.sampled_from(CASE_OPERATIONS))
        case = data.draw(operation.as_strategy(path_parameters={"case_id": case_id},
                                               headers={"If-Match": f'"{version}"'}))
        if isinstance(case.body, dict):
            case.body.pop("version", None)  # the If-Match header says which version the change is for
        response = case.call(base_url=fuzzed_stack.api, headers=auth_headers, timeout=30)
        sent.append((f"{case.method} {case.path}", response.status_code))
        lifecycle_answers.append((f"{case.method} {case.path}", response.status_code))
        case.validate_response(response, checks=CHECKS)
        if case.method == "POST" and response.status_code == 200:
            version, applied = response.json()["version"], applied + 1
    stored = requests.get(f"{fuzzed_stack.api}/cases/{case_id}", headers=auth_headers, timeout=30).json()
    assert stored["version"] == 1 + applied == len(stored["history"])  # every change once, nothing else


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
    applied = {operation for operation, status in lifecycle_answers if status == 200}
    print(f"lifecycle fuzzing: {len(lifecycle_answers)} operations on real cases, {len(applied)} kinds applied: "
          f"{sorted(applied)}")
    assert {"POST /cases/{case_id}/accept", "POST /cases/{case_id}/close"} <= applied, applied
    assert {"POST /cases", "POST /public/cases", "GET /units", "GET /openapi.json"} <= succeeded, succeeded
    assert requests.get(f"{fuzzed_stack.api}/openapi.json", timeout=10).json() == _document()
