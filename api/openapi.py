"""The OpenAPI document: the shared error responses, the snapshot body, an example per operation
and per request body.

`tools/openapi.py` writes it to the committed `openapi.json`.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.responses import ErrorBody, ValidationErrorBody
from domain.snapshots import MemberSnapshot

# Every `/api/v1` operation may answer these (api/errors.py writes them); each router declares
# them once (`APIRouter(..., responses=ERROR_RESPONSES)`).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "A body that is not valid JSON, or a snapshot naming a dependent twice",
    },
    401: {"model": ErrorBody, "description": "Missing, malformed or unknown bearer token"},
    404: {"model": ErrorBody, "description": "No such record in the caller's organization"},
    409: {
        "model": ErrorBody,
        "description": "A conflict: a stale version (with `current_version`) or a live duplicate",
    },
    422: {"model": ValidationErrorBody, "description": "Fields refused, each with its reason"},
    503: {
        "model": ErrorBody,
        "description": "The workflow service is unavailable; retry after `Retry-After` seconds",
    },
}

# The member-snapshot POST and its dry run read the raw body themselves (size, UTF-8, the
# inbound text kept as sent), so FastAPI cannot see its schema: it is declared here, from the
# domain's model, its parts named `Snapshot...` in the components (beside the response models).
_SNAPSHOT_PREFIX = "Snapshot"
_SNAPSHOT_SCHEMA = "NewMemberSnapshot"
# A new hire enrolled in one dental plan at Principal (the plan and carrier_config name the
# group's own, as `python -m tools.sample_snapshots <group_id>` fills them).
_ADDRESS = {"street_one": "1 Main St", "city": "Springfield", "state": "IL", "zip_code": "62701"}
SNAPSHOT_EXAMPLE: dict[str, Any] = {
    "snapshot_mode": "current_open",
    "employee": {
        "custom_individual_id": "emp-1001",
        "event_id": "hire",
        "employment": {
            "employment_status": "full-time",
            "hours_worked": 40,
            "employment_dates": {"hire_date": "2026-01-05"},
            "salary": {"amount": 65000.0, "type": "salary", "unit": "annual"},
        },
        "person": {
            "first_name": "Sample",
            "last_name": "Member",
            "date_of_birth": "1980-01-01",
            "sex": "M",
            "home_address": _ADDRESS,
            "mailing_address": _ADDRESS,
        },
    },
    "dependents": [],
    "coverages": [
        {
            "carrier_id": "d0003042-eaae-4491-b219-4825456a3d16",
            "line_of_coverage": "dental",
            "plan_id": "5b8f6a1e-3c2d-4e7f-9a10-2b3c4d5e6f70",
            "carrier_config": {"member_group": "0001", "bill_group": "0001"},
            "enrolled_members": [
                {
                    "individual_type": "employee",
                    "custom_individual_id": "emp-1001",
                    "effective_start_date": "2026-02-01",
                    "effective_end_date": "9999-12-31",
                }
            ],
        }
    ],
    "events": [{"id": "hire", "date": "2026-01-05", "type": "coverage", "reason": "new_hire"}],
}
SNAPSHOT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The employee's whole desired state (`snapshot_mode: current_open`).",
        "content": {
            "application/json": {
                "schema": {"$ref": f"#/components/schemas/{_SNAPSHOT_SCHEMA}"},
                "example": SNAPSHOT_EXAMPLE,
            }
        },
    }
}


def _snapshot_components() -> dict[str, Any]:
    schema = MemberSnapshot.model_json_schema(
        ref_template=f"#/components/schemas/{_SNAPSHOT_PREFIX}{{model}}"
    )
    parts = {f"{_SNAPSHOT_PREFIX}{name}": part for name, part in schema.pop("$defs", {}).items()}
    components = {_SNAPSHOT_SCHEMA: schema, **parts}
    # Generators name a model by its title: `Contact` would clash with the response model.
    for name, part in components.items():
        part["title"] = name
    return components


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document, built once: FastAPI's, with each success response given the
    example of its schema (a list's: a page of one) so every operation shows one."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        schema.setdefault("components", {}).setdefault("schemas", {}).update(_snapshot_components())
        _add_examples(schema)
        _drop_unused_fastapi_errors(schema)
        app.openapi_schema = schema
    return app.openapi_schema


def install(app: FastAPI) -> None:
    """Serve `document(app)` at the app's `openapi_url`."""
    app.openapi = lambda: document(app)  # type: ignore[method-assign]


def _drop_unused_fastapi_errors(schema: dict[str, Any]) -> None:
    """FastAPI adds its `{detail}` 422 schemas; every 422 here is `ValidationErrorBody`. Each is
    dropped once nothing else in the document refers to it."""
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        rest = {
            **schema,
            "components": {
                **schema["components"],
                "schemas": {key: value for key, value in components.items() if key != name},
            },
        }
        if f'"#/components/schemas/{name}"' not in json.dumps(rest):
            components.pop(name, None)


def _add_examples(schema: dict[str, Any]) -> None:
    components = schema.get("components", {}).get("schemas", {})
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            # A request body shows its model's example (api/schemas.py and the routers' bodies
            # declare one each), unless the operation gives its own (the snapshot's).
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None and "example" not in body:
                example = _example_of(body.get("schema", {}), components)
                if example is not None:
                    body["example"] = example
            for status, response in operation.get("responses", {}).items():
                if not str(status).startswith("2"):
                    continue
                content = response.get("content", {}).get("application/json")
                if content is None:
                    continue
                example = _example_of(content.get("schema", {}), components)
                if example is not None:
                    content["example"] = example


def _example_of(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    ref = schema.get("$ref")
    if ref is not None:
        target = components.get(ref.rsplit("/", 1)[-1], {})
        examples = target.get("examples")
        if examples:
            return examples[0]
        if {"meta", "response"} <= set(target.get("properties", {})):
            item = _example_of(target["properties"]["response"].get("items", {}), components)
            if item is not None:
                meta = {"offset": 0, "page_num": 1, "page_size": 20, "total_records": 1}
                return {"meta": meta, "response": [item]}
        return None
    if schema.get("type") == "array":
        item = _example_of(schema.get("items", {}), components)
        return None if item is None else [item]
    # An optional body (`X | None`): the example of X.
    for option in schema.get("anyOf", []):
        example = _example_of(option, components)
        if example is not None:
            return example
    return None
