"""Hostile input on every route (input limits): oversized and deeply nested bodies, wrong
content types, invalid UTF-8, huge strings, path traversal in ids. Each gets a 4xx, never a 5xx,
and nothing a customer sent reaches the log."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from tests.conftest import JSON, complaint

CASE_ID = "CD-AAAA-BBBB-CCCC"


def write_routes() -> list[tuple[str, str]]:
    """Every route that takes a body, with its path parameters filled in."""
    from app import app

    filled = {"{case_id}": CASE_ID, "{unit_id}": "store-xh-01", "{country}": "CN", "{token}": "x" * 32}
    routes = []
    for path, entries in app.routes.items():
        for method in entries:
            if method in ("POST", "PUT"):
                concrete = path
                for name, value in filled.items():
                    concrete = concrete.replace(name, value)
                routes.append((method, concrete))
    return sorted(routes)


HOSTILE_BODIES = {
    "oversized": (b'{"x": "' + b"a" * 70_000 + b'"}', JSON),
    "deeply nested": (b"[" * 100_000 + b"]" * 100_000, JSON),
    "not json": (b"{oops", JSON),
    "invalid utf-8": (b'{"five_w": {"what": "\xff\xfe"}}', JSON),
    "a json array": (b"[1, 2, 3]", JSON),
    "form encoded": (b"type=complaint&unit_id=store-xh-01", {"Content-Type": "application/x-www-form-urlencoded"}),
}


@pytest.mark.parametrize("kind", HOSTILE_BODIES)
def test_a_hostile_body_is_4xx_on_every_route_that_takes_one(api: Any, kind: str) -> None:
    body, headers = HOSTILE_BODIES[kind]
    answers = {}
    for method, path in write_routes():
        response = api.request(method, path, headers={**headers, "x-api-key": "test-hotline-key"}, body=body)
        answers[f"{method} {path}"] = response.status_code
    assert all(400 <= status < 500 for status in answers.values()), answers


def test_huge_strings_in_every_field_of_an_intake_are_400_naming_the_fields(api: Any) -> None:
    huge = "x" * 4500  # over every field's limit, the whole body still under 64 KB
    body = complaint(unit_id=huge, expectation=huge, customer={"name": huge, "phone": huge},
                     five_w={k: huge for k in ("when", "where", "who", "what", "how")},
                     cause={"category": huge, "detail": huge})
    response = api.post("/cases", headers=JSON, body=json.dumps(body, ensure_ascii=False).encode())
    assert response.status_code == 400
    assert {"unit_id", "expectation", "customer.name", "customer.phone", "five_w.what", "five_w.when",
            "cause.category", "cause.detail"} <= set(response.json_body["fields"])


@pytest.mark.parametrize("case_id", ["..%2F..%2Fetc%2Fpasswd", "CD-AAAA-BBBB-CCCC%00", "%2e%2e", "' OR 1=1 --",
                                     "CASE#CD-AAAA-BBBB-CCCC", "A" * 2000])
def test_path_traversal_and_injection_in_ids_find_nothing(api: Any, case_id: str) -> None:
    for path in (f"/cases/{case_id}", f"/archive/{case_id}"):
        response = api.get(path)
        assert 400 <= response.status_code < 500, (path, response.status_code)
    assert api.post(f"/cases/{case_id}/accept", headers=JSON,
                    body=json.dumps({"version": 1})).status_code in (400, 403, 404)


def test_refused_input_leaves_no_customer_data_in_the_log(api: Any, monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    from chalicelib.observability import logger

    written = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", written)
    name, phone = "Ouyang Xiuying", "13912345678"
    bad_bodies = [
        {**complaint(customer={"name": name, "phone": phone}), "status": "closed"},
        complaint(customer={"name": name, "phone": phone + "x"}),
        complaint(customer={"name": name * 100, "phone": phone}),
    ]
    for body in bad_bodies:
        assert api.post("/cases", headers=JSON, body=json.dumps(body)).status_code == 400
        assert api.post("/public/cases", headers={**JSON, "Authorization": ""},
                        body=json.dumps({k: v for k, v in body.items() if k != "channel"})).status_code == 400
    logged = written.getvalue() + caplog.text
    assert "request refused" in logged
    assert name not in logged and phone not in logged


HUGE_NUMBER = "9" * 5000  # past Python's 4,300-digit limit on int(str)


def _openapi() -> dict[str, Any]:
    from app import app
    from chalicelib.api.openapi import document

    return document(app)


def _fields(schema: dict[str, Any], components: dict[str, Any], path: str = "",
            seen: frozenset[str] = frozenset()) -> list[tuple[str, dict[str, Any]]]:
    """Every (dotted path, schema) a request body may hold, references followed."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return [] if name in seen else _fields(components[name], components, path, seen | {name})
    found = [(path, schema)] if path else []
    for alternative in schema.get("anyOf", []) + schema.get("allOf", []):
        found += _fields(alternative, components, path, seen)
    if isinstance(schema.get("items"), dict):
        found += _fields(schema["items"], components, f"{path}.0".lstrip("."), seen)
    for name, inner in schema.get("properties", {}).items():
        found += _fields(inner, components, f"{path}.{name}".lstrip("."), seen)
    if isinstance(schema.get("additionalProperties"), dict):
        found += _fields(schema["additionalProperties"], components, f"{path}.x".lstrip("."), seen)
    return found


def _bodies() -> list[tuple[str, str, list[tuple[str, dict[str, Any]]]]]:
    document = _openapi()
    filled = {"{case_id}": CASE_ID, "{unit_id}": "store-xh-01", "{country}": "CN", "{check_id}": "SC-0000000000"}
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if schema:
                concrete = path
                for name, value in filled.items():
                    concrete = concrete.replace(name, value)
                found.append((method.upper(), concrete, _fields(schema, document["components"]["schemas"])))
    return found


def _nest(path: str, literal: str) -> str:
    """A JSON body holding `literal` (raw JSON text) at the dotted `path`."""
    for part in reversed(path.split(".")):
        literal = f"[{literal}]" if part == "0" else f'{{"{part}": {literal}}}'
    return literal


def test_a_5000_digit_number_is_400_naming_its_field_on_every_route_that_takes_a_number(api: Any) -> None:
    refused: dict[str, Any] = {}
    numeric = 0
    for method, path, fields in _bodies():
        targets = [p for p, schema in fields if schema.get("type") in ("integer", "number")] or ["anything"]
        for field in targets:
            for literal in (HUGE_NUMBER, "-" + HUGE_NUMBER):
                numeric += field != "anything"
                response = api.request(method, path, headers={**JSON, "x-api-key": "test-hotline-key"},
                                       body=_nest(field, literal).encode())
                if response.status_code != 400 or field not in response.json_body["fields"]:
                    refused[f"{method} {path} {field}"] = (response.status_code, response.body[:200])
    assert numeric >= 10 and not refused, refused
    document = _openapi()
    for path, operations in document["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["schema"].get("type") == "integer":
                    response = api.get(f"{path}?{parameter['name']}={HUGE_NUMBER}&unit_id=store-xh-01")
                    assert response.status_code == 400, (path, response.status_code)
                    assert parameter["name"] in response.json_body["fields"]
    assert api.get("/cases?unit_id=store-xh-01&limit=²").status_code == 400  # a digit int() cannot read


def test_every_string_list_and_map_a_client_sends_is_bounded_in_the_openapi_document() -> None:
    unbounded = []
    for method, path, fields in _bodies():
        for field, schema in fields:
            kind = schema.get("type")
            if kind == "string" and not {"maxLength", "enum", "format", "const"} & set(schema):
                unbounded.append(f"{method} {path} {field}: string without maxLength")
            if kind == "array" and "maxItems" not in schema:
                unbounded.append(f"{method} {path} {field}: list without maxItems")
            if kind == "object" and isinstance(schema.get("additionalProperties"), dict) \
                    and "maxProperties" not in schema:
                unbounded.append(f"{method} {path} {field}: map without maxProperties")
    assert not unbounded, unbounded
    remedies = _openapi()["components"]["schemas"]["Resolve"]["properties"]["remedies"]
    assert remedies["maxItems"] == 10 and remedies["uniqueItems"] is True


@pytest.mark.parametrize("remedies, reason", [(["apology"] * 2, "each remedy at most once"),
                                              (["apology"] * 5000, "at most 10 items")])
def test_remedies_are_distinct_and_at_most_ten(api: Any, remedies: list[str], reason: str) -> None:
    created = api.post("/cases", headers=JSON, body=json.dumps(complaint(type="inquiry"))).json_body
    api.post(f"/cases/{created['case_id']}/accept", headers=JSON, body=json.dumps({"version": 1}))
    response = api.post(f"/cases/{created['case_id']}/resolve", headers=JSON,
                        body=json.dumps({"version": 2, "result": "explained", "remedies": remedies}))
    assert response.status_code == 400 and reason in response.json_body["fields"]["remedies"]
