"""``/api/v1/tus/``: the tus 1.0.0 protocol over the ``Resumable`` use cases."""

from __future__ import annotations

import logging
from email.utils import format_datetime
from typing import Any

from flask import Blueprint, Response, g, request
from werkzeug.http import parse_options_header

from airlock.core import tus
from airlock.db.records import Drop, Upload, User
from airlock.errors import BadRequest, NotFound, UnsupportedMediaType
from airlock.resumable import Outcome
from airlock.web.auth import current_user
from airlock.web.body import body_chunks_for
from airlock.web.errors import translate_within
from airlock.web.guest import drop_caller
from airlock.web.state import state

log = logging.getLogger("airlock")

tus_bp = translate_within(Blueprint("airlock_tus", __name__))

EXPOSED_HEADERS = (
    "Location", "Upload-Offset", "Upload-Length", "Upload-Metadata", "Upload-Expires",
    "Upload-Concat", "Upload-Defer-Length", "Upload-File-Id", "Tus-Resumable", "Tus-Version",
    "Tus-Max-Size", "Tus-Extension", "Tus-Checksum-Algorithm",
)  # fmt: skip
ALLOWED_HEADERS = (
    "Authorization", "Content-Type", "Tus-Resumable", "Upload-Length", "Upload-Metadata",
    "Upload-Offset", "Upload-Checksum", "Upload-Concat", "Upload-Defer-Length",
    "X-Requested-With", "X-CSRF-Token",
)  # fmt: skip


@tus_bp.after_request
def _tus_headers(response: Response) -> Response:
    response.headers["Tus-Resumable"] = tus.VERSION
    response.headers.setdefault("Cache-Control", "no-store")
    if (
        response.status_code in (200, 201, 204, 303)
        and not response.is_streamed
        and not response.get_data()
    ):
        del response.headers["Content-Type"]  # no body, so no media type
    if response.status_code == 412:
        response.headers["Tus-Version"] = tus.VERSION
    return response


@tus_bp.url_value_preprocessor
def _drop_token(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    # Registered once more under /d/<token>/tus (a drop link's): the token is the caller.
    if values is not None and "token" in values:
        g.airlock_drop_token = values.pop("token")


def _caller(count: bool = False) -> tuple[User, Drop | None]:
    """Who uploads: a drop link's owner through that link (``count``: a new upload, counted
    against the client's address), else the signed-in or bearer-token user."""
    found = drop_caller(count)
    return (current_user(), None) if found is None else found


def _prefix() -> str:
    token = g.get("airlock_drop_token")
    if token is not None:
        return f"/d/{token}/tus/"
    rule = request.url_rule.rule if request.url_rule else ""
    return rule.split("/tus/")[0] + "/tus/"


def _upload_url(upload_id: str) -> str:
    return f"{request.script_root}{_prefix()}{upload_id}"


def _upload_headers(upload: Upload) -> dict[str, str]:
    headers = {
        "Upload-Offset": str(upload.offset),
        "Upload-Expires": format_datetime(upload.expires_at, usegmt=True),
    }
    if upload.length is None:
        headers["Upload-Defer-Length"] = "1"
    else:
        headers["Upload-Length"] = str(upload.length)
    if upload.metadata:
        headers["Upload-Metadata"] = upload.metadata
    if upload.concat == "partial":
        headers["Upload-Concat"] = "partial"
    elif upload.concat == "final":
        headers["Upload-Concat"] = "final;" + " ".join(_upload_url(p) for p in upload.parts)
    return headers


def _offset_body() -> bool:
    """Whether the request carries upload bytes (``application/offset+octet-stream``)."""
    mimetype, _ = parse_options_header(request.headers.get("Content-Type", ""))
    return mimetype == tus.OFFSET_MEDIA_TYPE


def _finished(outcome: Outcome, status: int, headers: dict[str, str]) -> Response:
    headers = {**_upload_headers(outcome.upload), **headers}
    if outcome.file is not None:
        headers["Upload-File-Id"] = outcome.file.id
    return Response(status=status, headers=headers)


@tus_bp.route("/", methods=["OPTIONS"], provide_automatic_options=False, strict_slashes=False)
@tus_bp.route("/<upload_id>", methods=["OPTIONS"], provide_automatic_options=False)
def options(upload_id: str | None = None) -> Response:
    headers = {
        "Tus-Version": tus.VERSION,
        "Tus-Extension": ",".join(tus.EXTENSIONS),
        "Tus-Max-Size": str(state().settings.max_file_size),
        "Tus-Checksum-Algorithm": ",".join(tus.CHECKSUM_ALGORITHMS),
    }
    return Response(status=204, headers=headers)


@tus_bp.post("/", strict_slashes=False)
def create() -> Response:
    tus.check_version(request.headers.get("Tus-Resumable"))
    user, drop = _caller(count=True)
    resumable = state().resumable
    concat = tus.parse_concat(request.headers.get("Upload-Concat"), _prefix())
    metadata = request.headers.get("Upload-Metadata", "")
    if concat is not None and concat.kind == "final":
        outcome = resumable.create_final(user, metadata, concat, drop)
        return _finished(outcome, 201, {"Location": _upload_url(outcome.upload.id)})

    length = tus.parse_int(request.headers.get("Upload-Length"), "Upload-Length")
    defer = request.headers.get("Upload-Defer-Length")
    if (length is None) == (defer is None) or (defer is not None and defer.strip() != "1"):
        raise BadRequest("Send Upload-Length, or Upload-Defer-Length: 1.")
    with_body = _offset_body()
    if not with_body and (request.content_length or 0) > 0:
        raise UnsupportedMediaType(f"Upload bytes must be sent as {tus.OFFSET_MEDIA_TYPE}.")
    checksum = tus.parse_checksum(request.headers.get("Upload-Checksum"))
    upload = resumable.create(user, length, metadata, concat, drop)
    location = {"Location": _upload_url(upload.id)}
    if with_body or length == 0:
        chunks = body_chunks_for(state().settings.request_limit) if with_body else iter(())
        try:
            outcome = resumable.patch(user, upload.id, 0, None, checksum, chunks, drop)
        except BaseException:
            # The client never learns this upload's URL: nothing could resume it.
            _abandon(user, upload.id, drop)
            raise
        return _finished(outcome, 201, location)
    return _finished(Outcome(upload), 201, location)


def _abandon(user: User, upload_id: str, drop: Drop | None) -> None:
    """Remove an upload whose creation failed (already gone is fine; gc takes what this
    cannot remove)."""
    try:
        state().resumable.terminate(user, upload_id, drop)
    except NotFound:
        pass  # a rejection removed it already
    except Exception:
        log.warning("could not remove the failed upload %s", upload_id, exc_info=True)


@tus_bp.route("/<upload_id>", methods=["HEAD", "GET"])
def head(upload_id: str) -> Response:
    tus.check_version(request.headers.get("Tus-Resumable"))
    user, drop = _caller()
    upload = state().resumable.status(user, upload_id, drop)
    if upload.file_id is not None and drop is not None:
        # Through a drop link the File is its owner's: the upload is done, nowhere to go.
        return Response(status=200, headers={**_upload_headers(upload),
                                             "Upload-File-Id": upload.file_id})  # fmt: skip
    if upload.file_id is not None:
        api = _prefix()[: -len("/tus/")]
        return Response(
            status=303,
            headers={"Location": f"{request.script_root}{api}/files/{upload.file_id}",
                     "Upload-File-Id": upload.file_id},
        )  # fmt: skip
    return Response(status=200, headers=_upload_headers(upload))


@tus_bp.patch("/<upload_id>")
def patch(upload_id: str) -> Response:
    tus.check_version(request.headers.get("Tus-Resumable"))
    if not _offset_body():
        raise UnsupportedMediaType(f"PATCH bodies must be {tus.OFFSET_MEDIA_TYPE}.")
    user, drop = _caller()
    offset = tus.parse_int(request.headers.get("Upload-Offset"), "Upload-Offset")
    if offset is None:
        raise BadRequest("Upload-Offset is required.")
    length = tus.parse_int(request.headers.get("Upload-Length"), "Upload-Length")
    checksum = tus.parse_checksum(request.headers.get("Upload-Checksum"))
    chunks = body_chunks_for(state().settings.request_limit)
    outcome = state().resumable.patch(user, upload_id, offset, length, checksum, chunks, drop)
    return _finished(outcome, 204, {})


@tus_bp.delete("/<upload_id>")
def terminate(upload_id: str) -> Response:
    tus.check_version(request.headers.get("Tus-Resumable"))
    user, drop = _caller()
    state().resumable.terminate(user, upload_id, drop)
    return Response(status=204)
