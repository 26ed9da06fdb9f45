"""The OpenAPI description of drop links (guest uploads): the owner's ``/api/v1/drops`` and
the uploader's ``/d/{token}/files``; part of the document ``openapi.openapi_document``
builds. Tus through a drop link (``/d/{token}/tus/``) is the tus protocol of ``/api/v1/tus/``
with the link standing for the caller."""

from __future__ import annotations

import copy

from airlock.shapes import API
from airlock.web.openapi_parts import (
    BINARY,
    ID,
    PUBLIC,
    TOKEN,
    Json,
    errors,
    json_body,
    json_response,
    operation,
    parameter,
    schema_ref,
    upload_errors,
)

_NO_STORE = {"Cache-Control": {"description": "`no-store`.", "schema": {"const": "no-store"}}}
_REJECTIONS = (413, 415, 422, 503, 507)


def drop_paths() -> Json:
    multipart = {
        "type": "object",
        "required": ["file"],
        "properties": {"file": {"type": "array", "minItems": 1, "items": BINARY,
                                "description": "One part per file, each with a file name."}},
    }  # fmt: skip
    return {
        f"{API}/drops": {
            "post": operation(
                "createDrop", "drops", "Make a drop link (guest uploads)",
                {"201": json_response("The drop link.", schema_ref("Drop"), _NO_STORE),
                 **errors(400, 401, 415)},
                body=json_body(schema_ref("DropRequest"),
                               "What it is for, its lifetime, limits and optional password."),
            ),  # fmt: skip
            "get": operation(
                "listDrops", "drops", "The caller's drop links",
                {"200": json_response("Newest first, revoked and expired ones included.",
                                      schema_ref("DropList"), _NO_STORE),
                 **errors(401)},
            ),  # fmt: skip
        },
        f"{API}/drops/{{drop_id}}": {
            "delete": operation(
                "revokeDrop", "drops", "Close a drop link",
                {"204": {"description": "Closed: it answers 410 `gone` from now on; what "
                                        "arrived through it stays."},
                 **errors(401, 404)},
                params=[parameter("path", "drop_id", "A drop link's `id`.", ID)],
            ),  # fmt: skip
        },
        "/d/{token}/files": {
            "post": operation(
                "uploadThroughDrop", "drops", "Upload files through a drop link, no login",
                {
                    "201": json_response(
                        "At least one file was stored (the link owner's, private); the "
                        "others are in `rejected`.", schema_ref("UploadResult"),
                    ),
                    **errors(401, 404, 410, 429),
                    **upload_errors(400, *_REJECTIONS),
                },
                description="The same checks and answers as `POST /api/v1/files`, within the "
                "link's limits on files and bytes. 404 for a forged token; 410 `gone` once "
                "expired, revoked or full; 401 until a link's password is given (HTTP Basic, "
                "any user name, or the drop page's unlock cookie); 429 past "
                "`AIRLOCK_DROP_UPLOADS_PER_ADDRESS` uploads from one address in 15 minutes. "
                "Tus works at `/d/{token}/tus/` as at `/api/v1/tus/`.",
                params=[parameter("path", "token", "The drop link's token.", TOKEN)],
                body={"required": True, "content": {"multipart/form-data": {
                    "schema": multipart,
                    "encoding": {"file": {"contentType": "application/octet-stream"}}}}},
                security=[*PUBLIC, {}, {"linkPassword": []}],
            ),  # fmt: skip
        },
    }


def drop_tus_paths(tus: Json) -> Json:
    """The tus endpoints (``openapi.tus_paths``) as a drop link serves them: under
    ``/d/{token}/tus/``, the link standing for the caller (its password, if it has one, as
    HTTP Basic credentials or the unlock cookie); a finished upload's HEAD answers 200 with
    ``Upload-File-Id`` (the File is the link owner's: there is nowhere to send the uploader)."""
    token = parameter("path", "token", "The drop link's token.", TOKEN)
    out: Json = {}
    for path, item in tus.items():
        item = copy.deepcopy(item)
        for method, op in item.items():
            op["operationId"] = "drop" + op["operationId"][0].upper() + op["operationId"][1:]
            op["tags"] = ["drops"]
            op["parameters"] = [token, *op.get("parameters", [])]
            op["security"] = [{}, {"linkPassword": []}]
            if method != "options":
                op["responses"].pop("303", None)
                op["responses"].update(errors(401, 404, 410, 429))
        out[path.replace(f"{API}/tus/", "/d/{token}/tus/")] = item
    return out
