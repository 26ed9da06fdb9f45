"""``/api/v1/uploads``: direct (browser-to-store) uploads, routed only where the storage can
presign; elsewhere both endpoints answer ``404 not_found``."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, url_for

from airlock import shapes
from airlock.core.timefmt import rfc3339
from airlock.direct import DirectUploads
from airlock.errors import NotFound
from airlock.web.auth import current_user
from airlock.web.body import json_body
from airlock.web.errors import translate_within
from airlock.web.present import file_here
from airlock.web.state import state

direct_bp = translate_within(Blueprint("airlock_direct", __name__))


def _direct() -> DirectUploads:
    direct = state().direct
    if direct is None:
        raise NotFound("Direct uploads need S3 storage (AIRLOCK_STORAGE=s3).")
    return direct


@direct_bp.post("/uploads/presign")
def presign() -> Response:
    user = current_user()
    direct = _direct()
    presigned = direct.presign(user, **json_body(shapes.PRESIGN_REQUEST))
    response = jsonify({
        "upload_id": presigned.upload_id,
        "url": presigned.post.url,
        "fields": presigned.post.fields,
        "expires_at": rfc3339(presigned.post.expires_at),
    })  # fmt: skip
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response


@direct_bp.post("/uploads/<upload_id>/complete")
def complete(upload_id: str) -> Response:
    user = current_user()
    record, made = _direct().complete(user, upload_id)
    response = jsonify(file_here(record))
    response.status_code = 201 if made else 200
    response.headers["Location"] = url_for("airlock_api.get_file", file_id=record.id)
    return response
