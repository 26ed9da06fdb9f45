"""The OpenAPI 3.1 description of the API, served at ``/api/v1/openapi.json``.

Built in code from small helpers so that it stays readable and in step with the routes:

* the error ``code`` enum (and which codes each status may carry) comes from
  ``airlock.errors.all_error_classes()``, the same table the error translator uses;
* every error response carries API.md's envelope ``{"error": {"code", "message", "details"}}``;
* the responses that carry a File's bytes (``/content``, ``/s/…``, ``/f/…``) share one
  description of API.md's Serving headers, conditional requests and ranges.

The pieces are ``openapi_parts``'s; ``openapi_admin`` and ``openapi_direct`` describe the
session, admin and direct-upload routes.
"""

from __future__ import annotations

import re
from typing import Any

from airlock import __version__, shapes
from airlock.core.jsonshape import components
from airlock.shapes import API, MAX_EXPIRES_IN
from airlock.web import openapi_admin, openapi_direct, openapi_drops
from airlock.web.openapi_parts import (
    BINARY,
    DEFAULT_PAGE,
    ID,
    MAX_PAGE,
    NAME,
    PUBLIC,
    TOKEN,
    Json,
    all_codes,
    error_codes,
    error_envelope,
    error_response,
    errors,
    header,
    json_body,
    json_response,
    operation,
    parameter,
    ref,
    response_name,
    schema_ref,
    upload_errors,
)


def schemas() -> Json:
    """The document's schemas: the error envelope (from the error classes) and every body
    ``shapes`` declares."""
    return {
        "ErrorCode": {"type": "string", "enum": all_codes()},
        "Error": error_envelope(),
        "Rejection": {
            "type": "object",
            "required": ["name", "error"],
            "properties": {
                "name": {"type": "string"},
                "error": error_envelope()["properties"]["error"],
            },
        },
        **components(shapes.COMPONENTS),
    }


# Parameters -----------------------------------------------------------------------------------


def parameters() -> Json:
    return {
        "FileId": parameter("path", "id", "A File's `id`.", ID),
        "Range": parameter(
            "header",
            "Range",
            "One `bytes` range (`bytes=0-99`, `bytes=100-`, `bytes=-100`): 206, or 416 when it "
            "starts past the end. Several ranges and malformed headers are ignored (200).",
            {"type": "string", "maxLength": 1024},
        ),
        "IfRange": parameter(
            "header", "If-Range", "Honour `Range` only while the ETag still matches.",
            {"type": "string"},
        ),  # fmt: skip
        "IfNoneMatch": parameter(
            "header", "If-None-Match", "The File's ETag (or `*`): 304.", {"type": "string"}
        ),
        "Download": parameter(
            "query",
            "download",
            "`1`: always `Content-Disposition: attachment`.",
            {"type": "string", "enum": ["0", "1"]},
        ),
    }


def byte_parameters() -> list[Json]:
    return [
        ref("parameters", name) for name in ("Range", "IfRange", "IfNoneMatch", "Download")
    ]


# Responses ------------------------------------------------------------------------------------


def serving_headers(*, partial: bool = False) -> Json:
    """The headers API.md's Serving section puts on every response carrying a File's bytes."""
    headers = {
        "Content-Disposition": header(
            "`inline` for passive types only, else `attachment` (and with `download=1`); "
            "RFC 6266 `filename*=UTF-8''…`.",
            {"type": "string", "pattern": "^(inline|attachment); filename=\"[^\"]*\"; "
             "filename\\*=UTF-8''"},
            required=True,
        ),  # fmt: skip
        "Content-Length": header("Bytes in this response.", {"type": "integer"}, required=True),
        "ETag": header("`\"<sha256 hex>\"` (strong).", {"pattern": '^"[0-9a-f]{64}"$'}, True),
        "Last-Modified": header("When the File was stored (HTTP date).", required=True),
        "Accept-Ranges": header("`bytes`.", {"const": "bytes"}, required=True),
        "Cache-Control": header(
            "`private, …` for private Files, `public, …` for public ones.",
            {"pattern": "^(private|public)\\b"}, required=True,
        ),  # fmt: skip
        "X-Content-Type-Options": header("`nosniff`.", {"const": "nosniff"}, required=True),
        "Content-Security-Policy": header(
            "`sandbox; default-src 'none'`.", {"const": "sandbox; default-src 'none'"}, True
        ),
    }
    if partial:
        headers["Content-Range"] = header(
            "`bytes FIRST-LAST/SIZE`.", {"pattern": "^bytes [0-9]+-[0-9]+/[0-9]+$"}, True
        )
    return headers


def byte_responses(*error_statuses: int, head: bool = False) -> Json:
    """200/206/304/416 of a route serving a File's bytes, then its errors. ``head``: the same
    answers without a body."""
    bytes_content = {"*/*": {"schema": {"description": "The File's bytes."}}}
    full: Json = {
        "description": "The bytes. `Content-Type` is the detected type; types a browser could "
        "execute are served as `text/plain` or `application/octet-stream`, as an attachment.",
        "headers": serving_headers(),
    }
    partial: Json = {
        "description": "The requested range.", "headers": serving_headers(partial=True)
    }
    if not head:
        full["content"] = bytes_content
        partial["content"] = bytes_content
    # Werkzeug drops Last-Modified from a 304, as RFC 9110 allows when there is an ETag.
    kept = ("ETag", "Cache-Control", "X-Content-Type-Options")
    not_modified_headers = {name: serving_headers()[name] for name in kept}
    responses: Json = {
        "200": full,
        "206": partial,
        "304": {"description": "`If-None-Match` matched.", "headers": not_modified_headers},
        "416": {
            "description": "The range starts past the end. No body.",
            "headers": {
                "Content-Range": header(
                    "`bytes */SIZE`.", {"pattern": "^bytes \\*/[0-9]+$"}, required=True
                )
            },
        },
    }
    if not head:
        empty = {"type": "string", "maxLength": 0}
        responses["416"]["content"] = {"text/plain": {"schema": empty}}
    for status in error_statuses:
        responses[str(status)] = (
            {"description": error_response(status)["description"]} if head
            else ref("responses", response_name(status))
        )  # fmt: skip
    return responses


def shared_responses() -> Json:
    """The error responses operations refer to, one per status."""
    return {response_name(status): error_response(status) for status in error_codes()}


# Operations -----------------------------------------------------------------------------------

def byte_operations(
    op_id: str, tag: str, summary: str, *errs: int, params: list[Json], description: str,
    head_description: str, security: list[Json] | None = None,
) -> Json:  # fmt: skip
    """``get`` and ``head`` of a route serving a File's bytes."""
    all_params = params + byte_parameters()
    return {
        "get": operation(
            op_id, tag, summary, byte_responses(*errs), description=description,
            params=all_params, security=security,
        ),
        "head": operation(
            "head" + op_id[0].upper() + op_id[1:], tag, summary + " (headers only)",
            byte_responses(*errs, head=True), description=head_description,
            params=all_params, security=security,
        ),
    }  # fmt: skip


UPLOAD_REJECTIONS = (413, 415, 422, 503, 507)


def file_paths() -> Json:
    file_id = [ref("parameters", "FileId")]
    multipart = {
        "type": "object",
        "required": ["file"],
        "properties": {
            "file": {
                "type": "array",
                "minItems": 1,
                "items": BINARY,
                "description": "One part per file, each with a file name.",
            },
            "visibility": schema_ref("Visibility"),
            "expires_in": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_EXPIRES_IN,
                "description": "Seconds until the File expires.",
            },
        },
    }
    return {
        f"{API}/files": {
            "post": operation(
                "uploadFiles", "files", "Upload files (multipart/form-data)",
                {
                    "201": json_response(
                        "At least one file was stored; the others are in `rejected`.",
                        schema_ref("UploadResult"),
                    ),
                    **upload_errors(400, 401, *UPLOAD_REJECTIONS),
                },
                description="Every part named `file` is checked in API.md's order (size, "
                "empty, name, type, extension, content safety, malware, quota). When no file "
                "was stored the answer is the first rejection's status and `error`, plus "
                "`rejected`.",
                body={
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": multipart,
                            "encoding": {"file": {"contentType": "application/octet-stream"}},
                        }
                    },
                },
            ),  # fmt: skip
            "get": operation(
                "listFiles", "files", "The caller's Files, newest first",
                {"200": json_response("A page of Files.", schema_ref("FileList")),
                 **errors(400, 401)},
                params=[
                    parameter("query", "limit", f"Page size (default {DEFAULT_PAGE}).",
                              {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
                    parameter("query", "cursor", "`next_cursor` of the previous page.",
                              {"type": "string"}),
                    parameter("query", "q", "Only Files whose name contains this (any case).",
                              {"type": "string", "maxLength": 255}),
                    parameter("query", "drop", "Only Files that arrived through this drop "
                              "link (its `id`).", {"type": "string", "maxLength": 64}),
                ],
            ),  # fmt: skip
        },
        # One path item for both: OpenAPI forbids two templates of the same shape
        # (``/files/{filename}`` beside ``/files/{id}``). For PUT the segment is a file *name*.
        f"{API}/files/{{id}}": {
            "put": operation(
                "uploadRaw", "files", "Upload one file as the raw body (`curl -T`)",
                {
                    "201": json_response(
                        "Stored.", schema_ref("File"),
                        {"Location": header("The File's URL.", required=True)},
                    ),
                    **errors(400, 401, *UPLOAD_REJECTIONS),
                },
                description="`PUT /api/v1/files/{filename}`: here the last path segment is the "
                "file's name (sanitized into the display name), not an id. The same checks as "
                "the multipart upload.",
                params=[
                    parameter("path", "id", "The file's name (`{filename}` in API.md).", NAME),
                    parameter("query", "visibility", "Default `private`.",
                              schema_ref("Visibility")),
                    parameter("query", "expires_in", "Seconds until the File expires.",
                              {"type": "integer", "minimum": 1, "maximum": MAX_EXPIRES_IN}),
                ],
                body={
                    "required": True,
                    "content": {
                        "application/octet-stream": {"schema": BINARY},
                    },
                },
            ),  # fmt: skip
            "get": operation(
                "getFile", "files", "A File",
                {"200": json_response("The File.", schema_ref("File")), **errors(401, 404, 410)},
                params=file_id,
            ),  # fmt: skip
            "patch": operation(
                "updateFile", "files", "Rename, change visibility or expiry",
                {
                    "200": json_response("The changed File.", schema_ref("File")),
                    **errors(400, 401, 403, 404, 410, 415, 422),
                },
                description="A new name must keep an extension that fits the bytes "
                "(`type_not_allowed`, `content_mismatch`); `expires_at: null` removes the "
                "expiry.",
                params=file_id,
                body=json_body(
                    schema_ref("FileUpdate"), "Any of `name`, `visibility`, `expires_at`."
                ),
            ),  # fmt: skip
            "delete": operation(
                "deleteFile", "files", "Delete a File",
                {"204": {"description": "Deleted; the bytes are gone from storage."},
                 **errors(401, 403, 404)},
                params=file_id,
            ),  # fmt: skip
        },
        f"{API}/files/{{id}}/content": byte_operations(
            "getFileContent", "files", "A File's bytes", 401, 404, 410,
            params=file_id,
            description="API.md's Serving rules: safe `Content-Type`, `Content-Disposition`, "
            "`ETag`, ranges and conditional requests.",
            head_description="The headers `GET` would send.",
        ),  # fmt: skip
        f"{API}/files/{{id}}/thumbnail": {
            "parameters": file_id,
            "get": operation(
                "getFileThumbnail", "files", "A small preview of an image File",
                {
                    "200": {
                        "description": "A WebP of at most 256 pixels a side, with the same "
                        "safe headers as the File's bytes.",
                        "content": {"image/webp": {"schema": BINARY}},
                    },
                    "304": {"description": "`If-None-Match` matched."},
                    **errors(401, 404, 410),
                },
            ),
        },
        f"{API}/files/{{id}}/links": {
            "parameters": file_id,
            "post": operation(
                "createLink", "links", "Create a share link",
                {
                    "201": json_response("The link.", schema_ref("Link")),
                    **errors(400, 401, 403, 404, 410, 415),
                },
                body=json_body(schema_ref("LinkRequest"),
                               "Lifetime, and an optional download cap and password."),
            ),  # fmt: skip
            "get": operation(
                "listLinks", "links", "The File's share links",
                {
                    "200": json_response("Oldest first, spent and expired ones included.",
                                         schema_ref("LinkList")),
                    **errors(401, 403, 404),
                },
            ),  # fmt: skip
        },
        f"{API}/links": {
            "post": operation(
                "createMultiLink", "links", "One share link for several Files",
                {
                    "201": json_response("The link.", schema_ref("Link")),
                    **errors(400, 401, 404, 415),
                },
                description="`/s/{token}` of such a link answers a zip of its Files, streamed "
                "(zip64 past 4 GiB); `/s/{token}/{file_id}` one of them. Each counts as one "
                "download.",
                body=json_body(schema_ref("LinksRequest"),
                               "The Files, lifetime, and an optional download cap and password."),
            ),  # fmt: skip
        },
        f"{API}/links/{{link_id}}": {
            "delete": operation(
                "revokeLink", "links", "Revoke a share link",
                {"204": {"description": "Revoked: its address answers 404 from now on."},
                 **errors(401, 404)},
                params=[parameter("path", "link_id", "A link's `id`.", ID)],
            ),  # fmt: skip
        },
    }


def public_paths() -> Json:
    return {
        "/s/{token}": byte_operations(
            "getSharedFile", "links", "A share link's File, no login", 401, 404, 410, 429,
            params=[parameter("path", "token", "The link's token.", TOKEN)],
            description="Counts one download. 410 `gone` once expired or used up; 404 for a "
            "forged or revoked token; 401 `unauthorized` for a link with a password until it "
            "is given (HTTP Basic, any user name; or the share page's unlock cookie). A link "
            "to several Files answers them as one `application/zip`, streamed, as an "
            "attachment with `Content-Length` (no `ETag`, no ranges).",
            head_description="Like `GET`, but does not count a download.",
            security=[{}, {"linkPassword": []}],
        ),  # fmt: skip
        "/s/{token}/{file_id}": byte_operations(
            "getSharedFileOf", "links", "One File of a share link, no login",
            401, 404, 410, 429,
            params=[parameter("path", "token", "The link's token.", TOKEN),
                    parameter("path", "file_id", "One of the link's Files.", ID)],
            description="Counts one download of the link. 404 for a File the link does not "
            "serve; otherwise as `/s/{token}`.",
            head_description="Like `GET`, but does not count a download.",
            security=[{}, {"linkPassword": []}],
        ),  # fmt: skip
        "/f/{id}/{name}": byte_operations(
            "getPublicFile", "files", "A public File, no login", 404, 410,
            params=[
                ref("parameters", "FileId"),
                parameter("path", "name", "Any name (the File's, for a readable URL).", NAME),
            ],
            description="Public Files only; private ones are 404.",
            head_description="The headers `GET` would send.",
            security=PUBLIC,
        ),  # fmt: skip
    }


def account_paths() -> Json:
    return {
        f"{API}/me": {
            "get": operation(
                "getMe", "account", "The caller",
                {"200": json_response("Who you are and what you store.", schema_ref("Me")),
                 **errors(401)},
            ),  # fmt: skip
        },
        f"{API}/me/password": {
            "post": operation(
                "changePassword", "account", "Change your own password",
                {"204": {"description": "Changed; your other browser sessions have ended."},
                 **errors(400, 401, 403, 415, 429)},
                description="403 `forbidden` when `current` is not your password (tried a "
                "limited number of times, as sign-ins).",
                body=json_body(schema_ref("PasswordChange"), "Your current and new password."),
            ),  # fmt: skip
        },
        f"{API}/tokens": {
            "post": operation(
                "createToken", "account", "Create an API token",
                {
                    "201": json_response(
                        "The token; its secret is shown this once.", schema_ref("NewToken"),
                        {"Cache-Control": header("`no-store`.", {"const": "no-store"}, True)},
                    ),
                    **errors(400, 401, 415),
                },
                body=json_body(schema_ref("TokenRequest"), "The token's name."),
            ),  # fmt: skip
            "get": operation(
                "listTokens", "account", "The caller's API tokens",
                {"200": json_response("The tokens (no secrets).", schema_ref("TokenList")),
                 **errors(401)},
            ),  # fmt: skip
        },
        f"{API}/tokens/{{id}}": {
            "delete": operation(
                "deleteToken", "account", "Revoke an API token",
                {"204": {"description": "Revoked."}, **errors(401, 404)},
                params=[parameter("path", "id", "The token's `id`.", ID)],
            ),  # fmt: skip
        },
        f"{API}/openapi.json": {
            "get": operation(
                "getOpenapi", "meta", "This document",
                {"200": json_response("OpenAPI 3.1.", {"type": "object"})},
                security=PUBLIC,
            ),  # fmt: skip
        },
    }


def ops_paths() -> Json:
    return {
        "/healthz": {
            "get": operation(
                "healthz", "ops", "Liveness",
                {"200": json_response("The process serves requests.", schema_ref("Health"))},
                security=PUBLIC,
            ),  # fmt: skip
        },
        "/readyz": {
            "get": operation(
                "readyz", "ops", "Readiness: database, storage, scanner",
                {
                    "200": json_response("Ready.", schema_ref("Readiness")),
                    "503": json_response("Not ready; `checks` says what is wrong.",
                                         schema_ref("Readiness")),
                },
                security=PUBLIC,
            ),  # fmt: skip
        },
        "/metrics": {
            "get": operation(
                "metrics", "ops", "Prometheus metrics",
                {"200": {"description": "Prometheus text exposition format.",
                         "content": {"text/plain": {"schema": {"type": "string"}}}}},
                security=PUBLIC,
            ),  # fmt: skip
        },
    }


def tus_paths() -> Json:
    """The tus 1.0.0 endpoints (https://tus.io/protocols/resumable-upload)."""
    version = parameter("header", "Tus-Resumable", "The tus version: `1.0.0`.",
                        {"const": "1.0.0"}, required=True)  # fmt: skip
    upload_id = parameter("path", "id", "The upload's id (the last part of its URL).", ID)
    count: Json = {"type": "integer", "minimum": 0}
    state = {
        "Upload-Offset": header("Bytes received so far.", count),
        "Upload-Expires": header("When an unfinished upload is dropped (HTTP date)."),
    }
    done = {"Upload-File-Id": header("The File this upload became, once every check passed.")}
    created = {"Location": header("The upload's URL.", required=True), **state, **done}
    rejections = (413, 415, 422, 460, 503, 507)
    octets = {"required": False, "description": "Bytes from offset 0 (creation-with-upload).",
              "content": {"application/offset+octet-stream": {"schema": BINARY}}}  # fmt: skip
    return {
        f"{API}/tus/": {
            "options": operation(
                "tusOptions", "tus", "What the tus server supports",
                {"204": {"description": "Tus-Version, Tus-Extension, Tus-Max-Size, "
                                        "Tus-Checksum-Algorithm."}},
                security=PUBLIC,
            ),  # fmt: skip
            "post": operation(
                "tusCreate", "tus", "Create an upload (or join partial ones)",
                {"201": {"description": "Created.", "headers": created},
                 **errors(400, 401, 404, 409, 412), **errors(*rejections)},
                params=[
                    version,
                    parameter("header", "Upload-Length", "Total size in bytes.", count),
                    parameter("header", "Upload-Defer-Length", "`1`: size told later.",
                              {"const": "1"}),
                    parameter("header", "Upload-Metadata",
                              "`filename`, `filetype` (ignored), `visibility`, `expires_in` "
                              "(seconds until the File expires); base64 values.",
                              {"type": "string"}),
                    parameter("header", "Upload-Concat", "`partial`, or `final;URL URL …`.",
                              {"type": "string"}),
                ],
                body=octets,
            ),  # fmt: skip
        },
        f"{API}/tus/{{id}}": {
            "options": operation(
                "tusOptionsUpload", "tus", "What the tus server supports",
                {"204": {"description": "As for the collection."}},
                params=[upload_id], security=PUBLIC,
            ),  # fmt: skip
            "head": operation(
                "tusHead", "tus", "An upload's progress",
                {"200": {"description": "In progress.", "headers": state},
                 "303": {"description": "Finished: `Location` is the File.", "headers": done},
                 **errors(401, 404, 410, 412)},
                params=[version, upload_id],
            ),  # fmt: skip
            "get": operation(
                "tusGet", "tus", "As HEAD (finished uploads answer 303 to their File)",
                {"200": {"description": "In progress.", "headers": state},
                 "303": {"description": "Finished: `Location` is the File.", "headers": done},
                 **errors(401, 404, 410, 412)},
                params=[version, upload_id],
            ),  # fmt: skip
            "patch": operation(
                "tusPatch", "tus", "Append bytes at Upload-Offset",
                {"204": {"description": "Appended; the last byte runs every check.",
                         "headers": {**state, **done}},
                 **errors(400, 401, 403, 404, 409, 410, 412), **errors(*rejections)},
                params=[
                    version, upload_id,
                    parameter("header", "Upload-Offset", "Where these bytes go.", count,
                              required=True),
                    parameter("header", "Upload-Checksum", "`sha1|md5|sha256 <base64>`.",
                              {"type": "string"}),
                ],
                body={"required": True, "description": "The bytes.",
                      "content": {"application/offset+octet-stream": {"schema": BINARY}}},
            ),  # fmt: skip
            "delete": operation(
                "tusTerminate", "tus", "Terminate an upload",
                {"204": {"description": "Gone, with its bytes."},
                 **errors(401, 404, 410, 412)},
                params=[version, upload_id],
            ),  # fmt: skip
        },
    }


# The document ---------------------------------------------------------------------------------


def openapi_document(api: str = API, root: str = "", ops: bool = True) -> dict[str, Any]:
    """The OpenAPI 3.1 document of an app serving the API at ``api`` (its path, ``root``
    included), the public routes under ``root`` (the app's ``SCRIPT_NAME``), and the
    operations endpoints if ``ops``: the service's is API.md's paths as they are."""
    doc = _document()
    if (api, root, ops) == (API, "", True):
        return doc
    return _mounted(doc, api, root, ops)


def _mounted(doc: dict[str, Any], api: str, root: str, ops: bool) -> dict[str, Any]:
    """``doc`` with its paths, the patterns its links are held to and the paths its
    descriptions name moved to where this app serves them."""
    relative = api[len(root):]
    moved = (("^" + API + "/", "^" + re.escape(api) + "/"),
             ("^/f/", "^" + re.escape(root) + "/f/"), ("^/s/", "^" + re.escape(root) + "/s/"))

    def walk(node: Any, key: str = "") -> Any:
        if isinstance(node, dict):
            return {k: walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str) and key == "pattern":
            for old, new in moved:
                if node.startswith(old):
                    return new + node[len(old):]
            return node
        if isinstance(node, str):
            return node.replace(API + "/", relative + "/")
        return node

    ops_paths_ = set(ops_paths())
    paths = {}
    for path, item in doc["paths"].items():
        if path in ops_paths_ and not ops:
            continue
        paths[relative + path[len(API):] if path.startswith(API + "/") else path] = item
    mounted = walk({**doc, "paths": paths})
    if root:
        mounted["servers"] = [{"url": root}]
    return mounted  # type: ignore[no-any-return]


def _document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Airlock",
            "version": __version__,
            "summary": "Secure file upload and file serving.",
            "description": "Every error response is JSON: "
            "`{\"error\": {\"code\", \"message\", \"details\"}}`; `code` is one of "
            "`#/components/schemas/ErrorCode`. Files of others that are private are 404.",
        },
        "tags": [
            {"name": "files", "description": "Upload, list, change, delete and read Files."},
            {"name": "links", "description": "Share links."},
            {"name": "drops", "description": "Drop links: guest uploads into the owner's space."},
            {"name": "account", "description": "The caller and their API tokens."},
            {"name": "meta", "description": "This description."},
            {"name": "ops", "description": "Operations endpoints."},
            {"name": "tus", "description": "Resumable uploads (tus 1.0.0)."},
            {"name": "direct", "description": "Direct uploads to the object store (S3 only)."},
            {"name": "session", "description": "Browser sign-in (cookie and CSRF token)."},
            {"name": "admin",
             "description": "Users, quarantined Files and upload statistics, for admins."},
        ],
        "security": [{"bearerAuth": []}],
        "paths": {**file_paths(), **public_paths(), **account_paths(), **ops_paths(),
                  **tus_paths(), **openapi_admin.session_paths(), **openapi_admin.admin_paths(),
                  **openapi_direct.direct_paths(), **openapi_drops.drop_paths(),
                  **openapi_drops.drop_tus_paths(tus_paths())},
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token (`airlock token create NAME` or "
                    "`POST /api/v1/tokens`).",
                },
                "linkPassword": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "A share link's password (any user name).",
                },
                "cookieAuth": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "airlock_session",
                    "description": "The browser session from `POST /api/v1/session`; unsafe "
                    "methods also need `X-CSRF-Token`.",
                },
            },
            "schemas": schemas(),
            "parameters": parameters(),
            "responses": shared_responses(),
        },
    }
