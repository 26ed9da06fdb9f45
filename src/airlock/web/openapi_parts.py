"""The pieces the OpenAPI document is built from: references, responses, parameters, the
error envelope and its codes, operations. ``openapi`` assembles the document from them, with
``openapi_admin`` and ``openapi_direct`` (each describing one group of routes)."""

from __future__ import annotations

from typing import Any

from airlock.core.pagination import DEFAULT_LIMIT, MAX_LIMIT
from airlock.errors import Unavailable, all_error_classes

Json = dict[str, Any]

MAX_PAGE = MAX_LIMIT
DEFAULT_PAGE = DEFAULT_LIMIT

# Reason phrases, used to name the shared error responses (``#/components/responses/NotFound``).
_REASONS = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
    405: "MethodNotAllowed", 409: "Conflict", 410: "Gone", 412: "PreconditionFailed",
    413: "TooLarge", 415: "UnsupportedMediaType", 422: "UnprocessableContent",
    429: "RateLimited", 460: "ChecksumMismatch", 500: "InternalError",
    503: "ServiceUnavailable", 507: "InsufficientStorage",
}  # fmt: skip


# Small builders -------------------------------------------------------------------------------


def ref(kind: str, name: str) -> Json:
    """A ``$ref`` into ``#/components/<kind>/<name>``."""
    return {"$ref": f"#/components/{kind}/{name}"}


def schema_ref(name: str) -> Json:
    return ref("schemas", name)


def json_content(schema: Json) -> Json:
    return {"application/json": {"schema": schema}}


def json_response(description: str, schema: Json, headers: Json | None = None) -> Json:
    response: Json = {"description": description, "content": json_content(schema)}
    if headers:
        response["headers"] = headers
    return response


def header(description: str, schema: Json | None = None, required: bool = False) -> Json:
    schema = schema or {"type": "string"}
    return {"description": description, "required": required, "schema": schema}


# Headers some error statuses carry besides ``Cache-Control: no-store``.
_ERROR_HEADERS: dict[int, Json] = {
    401: {"WWW-Authenticate": header(
        '`Bearer realm="airlock"`; `Basic realm="airlock share link"` for a share link that '
        "needs its password.", required=True,
    )},
    405: {"Allow": header("The methods the path does accept.", required=True)},
    429: {"Retry-After": header("Seconds to wait.", {"type": "integer"}, required=True)},
}


def parameter(
    where: str, name: str, description: str, schema: Json, required: bool = False
) -> Json:
    return {
        "name": name,
        "in": where,
        "description": description,
        "required": required or where == "path",
        "schema": schema,
    }


def json_body(schema: Json, description: str) -> Json:
    return {"required": True, "description": description, "content": json_content(schema)}


def nullable(schema: Json) -> Json:
    """``schema`` or ``null`` (OpenAPI 3.1 has no ``nullable``)."""
    return {"oneOf": [schema, {"type": "null"}]}


# Has a character Python's str.strip() keeps (JSON Schema's \\s lacks \\x1c-\\x1f and \\x85).
NOT_BLANK = "[^\\s\\x1c-\\x1f\\x85]"
TIMESTAMP: Json = {"type": "string", "format": "date-time", "description": "RFC 3339, UTC."}
ID: Json = {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "minLength": 1, "maxLength": 64}
TOKEN: Json = {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "minLength": 1, "maxLength": 128}
# A name in a path segment: no "/", and not "." or ".." (which clients resolve away).
NAME: Json = {"type": "string", "minLength": 1, "pattern": "^[^/]*[^/.][^/]*$"}
BINARY: Json = {"type": "string", "format": "binary"}


# Errors ---------------------------------------------------------------------------------------


def error_codes() -> dict[int, list[str]]:
    """API.md's error codes, grouped by the status that carries them."""
    by_status: dict[int, list[str]] = {}
    for cls in all_error_classes():
        by_status.setdefault(cls.status, []).append(cls.code)
    # A passing outage of a backend keeps internal_error's code with status 503.
    by_status[Unavailable.status].append(Unavailable.code)
    return by_status


def all_codes() -> list[str]:
    return [code for codes in error_codes().values() for code in codes]


def error_envelope(codes: list[str] | None = None, rejected: bool = False) -> Json:
    """The JSON error envelope, its ``code`` any of API.md's or restricted to ``codes``;
    ``rejected`` adds the per-file rejections a multipart upload answers beside ``error``."""
    code = schema_ref("ErrorCode") if codes is None else {"type": "string", "enum": codes}
    envelope: Json = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": code,
                    "message": {"type": "string", "description": "For people; may change."},
                    "details": {"type": "object", "description": "For programs; per code."},
                },
            }
        },
    }
    if rejected:
        envelope["properties"]["rejected"] = {"type": "array", "items": schema_ref("Rejection")}
    return envelope


def error_response(status: int, rejected: bool = False) -> Json:
    """The response for one error status, its codes listed and enforced."""
    codes = error_codes()[status]
    listed = ", ".join(f"`{c}`" for c in codes)
    headers: Json = {"Cache-Control": header("`no-store`.", {"const": "no-store"}, required=True)}
    headers.update(_ERROR_HEADERS.get(status, {}))
    return json_response(f"Error: {listed}.", error_envelope(codes, rejected), headers)


def response_name(status: int) -> str:
    """The name of the shared error response for ``status`` (``NotFound``)."""
    return _REASONS.get(status, f"Error{status}")


def errors(*statuses: int) -> Json:
    """``responses`` entries for error statuses, as references to the shared ones."""
    return {str(s): ref("responses", response_name(s)) for s in statuses}


def upload_errors(*statuses: int) -> Json:
    """Error responses of the multipart upload, whose envelope may also list ``rejected``."""
    return {str(s): error_response(s, rejected=True) for s in statuses}


# Schemas --------------------------------------------------------------------------------------


PUBLIC: list[Json] = []  # ``security`` of an operation that needs no credentials


def operation(
    op_id: str, tag: str, summary: str, responses: Json, *, description: str | None = None,
    params: list[Json] | None = None, body: Json | None = None, security: list[Json] | None = None,
) -> Json:  # fmt: skip
    op: Json = {"operationId": op_id, "tags": [tag], "summary": summary}
    if description:
        op["description"] = description
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = body
    op["responses"] = responses
    if security is not None:
        op["security"] = security
    return op
