"""A request body of declared length read straight from gunicorn's client socket.

gunicorn's own body stream gathers each read in two ``BytesIO`` buffers and slices it out of
each again: four copies of every byte, and as many fresh megabyte allocations, whose page
faults cost more system CPU than the ``recv`` and the staging ``write`` together (measured on
1 GiB bodies). Here a read is one ``recv`` of what is wanted: its bytes are handed on as they
are when they are all there (usually, under load), joined once when they came in pieces.

gunicorn keeps reading the socket after the app is done (to skip a body the app did not read,
and for the next request of a kept-alive connection), so its bookkeeping stays true: bytes it
had already buffered are taken from it, any beyond this body given back, and its count of the
body's remaining bytes goes down with every byte read here.
"""

from __future__ import annotations

import io
import socket
from typing import Any

try:
    from gunicorn.http.body import Body, LengthReader
    from gunicorn.http.unreader import SocketUnreader
except ImportError:  # pragma: no cover - another WSGI server
    Body = LengthReader = SocketUnreader = None


class SocketBody:
    """Reads the rest of one body of known length; ``read`` answers like a file's."""

    def __init__(self, reader: Any, sock: socket.socket, held: bytes, most: int) -> None:
        self._reader = reader  # gunicorn's LengthReader: its ``length`` is what is still unread
        self._sock = sock
        self._held = held
        self._most = most

    @classmethod
    def take_over(cls, stream: Any, sock: socket.socket | None, most: int) -> SocketBody | None:
        """A reader for the rest of ``stream``'s body when it is gunicorn's stream of a
        Content-Length body on ``sock`` (reads then never ask for more than ``most``); ``None``
        for anything else (a chunked body, another server), which is read as it is."""
        if Body is None or sock is None or not isinstance(stream, Body):
            return None
        reader = stream.reader
        if not isinstance(reader, LengthReader):
            return None
        unreader = reader.unreader
        if not isinstance(unreader, SocketUnreader) or unreader.sock is not sock:
            return None
        if not isinstance(stream.buf, io.BytesIO):
            return None
        held = stream.buf.getvalue()  # already counted off reader.length
        stream.buf = io.BytesIO()
        pending = unreader.take_buffered()
        mine, rest = pending[: reader.length], pending[reader.length :]
        if rest:  # a pipelined next request: gunicorn's again
            unreader.unread(rest)
        reader.length -= len(mine)
        return cls(reader, sock, held + mine, most)

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes (``b""`` at the body's end); fewer only when the client stopped
        sending (end of stream) or bytes were already held."""
        if self._held:
            out = self._held[:size] if size >= 0 else self._held
            self._held = self._held[len(out) :]
            return out
        want = self._reader.length if size < 0 else min(size, self._reader.length)
        want = min(want, self._most)
        if want <= 0:
            return b""
        first = self._sock.recv(want)
        self._reader.length -= len(first)
        if len(first) in (0, want):
            return first
        pieces, got = [first], len(first)
        while got < want:
            piece = self._sock.recv(want - got)
            if not piece:
                break
            pieces.append(piece)
            got += len(piece)
            self._reader.length -= len(piece)
        return b"".join(pieces)
