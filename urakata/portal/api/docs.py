"""/api/v1/docs: the OpenAPI spec as a plain HTML page, rendered on the server.

Swagger UI and ReDoc load scripts from a CDN, which the portal's CSP forbids; a Jinja page
built from the same spec dict serves readers without any script. :func:`describe_spec`
turns the spec into rows the template can print without knowing OpenAPI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, current_app, render_template, url_for

from urakata.portal.security import csrf

bp = Blueprint("api_reference", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
SCHEMA_REF = "#/components/schemas/"
RESPONSE_REF = "#/components/responses/"


@dataclass(frozen=True)
class TypeLabel:
    """How a schema's type reads: ``string (date-time)``, ``array of`` + a schema link."""

    text: str
    ref: str | None = None  # name of a component schema to link to


@dataclass(frozen=True)
class Field:
    name: str
    type: TypeLabel
    required: bool
    description: str = ""
    enum: tuple[str, ...] = ()
    example: str = ""
    where: str = ""  # parameters only: query, path, header


@dataclass(frozen=True)
class Response:
    status: str
    description: str
    type: TypeLabel | None


@dataclass(frozen=True)
class Operation:
    anchor: str
    method: str
    path: str
    summary: str
    description: str
    parameters: list[Field]
    body: TypeLabel | None
    body_fields: list[Field]
    responses: list[Response]
    security: list[str]


@dataclass(frozen=True)
class SchemaDoc:
    name: str
    description: str
    fields: list[Field]


@dataclass
class ApiDoc:
    title: str
    version: str
    description: str
    security_schemes: dict[str, dict[str, Any]]
    operations: list[Operation] = field(default_factory=list)
    schemas: list[SchemaDoc] = field(default_factory=list)


def _ref_name(ref: str, base: str) -> str:
    return ref[len(base) :] if ref.startswith(base) else ref


def type_label(schema: dict[str, Any]) -> TypeLabel:
    if "$ref" in schema:
        name = _ref_name(schema["$ref"], SCHEMA_REF)
        return TypeLabel(name, ref=name)
    kind = schema.get("type", "object")
    if kind == "array":
        inner = type_label(schema.get("items", {}))
        return TypeLabel(f"array of {inner.text}", ref=inner.ref)
    if schema.get("format"):
        return TypeLabel(f"{kind} ({schema['format']})")
    return TypeLabel(kind)


def _fields(schema: dict[str, Any]) -> list[Field]:
    required = set(schema.get("required", ()))
    return [
        Field(
            name=name,
            type=type_label(prop),
            required=name in required,
            description=prop.get("description", ""),
            enum=tuple(str(v) for v in prop.get("enum", ())),
            example=str(prop.get("example", "")),
        )
        for name, prop in schema.get("properties", {}).items()
    ]


def _parameter(param: dict[str, Any]) -> Field:
    schema = param.get("schema", {})
    return Field(
        name=param["name"],
        type=type_label(schema),
        required=bool(param.get("required")),
        description=param.get("description", schema.get("description", "")),
        enum=tuple(str(v) for v in schema.get("enum", ())),
        where=param.get("in", ""),
    )


def _json_schema(content: dict[str, Any]) -> dict[str, Any] | None:
    media = content.get("application/json") or next(iter(content.values()), None)
    return None if media is None else media.get("schema")


def _responses(spec: dict[str, Any], responses: dict[str, Any]) -> list[Response]:
    named = spec.get("components", {}).get("responses", {})
    rows = []
    for status, response in sorted(responses.items(), key=lambda kv: (kv[0] == "default", kv[0])):
        if "$ref" in response:
            response = named.get(_ref_name(response["$ref"], RESPONSE_REF), {})
        schema = _json_schema(response.get("content", {}))
        rows.append(
            Response(status, response.get("description", ""), schema and type_label(schema))
        )
    return rows


def _operation(spec, path: str, method: str, op: dict[str, Any], shared: list) -> Operation:
    body = body_schema = None
    if "requestBody" in op:
        body_schema = _json_schema(op["requestBody"].get("content", {}))
        body = body_schema and type_label(body_schema)
    security = op.get("security", spec.get("security", []))
    return Operation(
        anchor=f"{method}-{path.strip('/').replace('/', '-')}",
        method=method.upper(),
        path=path,
        summary=op.get("summary", ""),
        description=op.get("description", ""),
        parameters=[_parameter(p) for p in [*shared, *op.get("parameters", [])]],
        body=body,
        # An inline body schema has no section of its own: list its fields here.
        body_fields=_fields(body_schema) if body_schema and "$ref" not in body_schema else [],
        responses=_responses(spec, op.get("responses", {})),
        security=[name for requirement in security for name in requirement],
    )


def _referenced_schemas(node: Any, schemas: dict[str, Any], found: list[str]) -> None:
    """Schema names reachable from ``node`` through ``$ref``, in first-seen order."""
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith(SCHEMA_REF):
            name = _ref_name(ref, SCHEMA_REF)
            if name not in found and name in schemas:
                found.append(name)
                _referenced_schemas(schemas[name], schemas, found)
        for value in node.values():
            _referenced_schemas(value, schemas, found)
    elif isinstance(node, list):
        for value in node:
            _referenced_schemas(value, schemas, found)


def describe_spec(spec: dict[str, Any]) -> ApiDoc:
    """The parts of an OpenAPI 3 spec a reader needs, as plain rows."""
    components = spec.get("components", {})
    info = spec.get("info", {})
    doc = ApiDoc(
        title=info.get("title", ""),
        version=info.get("version", ""),
        description=info.get("description", ""),
        security_schemes=components.get("securitySchemes", {}),
    )
    for path, item in spec.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                doc.operations.append(
                    _operation(spec, path, method, item[method], item.get("parameters", []))
                )
    schemas = components.get("schemas", {})
    # Only schemas an operation uses (directly, via a response, or nested): flask-smorest
    # registers helpers such as PaginationMetadata that no endpoint may use yet.
    names: list[str] = []
    _referenced_schemas([spec.get("paths", {}), components.get("responses", {})], schemas, names)
    doc.schemas = [
        SchemaDoc(name, schemas[name].get("description", ""), _fields(schemas[name]))
        for name in names
    ]
    return doc


@bp.get("/docs")
def api_docs():
    spec = current_app.extensions["urakata.api"].spec.to_dict()
    return render_template(
        "api/docs.html",
        doc=describe_spec(spec),
        spec_url=url_for("api-docs.openapi_json"),
    )
