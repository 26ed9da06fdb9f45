"""Several Files as one zip, streamed while it is sent (zipstream-ng): no temporary file, the
members read from storage one chunk at a time, in constant memory; zip64 where a member or
the whole passes 4 GiB. Members are stored, not deflated (most Files are compressed already,
and a stored zip has a length known in advance: ``Content-Length``, and progress bars)."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Response, request
from zipstream import ZIP_STORED, ZipStream

from airlock.core.headers import SECURITY_HEADERS, content_disposition
from airlock.core.zipnames import unique_names
from airlock.db.records import FileRecord
from airlock.service import Service
from airlock.web.state import state

_CHUNK = 1024 * 1024


def _chunks(service: Service, record: FileRecord) -> Iterator[bytes]:
    # Opened when the zip reaches this member, closed as soon as it is read.
    with service.open_content(record, None) as stream:
        while chunk := stream.read(_CHUNK):
            yield chunk


def send_zip(records: list[FileRecord], name: str) -> Response:
    """``records`` as the zip ``name``, always as an attachment, with the safe headers of
    every response that carries stored bytes; ``HEAD`` sends the headers only."""
    st = state()
    archive = ZipStream(compress_type=ZIP_STORED, sized=True)
    for member, record in zip(unique_names(r.name for r in records), records, strict=True):
        archive.add(_chunks(st.service, record), member, size=record.size)
    headers = dict(SECURITY_HEADERS)
    headers.update({
        "Content-Type": "application/zip",
        "Content-Disposition": content_disposition(name, inline=False),
        "Content-Length": str(len(archive)),
        "Cache-Control": "private, no-store",
    })  # fmt: skip
    if request.method == "HEAD":
        return Response(status=200, headers=headers)
    st.metrics.bytes_out.inc(len(archive))
    return Response(iter(archive), status=200, headers=headers, direct_passthrough=True)
