"""Logs carry the case id and never a phone number; metrics are emitted."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from chalicelib.observability import logger
from tests.conftest import JSON, complaint


@pytest.fixture
def log_lines(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    written = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", written)
    return written


def test_no_phone_number_in_any_log_line_and_case_id_in_each(api: Any, log_lines: io.StringIO,
                                                             capfd: pytest.CaptureFixture[str]) -> None:
    body = complaint(customer={"name": "Wang Fang", "phone": "+86 138 0013 8000"},
                     five_w={**complaint()["five_w"], "what": "call me back on 13800138000"})
    created = api.post("/cases", headers=JSON, body=json.dumps(body)).json_body
    case_id = created["case_id"]
    api.post(f"/cases/{case_id}/accept", headers=JSON, body=json.dumps({"actor": "a", "version": 1}))
    api.post(f"/cases/{case_id}/accept", headers=JSON, body=json.dumps({"actor": "a", "version": 1}))
    api.post("/cases", headers=JSON, body=json.dumps(complaint(customer={"name": "x", "phone": "bad"})))
    text = log_lines.getvalue() + capfd.readouterr().out
    assert "13800138000" not in text and "138 0013 8000" not in text
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    case_lines = [line for line in lines if line.get("path", "").startswith("/cases/")]
    assert case_lines and all(line["case_id"] == case_id for line in case_lines)
    assert any(line["message"] == "case received" and line["case_id"] == case_id for line in lines)


def test_intake_and_transitions_emit_metrics(api: Any, capfd: pytest.CaptureFixture[str]) -> None:
    created = api.post("/cases", headers=JSON, body=json.dumps(complaint())).json_body
    api.post(f"/cases/{created['case_id']}/accept", headers=JSON, body=json.dumps({"actor": "a", "version": 1}))
    emitted = [json.loads(line) for line in capfd.readouterr().out.splitlines() if '"_aws"' in line]
    names = {m["Name"] for e in emitted for d in e["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"CasesReceived", "CaseTransitions"} <= names
    transition = next(e for e in emitted if "CaseTransitions" in e)
    assert transition["action"] == "accept"


def test_an_unexpected_error_is_a_uniform_500_and_its_logged_traceback_is_masked(
        api: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from chalicelib.services.cases import CaseService

    def broken(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("could not parse stored customer phone 13800138000")

    monkeypatch.setattr(CaseService, "register", broken)
    with caplog.at_level("ERROR"):
        response = api.post("/cases", headers=JSON, body=json.dumps(complaint()))
    assert response.status_code == 500
    assert response.json_body == {"error": "internal_server", "message": "An internal server error occurred.",
                                  "fields": {}}
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "RuntimeError" in logged and "******00" in logged
    assert "13800138000" not in logged
