"""``/api/v1``: Files, share links, tokens, the caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for
from werkzeug.http import parse_options_header

from airlock.core.pagination import parse_limit
from airlock.core.timefmt import rfc3339
from airlock.errors import TooLarge, UnsupportedMediaType
from airlock.pipeline.receive import body_chunks, boundary_of, receive_multipart, receive_raw
from airlock.service import Service, UploadOptions
from airlock.web.auth import current_user
from airlock.web.errors import render
from airlock.web.jsonbody import json_body
from airlock.web.openapi import openapi_document
from airlock.web.serving import send_file_bytes, send_thumbnail
from airlock.web.state import state

try:  # the production server's errors for a body it cannot parse
    from gunicorn.http.errors import ParseException as _GunicornBodyError

    _SERVER_BODY_ERRORS: tuple[type[Exception], ...] = (_GunicornBodyError,)
except ImportError:  # pragma: no cover - another WSGI server
    _SERVER_BODY_ERRORS = ()

api = Blueprint("airlock_api", __name__)


def body_chunks_for(limit: int) -> Iterator[bytes]:
    """The request body, read from the WSGI input itself: Werkzeug's wrapper stream would copy
    every chunk twice more. A body with neither a length nor a server that marks its end
    (``wsgi.input_terminated``) is empty, as Werkzeug would treat it."""
    declared = request.content_length
    if declared is None and not request.environ.get("wsgi.input_terminated"):
        return iter(())
    return body_chunks(_ServerInput(request.environ["wsgi.input"]), limit, declared)


class _ServerInput:
    """The WSGI input, with the server's own errors for a body it cannot parse (gunicorn's,
    for a broken chunked encoding) raised as ``ValueError``: a ``400``, not a crash."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        try:
            data: bytes = self._stream.read(size)
        except _SERVER_BODY_ERRORS as exc:
            raise ValueError(f"the request body is malformed: {type(exc).__name__}") from exc
        return data


def _check_declared_length(limit: int) -> None:
    """Refuse a body whose declared length is over ``limit`` before reading any of it."""
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"The request exceeds the limit of {limit} bytes.", limit=limit)


@api.post("/files")
def upload_multipart() -> Response:
    user = current_user()
    st = state()
    mimetype, params = parse_options_header(request.headers.get("Content-Type", ""))
    if mimetype != "multipart/form-data":
        raise UnsupportedMediaType("Send the files as multipart/form-data.")
    boundary = boundary_of(params)
    limits = st.limits
    _check_declared_length(limits.request)
    form = receive_multipart(
        body_chunks_for(limits.request),
        boundary,
        st.stager,
        limits,
    )
    stored, rejected = st.service.store_form(user, form)
    rejected_json = [{"name": r.name, "error": r.error.to_dict()} for r in rejected]
    if not stored:
        return render(rejected[0].error, rejected=rejected_json)
    response = jsonify({"files": [Service.file_json(f) for f in stored], "rejected": rejected_json})
    response.status_code = 201
    return response


# Any characters at all, slashes (unmerged) and newlines included: the name is sanitised later,
# never refused for its characters.
@api.put("/files/<anything:filename>", merge_slashes=False)
def upload_raw(filename: str) -> Response:
    user = current_user()
    st = state()
    opts = UploadOptions.parse(request.args.get("visibility"), request.args.get("expires_in"))
    limit = min(st.settings.max_file_size, st.settings.request_limit)
    _check_declared_length(limit)
    chunks = body_chunks_for(st.settings.request_limit)
    staged = receive_raw(chunks, st.stager, limit)
    record = st.service.store(user, staged, filename, opts)
    response = jsonify(Service.file_json(record))
    response.status_code = 201
    response.headers["Location"] = url_for(".get_file", file_id=record.id)
    return response


@api.get("/files")
def list_files() -> Response:
    user = current_user()
    limit = parse_limit(request.args.get("limit"))
    page, nxt = state().service.list_files(
        user, limit, request.args.get("cursor") or None, request.args.get("q")
    )
    return jsonify({"files": [Service.file_json(f) for f in page], "next_cursor": nxt})


@api.get("/files/<file_id>")
def get_file(file_id: str) -> Response:
    user = current_user()
    return jsonify(Service.file_json(state().service.get_file(user, file_id)))


@api.patch("/files/<file_id>")
def patch_file(file_id: str) -> Response:
    user = current_user()
    record = state().service.update_file(user, file_id, json_body())
    return jsonify(Service.file_json(record))


@api.delete("/files/<file_id>")
def delete_file(file_id: str) -> Response:
    user = current_user()
    state().service.delete_file(user, file_id)
    return Response(status=204)


@api.get("/files/<file_id>/content")
def file_content(file_id: str) -> Response:
    user = current_user()
    return send_file_bytes(state().service.get_file(user, file_id))


@api.get("/files/<file_id>/thumbnail")
def file_thumbnail(file_id: str) -> Response:
    user = current_user()
    return send_thumbnail(state().service.get_file(user, file_id))


@api.post("/files/<file_id>/links")
def create_link(file_id: str) -> Response:
    user = current_user()
    body = json_body()
    token, expires_at = state().service.create_link(
        user, file_id, body.get("expires_in"), body.get("max_downloads")
    )
    response = jsonify({"url": f"/s/{token}", "expires_at": rfc3339(expires_at)})
    response.status_code = 201
    return response


@api.get("/me")
def me() -> Response:
    st = state()
    return jsonify(st.accounts.usage(current_user(), st.settings.default_quota))


@api.post("/tokens")
def create_token() -> Response:
    user = current_user()
    new = state().accounts.create_token(user, json_body().get("name"))  # type: ignore[arg-type]
    response = jsonify(
        {
            "id": new.token.id,
            "name": new.token.name,
            "token": new.secret,
            "created_at": rfc3339(new.token.created_at),
        }
    )
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response


@api.get("/tokens")
def list_tokens() -> Response:
    tokens = state().accounts.list_tokens(current_user())
    return jsonify(
        {
            "tokens": [
                {
                    "id": t.id,
                    "name": t.name,
                    "created_at": rfc3339(t.created_at),
                    "last_used_at": rfc3339(t.last_used_at),
                }
                for t in tokens
            ]
        }
    )


@api.delete("/tokens/<token_id>")
def delete_token(token_id: str) -> Response:
    state().accounts.delete_token(current_user(), token_id)
    return Response(status=204)


@api.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())
