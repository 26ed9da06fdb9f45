"""The OpenAPI description of direct (browser-to-store) uploads; part of the document
``openapi.openapi_document`` builds."""

from __future__ import annotations

from airlock.shapes import API
from airlock.web.openapi_parts import (
    ID,
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


def direct_paths() -> Json:
    upload_id = parameter("path", "upload_id", "The `upload_id` from the presign.", ID)
    return {
        f"{API}/uploads/presign": {
            "post": operation(
                "presignUpload", "direct", "Start a direct upload to the object store",
                {
                    "201": json_response(
                        "A form upload whose policy pins the key, the exact size and an expiry.",
                        schema_ref("Presigned"), _NO_STORE,
                    ),
                    **errors(400, 401, 403, 404, 415),
                    **upload_errors(413, 422, 507),
                },
                description="S3 storage only (404 `not_found` elsewhere). POST `fields` and "
                "then the file as multipart/form-data to `url`; then call `complete`.",
                body=json_body(schema_ref("PresignRequest"), "The file's name and size."),
            ),  # fmt: skip
        },
        f"{API}/uploads/{{upload_id}}/complete": {
            "post": operation(
                "completeUpload", "direct", "Inspect a direct upload and make it a File",
                {
                    "201": json_response("The new File.", schema_ref("File")),
                    "200": json_response("The File an earlier completion made.",
                                         schema_ref("File")),
                    **errors(400, 401, 403, 404, 409, 410),
                    **upload_errors(413, 415, 422, 503, 507),
                },
                description="Every check runs on the object's bytes; a rejection deletes the "
                "object and the upload.",
                params=[upload_id],
            ),  # fmt: skip
        },
    }
