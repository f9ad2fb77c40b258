"""The OpenAPI 3.1 document of the API, generated, never hand-kept.

Paths and methods come from the Chalice app's own route table; request bodies from the pydantic
command models the routes parse; answers from the views in chalicelib/api/schemas.py; who may call
what from the access table (chalicelib/domain/auth.py). apispec assembles the document. Built on
the first GET /openapi.json of a container, then kept.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.api.http import STATUS_BY_ERROR, RouteDoc
from chalicelib.domain.auth import API_KEY_ROUTES, PUBLIC_ROUTES, ROUTE_ROLES
from chalicelib.domain.commands import SERVER_SET_FIELDS
from chalicelib.domain.models import Status

TITLE = "Complaint Desk"
VERSION = "1.0.0"
_REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"{([^}]+)}")

# Query parameters, by name, as the services read them (they check each and answer 400).
QUERY: dict[str, dict[str, Any]] = {
    "unit_id": {"type": "string", "description": "the unit whose register is read"},
    "status": {"type": "string", "enum": [s.value for s in Status]},
    "limit": {"type": "integer", "minimum": 1, "maximum": 100, "description": "page size"},
    "cursor": {"type": "string", "description": "next_cursor of the previous page"},
    "closed_from": {"type": "string", "format": "date"},
    "closed_to": {"type": "string", "format": "date"},
    "case_id": {"type": "string"},
    "date": {"type": "string", "format": "date"},
    "from": {"type": "string", "format": "date", "description": "first day, unit-local"},
    "to": {"type": "string", "format": "date", "description": "last day, unit-local (inclusive)"},
    "week_of": {"type": "string", "format": "date", "description": "any day of the week (default: last week)"},
    "format": {"type": "string", "enum": ["json", "csv"]},
}
HEADERS: dict[str, dict[str, Any]] = {
    "Idempotency-Key": {"schema": {"type": "string", "pattern": r"^[\x21-\x7e]{1,255}$"},
                        "description": "retries with the same key register the case once; keys are scoped to "
                                       "the caller (signed-in user or API key), so another caller's key is "
                                       "another request"},
    "If-Match": {"schema": {"type": "string", "pattern": r'^"?[0-9]{1,12}"?$'},
                 "description": "the case version the change is based on (or `version` in the body)"},
}
_REASONS = {400: "invalid input: `fields` names each field and the reason", 401: "no valid bearer token",
            403: "the role (or API key) does not allow this", 404: "no such case, or not in your territory",
            409: "a stale version, a change the case's status does not allow, or the same request in progress",
            413: "the body is too large", 422: "the Idempotency-Key was used with another body",
            428: "send the case version (If-Match or `version`)",
            429: "too many requests from this address (web form) or user (staff changes); see Retry-After",
            503: "the store is busy or unreachable; nothing changed, retry the same request"}


def document(app: Any) -> dict[str, Any]:
    """The OpenAPI document of `app`: every route it registers, each with its schemas and access."""
    from apispec import APISpec

    from chalicelib.api import schemas

    spec = APISpec(title=TITLE, version=VERSION, openapi_version="3.1.0", info={
        "description": "Complaints, inquiries, suggestions and praise: intake, deadlines, escalation, archive."})
    spec.components.security_scheme("staff", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.security_scheme("hotlineKey", {"type": "apiKey", "in": "header", "name": "x-api-key"})
    models: list[tuple[Any, str]] = []
    paths: dict[str, dict[str, Any]] = {}
    answers: dict[tuple[str, str], RouteDoc] = {}
    for path, methods in sorted(app.routes.items()):
        for method, entry in sorted(methods.items()):
            doc: RouteDoc | None = getattr(entry.view_function, "openapi", None)
            if doc is None:
                raise LookupError(f"{method} {path} has no @http.documented(...)")
            paths.setdefault(path, {})[method.lower()] = _operation(method, path, entry, doc, schemas, models)
            answers[(path, method.lower())] = doc
    _link(paths, answers)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    for name, schema in _schemas(models).items():
        spec.components.schema(name, schema)
    return spec.to_dict()


# An answer that names a thing links to the operations on it: (field, path prefix, path parameter).
LINKS = {"CaseView": ("case_id", "/cases/{case_id}", "case_id"),
         "Receipt": ("tracking_token", "/public/track/{token}", "token"),
         "SpotCheck": ("check_id", "/spot-checks/{check_id}", "check_id")}


def _link(paths: dict[str, dict[str, Any]], answers: dict[tuple[str, str], RouteDoc]) -> None:
    """OpenAPI links: from an answer carrying an id to every operation on that id (a client, and
    schemathesis' stateful tests, follow them: register a case, then act on it)."""
    for (path, method), doc in answers.items():
        if doc.response not in LINKS:
            continue
        field, prefix, param = LINKS[doc.response]
        links = {operation["operationId"]: {"operationId": operation["operationId"],
                                            "parameters": {param: f"$response.body#/{field}"}}
                 for target, operations in paths.items() if target.startswith(prefix)
                 for operation in operations.values()}
        paths[path][method]["responses"][str(doc.status)]["links"] = links


def _operation(method: str, path: str, entry: Any, doc: RouteDoc, schemas: Any,
               models: list[tuple[Any, str]]) -> dict[str, Any]:
    route = (method, path)
    staff = route not in PUBLIC_ROUTES and route not in API_KEY_ROUTES
    if doc.media:
        return _page_operation(path, entry, doc, schemas, models)
    view = getattr(schemas, doc.response)
    models.append((view, "serialization"))
    parameters = [{"in": "path", "name": name, "required": True,
                   "schema": {"type": "string", "minLength": 1, "maxLength": 200}}
                  for name in _PATH_PARAM.findall(path)]
    parameters += [{"in": "query", "name": name, "required": False, "schema": QUERY[name]} for name in doc.query]
    parameters += [{"in": "header", "name": name, "required": False, **HEADERS[name]} for name in doc.headers]
    errors = {503}
    if doc.request is not None or parameters:
        errors.add(400)
    if doc.request is not None:
        errors.add(413)
    if staff:
        errors |= {401, 403}
    elif route in API_KEY_ROUTES:
        errors.add(403)
    if _PATH_PARAM.search(path) or "case_id" in doc.query:
        errors.add(404)
    if (doc.request is not None and _PATH_PARAM.search(path)) or doc.conflicts:
        errors.add(409)  # the thing's state does not allow this (now)
    if "If-Match" in doc.headers:
        errors |= {409, 428}
    if "Idempotency-Key" in doc.headers:
        errors |= {409, 422}
    if (route in PUBLIC_ROUTES and method == "POST") or doc.rate_limited:
        errors.add(429)
    assert errors <= set(STATUS_BY_ERROR.values()) | {401, 403, 503}, errors
    content: dict[str, Any] = {"application/json": {"schema": _ref(view)}}
    if doc.csv:
        content["text/csv"] = {"schema": {"type": "string"}}
    responses: dict[Any, Any] = {str(doc.status): {"description": (entry.view_function.__doc__ or "OK").strip(),
                                                   "content": content}}
    for status in sorted(errors):
        responses[str(status)] = {"description": _REASONS[status],
                                  "content": {"application/json": {"schema": _ref(schemas.ErrorBody)}}}
    models.append((schemas.ErrorBody, "serialization"))
    operation: dict[str, Any] = {
        "operationId": entry.view_name,
        "summary": _summary(entry.view_function.__doc__)
        or _summary(doc.request.__doc__ if isinstance(doc.request, type) else None) or f"{method} {path}",
        "tags": [path.strip("/").split("/")[0]],
        "parameters": parameters,
        "responses": responses,
    }
    if staff:
        roles = sorted(role.value for role in ROUTE_ROLES[route])
        operation["security"] = [{"staff": []}]
        operation["description"] = "Roles: " + ", ".join(roles) + "."
        operation["x-roles"] = roles  # what the console reads to offer a screen only to who may use it
    elif route in API_KEY_ROUTES:
        operation["security"] = [{"hotlineKey": []}]
    else:
        operation["security"] = []
    if doc.request is not None:
        models.append((doc.request, "validation"))
        assert staff or "actor" not in doc.request.model_fields, "only staff commands have an actor"
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(doc.request)}}}
    return operation


def _page_operation(path: str, entry: Any, doc: RouteDoc, schemas: Any,
                    models: list[tuple[Any, str]]) -> dict[str, Any]:
    """A page or asset: text in the given media types; an asset that does not exist is 404."""
    parameters = [{"in": "path", "name": name, "required": True, "schema": {"type": "string", "minLength": 1}}
                  for name in _PATH_PARAM.findall(path)]
    responses: dict[str, Any] = {"200": {"description": _summary(entry.view_function.__doc__) or "a file",
                                         "content": {m: {"schema": {"type": "string"}} for m in doc.media}}}
    if doc.status in (301, 302, 303, 307):
        responses = {str(doc.status): {"description": _summary(entry.view_function.__doc__) or "a redirect",
                                       "headers": {"Location": {"schema": {"type": "string"}}}}}
        return {"operationId": entry.view_name, "summary": responses[str(doc.status)]["description"],
                "tags": ["pages"], "parameters": parameters, "responses": responses, "security": []}
    if parameters:
        models.append((schemas.ErrorBody, "serialization"))
        responses["404"] = {"description": "no such file",
                            "content": {"application/json": {"schema": _ref(schemas.ErrorBody)}}}
    return {"operationId": entry.view_name, "summary": _summary(entry.view_function.__doc__) or f"GET {path}",
            "tags": ["pages"], "parameters": parameters, "responses": responses, "security": []}


def _ref(model: Any) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _summary(docstring: str | None) -> str:
    return (docstring or "").strip().split("\n")[0].strip()


def _schemas(models: list[tuple[Any, str]]) -> dict[str, Any]:
    """Every model's JSON schema (pydantic's own generator) with its nested models as components.

    A staff command is shown without `actor`: the actor is the signed-in user, taken from the
    token, so a client does not send it."""
    from pydantic.json_schema import models_json_schema

    unique = list(dict.fromkeys(models))
    by_model, definitions = models_json_schema(unique, ref_template=_REF)  # type: ignore[arg-type]
    components: dict[str, Any] = dict(definitions.get("$defs", {}))
    for (model, _mode), ref in by_model.items():
        name = model.__name__
        schema = components.get(name) or ref
        if "actor" in schema.get("properties", {}):
            schema = {**schema, "properties": {k: v for k, v in schema["properties"].items()
                                               if k not in SERVER_SET_FIELDS},
                      "required": [r for r in schema.get("required", []) if r not in SERVER_SET_FIELDS]}
        components[name] = schema
    return components
