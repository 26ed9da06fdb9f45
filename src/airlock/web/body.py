"""Reading request bodies: straight from the WSGI input, with the server's own parse errors
turned into ``400``, and bodies read into memory (JSON) capped before they are read."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

from flask import g, request

from airlock.core.jsonshape import Shape
from airlock.core.pace import Pace
from airlock.errors import BadRequest, RequestTimeout, TooLarge, UnsupportedMediaType
from airlock.pipeline.receive import CHUNK_SIZE, body_chunks
from airlock.watchdog import WATCHDOG
from airlock.web.sockbody import SocketBody
from airlock.web.state import state

MAX_JSON_BODY = 64 * 1024  # far more than any JSON request of the API needs

try:  # the production server's errors for a body it cannot parse
    from gunicorn.http.errors import ParseException as _GunicornBodyError

    _SERVER_BODY_ERRORS: tuple[type[Exception], ...] = (_GunicornBodyError,)
except ImportError:  # pragma: no cover - another WSGI server
    _SERVER_BODY_ERRORS = ()


_READ_ERRORS: tuple[type[Exception], ...] = (OSError, *_SERVER_BODY_ERRORS)


def body_chunks_for(limit: int, upload: bool = True) -> Iterator[bytes]:
    """The request body, read from the WSGI input itself: Werkzeug's wrapper stream would copy
    every chunk twice more (and under gunicorn, one of known length straight from the client's
    socket: ``SocketBody``). A body with neither a length nor a server that marks its end
    (``wsgi.input_terminated``) is empty, as Werkzeug would treat it. Under gunicorn the body
    must keep pace (``AIRLOCK_BODY_TIMEOUT``, ``AIRLOCK_BODY_MIN_RATE``), or it is cut off with
    ``RequestTimeout``. An ``upload`` body holds one of its user's and its address's upload
    slots while it arrives (``RateLimited`` when none is free: ``AIRLOCK_MAX_UPLOADS_PER_*``)."""
    declared = request.content_length
    if declared is None and not request.environ.get("wsgi.input_terminated"):
        return iter(())
    st = state()
    pace = Pace(time.monotonic(), st.settings.body_timeout, st.settings.body_min_rate)
    sock = request.environ.get("gunicorn.socket")
    sock = sock if isinstance(sock, socket.socket) else None
    stream = request.environ["wsgi.input"]
    direct = SocketBody.take_over(stream, sock, min(limit + 1, CHUNK_SIZE))
    source = _ServerInput(direct if direct is not None else stream, pace, sock)
    if not upload:
        return source.chunks(limit, declared)
    user = getattr(g, "airlock_user", None)
    slots = st.admission.holding(str(user.id) if user is not None else None, request.remote_addr)
    return _held(slots, source.chunks(limit, declared))


def _held(slots: AbstractContextManager[None], chunks: Iterator[bytes]) -> Iterator[bytes]:
    """``chunks``, with ``slots`` held from the first read until the last (or an error)."""
    with slots:
        yield from chunks


class _ServerInput:
    """The WSGI input, with the server's own errors for a body it cannot parse (gunicorn's,
    for a broken chunked encoding) raised as ``ValueError``: a ``400``, not a crash. With the
    client's socket at hand, reads are sized and watched so that a body slower than its
    ``pace`` is cut off (the watchdog shuts the socket's reading side) as ``RequestTimeout``."""

    def __init__(self, stream: Any, pace: Pace, sock: socket.socket | None) -> None:
        self._stream = stream
        self._pace = pace
        self._sock = sock
        self._received = 0

    def chunks(self, limit: int, declared: int | None) -> Iterator[bytes]:
        try:
            yield from body_chunks(self, limit, declared)
        finally:
            if self._sock is not None:
                WATCHDOG.disarm(self._sock)

    def read(self, size: int = -1) -> bytes:
        if self._sock is not None:
            size = self._pace.read_size(self._received, time.monotonic(), size)
            WATCHDOG.arm(self._sock, self._pace.deadline(self._received))
        try:
            data: bytes = self._stream.read(size)
        except _READ_ERRORS as exc:
            self._cut_off()
            if isinstance(exc, OSError):
                raise
            raise ValueError(f"the request body is malformed: {type(exc).__name__}") from exc
        self._cut_off()
        self._received += len(data)
        return data

    def _cut_off(self) -> None:
        if self._sock is not None and WATCHDOG.fired(self._sock):
            raise RequestTimeout(
                "The request body arrived too slowly and was cut off.",
                received=self._received,
            )


def check_declared_length(limit: int) -> None:
    """Refuse a body whose declared length is over ``limit`` before reading any of it."""
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"The request exceeds the limit of {limit} bytes.", limit=limit)


def json_body(shape: Shape | None = None) -> dict[str, Any]:
    """The request's JSON object, at most ``MAX_JSON_BODY`` bytes, checked against ``shape``
    if given (then its members as ``shape.parse`` answers them; without one, for a service
    that checks the body itself once it knows the caller may act): ``TooLarge`` for a
    declared length over it before anything is read (and for a chunked body as soon as it
    passes it), ``UnsupportedMediaType`` for another media type, ``BadRequest`` for
    malformed JSON, anything but an object, or an object that does not fit ``shape``."""
    if not request.is_json:
        raise UnsupportedMediaType("Send a JSON body with Content-Type: application/json.")
    check_declared_length(MAX_JSON_BODY)
    raw = b"".join(body_chunks_for(MAX_JSON_BODY, upload=False))
    try:
        body = json.loads(raw)
    except ValueError:  # also not UTF-8
        body = None
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    return body if shape is None else shape.parse(body)
