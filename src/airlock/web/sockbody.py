"""A request body of declared length read straight from gunicorn's client socket.

gunicorn's own body stream gathers each read in two ``BytesIO`` buffers and slices it out of
each again: four copies of every byte, and as many fresh megabyte allocations, whose page
faults cost more system CPU than the ``recv`` and the staging ``write`` together (measured on
1 GiB bodies). Here the bytes land by ``recv_into`` in one reused buffer and leave it as one
``bytes`` per read.

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
        self._buf = memoryview(bytearray(max(1, min(most, reader.length))))

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
        want = min(want, len(self._buf))
        got = 0
        while got < want:
            n = self._sock.recv_into(self._buf[got:want])
            if n == 0:
                break
            got += n
            self._reader.length -= n
        return bytes(self._buf[:got])
