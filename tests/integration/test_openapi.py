"""The OpenAPI document: generated from the app, valid OpenAPI 3.1, one operation per
route with the route's own request model and access rule, and real answers fit it."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from openapi_spec_validator import validate

from chalicelib.domain.auth import API_KEY_ROUTES, PUBLIC_ROUTES, ROUTE_ROLES
from chalicelib.domain.commands import SERVER_SET_FIELDS, IntakeRequest
from chalicelib.domain.lifecycle import ACTIONS
from tests.conftest import JSON, complaint


def served(api: Any) -> dict[str, Any]:
    response = api.get("/openapi.json", headers={"Authorization": ""})
    assert response.status_code == 200
    return response.json_body


def test_the_document_is_served_without_sign_in_and_is_valid_openapi_3_1(api: Any) -> None:
    document = served(api)
    validate(document)
    assert document["openapi"] == "3.1.0" and document["info"]["title"] == "Complaint Desk"


def test_every_route_of_the_app_is_an_operation_and_nothing_else_is(api: Any) -> None:
    from app import app

    routes = {(method, path) for path, entries in app.routes.items() for method in entries}
    operations = {(method.upper(), path) for path, ops in served(api)["paths"].items() for method in ops}
    assert operations == routes
    assert len(routes) == len(ROUTE_ROLES) + len(PUBLIC_ROUTES) + len(API_KEY_ROUTES)


def test_each_operation_says_who_may_call_it(api: Any) -> None:
    paths = served(api)["paths"]
    for (method, path), roles in ROUTE_ROLES.items():
        operation = paths[path][method.lower()]
        assert operation["security"] == [{"staff": []}]
        assert {"401", "403"} <= set(operation["responses"])
        assert all(role.value in operation["description"] for role in roles)
    for method, path in PUBLIC_ROUTES:
        assert paths[path][method.lower()]["security"] == []
    assert paths["/intake/hotline"]["post"]["security"] == [{"hotlineKey": []}]


def test_request_bodies_are_the_models_the_routes_parse_without_the_actor(api: Any) -> None:
    document = served(api)
    schemas, paths = document["components"]["schemas"], document["paths"]

    def body_schema(path: str, method: str = "post") -> dict[str, Any]:
        ref = paths[path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return schemas[ref.rsplit("/", 1)[1]]

    assert set(body_schema("/cases")["properties"]) == set(IntakeRequest.model_fields)
    for action, declared in ACTIONS.items():
        schema = body_schema(f"/cases/{{case_id}}/{action}")
        assert set(schema["properties"]) == set(declared.command.model_fields) - SERVER_SET_FIELDS
        assert schema["additionalProperties"] is False  # unknown fields are refused, as documented
    assert "If-Match" in {p["name"] for p in paths["/cases/{case_id}/accept"]["post"]["parameters"]}
    assert "Idempotency-Key" in {p["name"] for p in paths["/cases"]["post"]["parameters"]}


def validator(document: dict[str, Any], path: str, method: str, status: int) -> jsonschema.Validator:
    schema = document["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    return jsonschema.Draft202012Validator({**schema, "components": document["components"]})


def test_real_answers_fit_the_document(api: Any) -> None:
    document = served(api)
    created = api.post("/cases", headers=JSON, body=json.dumps(complaint()))
    validator(document, "/cases", "post", 201).validate(created.json_body)
    case_id = created.json_body["case_id"]
    accepted = api.post(f"/cases/{case_id}/accept", headers=JSON, body=json.dumps({"version": 1}))
    validator(document, "/cases/{case_id}/accept", "post", 200).validate(accepted.json_body)
    listed = api.get("/cases?unit_id=store-xh-01")
    validator(document, "/cases", "get", 200).validate(listed.json_body)
    refused = api.post("/cases", headers=JSON, body=json.dumps(complaint(unit_id="nowhere")))
    validator(document, "/cases", "post", 400).validate(refused.json_body)
    receipt = api.post("/public/cases", headers={**JSON, "Authorization": ""},
                       body=json.dumps({k: v for k, v in complaint().items() if k != "channel"}))
    validator(document, "/public/cases", "post", 201).validate(receipt.json_body)
    status = api.get(receipt.json_body["status_url"], headers={"Authorization": ""})
    validator(document, "/public/track/{token}", "get", 200).validate(status.json_body)
    # And a wrong answer does not fit: the check can fail.
    wrong = {**accepted.json_body, "status": "lost"}
    assert not validator(document, "/cases/{case_id}/accept", "post", 200).is_valid(wrong)
