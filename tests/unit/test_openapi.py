"""The OpenAPI document: committed as served, typed, described, with examples and real errors."""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
import pytest
from pydantic import BaseModel

import api.routers.admin
import api.routers.auth
import api.routers.webhooks
import api.schemas
from api.app import create_app
from api.openapi import document
from domain import renewals
from domain.snapshots import MemberSnapshot
from runtime.settings import Settings
from tools.openapi import DOCUMENT, main

ERROR_STATUSES = {"400", "401", "404", "409", "422", "503"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return document(create_app(Settings(_env_file=None)))


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


def success(operation: dict[str, Any]) -> dict[str, Any]:
    return next(r for status, r in operation["responses"].items() if status.startswith("2"))


def answers_a_body(operation: dict[str, Any]) -> bool:
    """False for a 204 success: No Content has no body by definition, so nothing to give a schema
    or an example (`DELETE /webhook_subscriptions/{id}`); the body checks skip only those."""
    status = next(status for status in operation["responses"] if status.startswith("2"))
    return status != "204"


def test_the_committed_document_is_the_apps(spec: dict[str, Any]) -> None:
    assert DOCUMENT.exists(), "run `python -m tools.openapi`"
    assert json.loads(DOCUMENT.read_text()) == spec, (
        "openapi.json is stale: python -m tools.openapi"
    )
    assert main(["--check"]) == 0


def test_every_operation_is_described_and_has_an_example(spec: dict[str, Any]) -> None:
    undescribed = [(m, p) for m, p, op in operations(spec) if not op.get("description")]
    assert undescribed == []
    without_example = [
        (m, p)
        for m, p, op in operations(spec)
        if answers_a_body(op)
        and "example" not in success(op).get("content", {}).get("application/json", {})
    ]
    assert without_example == []


def test_every_success_response_is_a_named_schema(spec: dict[str, Any]) -> None:
    """No bare `object`: a client generator needs a model (or a list of one) per answer."""
    untyped = []
    for method, path, operation in operations(spec):
        if not answers_a_body(operation):
            continue
        schema = success(operation)["content"]["application/json"]["schema"]
        if "$ref" not in schema and "$ref" not in schema.get("items", {}):
            untyped.append((method, path, schema))
    assert untyped == []


def test_api_operations_declare_the_real_error_bodies_and_the_bearer_scheme(
    spec: dict[str, Any],
) -> None:
    api = [(m, p, op) for m, p, op in operations(spec) if p.startswith("/api/")]
    assert len(api) >= 54
    for method, path, operation in api:
        assert set(operation["responses"]) >= ERROR_STATUSES, (method, path)
        error = operation["responses"]["404"]["content"]["application/json"]["schema"]
        assert error == {"$ref": "#/components/schemas/ErrorBody"}
        invalid = operation["responses"]["422"]["content"]["application/json"]["schema"]
        assert invalid == {"$ref": "#/components/schemas/ValidationErrorBody"}
        assert operation.get("security") == [{"HTTPBearer": []}], (method, path)
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas  # FastAPI's `{detail}`: never answered here
    assert set(schemas["ValidationErrorBody"]["required"]) == {"message", "status", "errors"}
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_every_body_has_a_schema_the_snapshot_one_from_the_domain(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        if method in {"post", "put"} and "requestBody" in operation:
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert "$ref" in body or "anyOf" in body, (method, path)
    for path in (
        "/api/v1/groups/{group_id}/member_snapshots",
        "/api/v1/groups/{group_id}/member_snapshots/test",
    ):
        body = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        assert body["schema"] == {"$ref": "#/components/schemas/NewMemberSnapshot"}
    snapshot = spec["components"]["schemas"]["NewMemberSnapshot"]
    assert {"snapshot_mode", "employee"} <= set(snapshot["required"])
    refs = json.dumps(snapshot)
    assert "#/components/schemas/SnapshotEmployee" in refs
    assert "SnapshotEmployee" in spec["components"]["schemas"]


def test_operation_ids_are_the_handlers_names(spec: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in operations(spec)]
    assert len(ids) == len(set(ids))
    assert "create_connection_with_new_group" in ids


def body_models() -> dict[str, type[BaseModel]]:
    """The models the API reads its bodies into, by the schema name the document gives them."""
    modules = [api.schemas, api.routers.webhooks, api.routers.auth, api.routers.admin, renewals]
    models = {
        name: value
        for module in modules
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, BaseModel)
    }
    return models | {"NewMemberSnapshot": MemberSnapshot}


def test_every_request_body_has_an_example_its_model_accepts(spec: dict[str, Any]) -> None:
    models = body_models()
    checked = []
    for method, path, operation in operations(spec):
        if "requestBody" not in operation:
            continue
        content = operation["requestBody"]["content"]["application/json"]
        assert "example" in content, (method, path)
        schema = content["schema"]
        refs = [schema] if "$ref" in schema else [s for s in schema["anyOf"] if "$ref" in s]
        name = refs[0]["$ref"].rsplit("/", 1)[-1]
        # As the API reads it (bounds, validators, no unknown fields) and as the document says.
        models[name].model_validate(content["example"])
        jsonschema_rs.Draft202012Validator({**schema, "components": spec["components"]}).validate(
            content["example"]
        )
        checked.append((method, path))
    assert len(checked) >= 20
