"""Responses that carry a File's bytes: safe headers, conditional GET, single ranges, and
zero-copy sendfile through the WSGI server's ``wsgi.file_wrapper`` for local files; bytes in an
object store stream through with the range passed down to the store. With a content origin
configured, downloads redirect to a presigned URL there instead (a bucket cannot add
``nosniff`` or the sandboxing CSP, so only a separate origin makes that safe)."""

from __future__ import annotations

from email.utils import format_datetime

from flask import Response, request
from werkzeug.wsgi import wrap_file

from airlock.core import filetypes
from airlock.core.headers import etag_matches, serving_headers
from airlock.core.ranges import Span, Unsatisfiable, parse_range
from airlock.db.records import FileRecord
from airlock.pipeline.thumbnail import THUMBNAIL_MIME
from airlock.web.state import state

_BUFFER = 1024 * 1024
REDIRECT_LIFETIME = 300  # seconds a redirect's presigned URL stays valid


def _if_range_allows(record: FileRecord) -> bool:
    """``If-Range`` with anything but our current ETag means: send the whole file."""
    if_range = request.headers.get("If-Range")
    return if_range is None or if_range.strip() == f'"{record.sha256}"'


def send_file_bytes(record: FileRecord) -> Response:
    """The File's bytes as API.md's Serving section prescribes (``410`` once quarantined)."""
    state().service.servable(record)
    download = request.args.get("download") in ("1", "true", "yes")
    headers = serving_headers(
        filetypes.lookup(record.content_type),
        record.name,
        public=record.visibility == "public",
        download=download,
        sha256=record.sha256,
        attachment_only=record.attachment_only,
    )
    headers["Last-Modified"] = format_datetime(record.created_at, usegmt=True)
    if etag_matches(request.headers.get("If-None-Match"), record.sha256):
        return Response(status=304, headers=_conditional_headers(headers))
    st = state()
    # Redirects go to the service's own store; an upload set's storage streams through here.
    if st.caps.redirects and request.method == "GET" and record.store is None:
        return _redirect(record, headers)

    span: Span | None = None
    if _if_range_allows(record):
        try:
            span = parse_range(request.headers.get("Range"), record.size)
        except Unsatisfiable:
            headers["Content-Range"] = f"bytes */{record.size}"
            response = Response(status=416, headers=headers)
            response.headers["Content-Type"] = "text/plain; charset=utf-8"
            return response
    length = span.length if span else record.size
    headers["Content-Length"] = str(length)
    status = 200
    if span is not None:
        status = 206
        headers["Content-Range"] = span.content_range
    if request.method == "HEAD":
        return Response(status=status, headers=headers)

    stream = st.service.open_content(record, span)
    body = wrap_file(request.environ, stream, buffer_size=_BUFFER)
    st.metrics.bytes_out.inc(length)
    return Response(body, status=status, headers=headers, direct_passthrough=True)


def _redirect(record: FileRecord, headers: dict[str, str]) -> Response:
    """To a short-lived presigned URL on the separate content origin, whose answer carries the
    same Content-Type and Content-Disposition (the store honours Range there itself)."""
    presigner = state().caps.presigner
    assert presigner is not None  # redirects are only on with a presigner
    url = presigner.presign_get(
        record.storage_key, headers["Content-Type"], headers["Content-Disposition"],
        REDIRECT_LIFETIME,
    )  # fmt: skip
    return Response(status=302, headers={
        "Location": url, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    })  # fmt: skip


def _conditional_headers(headers: dict[str, str]) -> dict[str, str]:
    keep = ("ETag", "Cache-Control", "Last-Modified", "Content-Security-Policy",
            "X-Content-Type-Options")  # fmt: skip
    return {k: v for k, v in headers.items() if k in keep}


def send_thumbnail(record: FileRecord) -> Response:
    """The File's thumbnail (a small WebP) with the same safe headers as its bytes."""
    state().service.servable(record)
    tag = f"{record.sha256}.thumb"
    stem = record.name.rsplit(".", 1)[0] or "thumbnail"
    headers = serving_headers(
        filetypes.lookup(THUMBNAIL_MIME), f"{stem}.thumb.webp",
        public=record.visibility == "public", download=False, sha256=tag,
    )  # fmt: skip
    headers.pop("Accept-Ranges")
    if etag_matches(request.headers.get("If-None-Match"), tag):
        return Response(status=304, headers=_conditional_headers(headers))
    with state().service.open_content(record, None, thumbnail=True) as stream:
        data = stream.read()
    return Response(data, status=200, headers=headers)
