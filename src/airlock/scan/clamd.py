"""A client of clamd (ClamAV's daemon) speaking its ``INSTREAM`` command over a unix or TCP
socket: the bytes go in length-prefixed chunks of up to 1 MiB (the PyPI clients send 1 KiB and
are several times slower), and the one-line answer says ``OK``, ``<signature> FOUND`` or why it
failed. Every socket operation has a deadline: a clamd that hangs is a clamd that is down.

Replies are NUL-terminated (the ``z`` command prefix), so a signature name with spaces or
newlines cannot be confused with the end of the answer.
"""

from __future__ import annotations

import re
import socket
import struct
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

CHUNK = 1024 * 1024  # the most one INSTREAM chunk carries
# The stream's socket buffer (the kernel caps it at net.core.wmem_max). With the default
# ~208 KiB, sending a 1 MiB chunk takes several send() calls, and between them the sending
# thread waits for the GIL behind the upload's threads (up to the 5 ms switch interval each
# time): clamd took a 1 GiB upload's bytes 2.2 s later than it could.
SEND_BUFFER = 4 * CHUNK
_FOUND = re.compile(r"^stream: (.+) FOUND$")


class ClamdError(Exception):
    """clamd cannot be reached, timed out, or answered something other than a verdict."""


@dataclass(frozen=True)
class Verdict:
    """A scan's outcome: ``signature`` is None when clean."""

    signature: str | None

    @property
    def infected(self) -> bool:
        return self.signature is not None


@dataclass(frozen=True)
class Address:
    """Where clamd listens: ``unix:///path`` or ``tcp://host:port``."""

    family: int
    target: str | tuple[str, int]

    @classmethod
    def parse(cls, url: str) -> Address:
        parts = urlsplit(url)
        if parts.scheme == "unix" and parts.path and not parts.netloc:
            return cls(socket.AF_UNIX, parts.path)
        if parts.scheme == "tcp" and parts.hostname and parts.port and not parts.path.strip("/"):
            return cls(socket.AF_INET6 if ":" in parts.hostname else socket.AF_INET,
                       (parts.hostname, parts.port))  # fmt: skip
        raise ValueError("write unix:///path/to/clamd.sock or tcp://host:port")

    def __str__(self) -> str:
        if isinstance(self.target, str):
            return f"unix://{self.target}"
        host, port = self.target
        return f"tcp://{host}:{port}"


class Clamd:
    """clamd at ``address``; ``timeout`` bounds every wait on it (connect, send, answer)."""

    def __init__(self, address: Address, timeout: float = 30.0) -> None:
        self.address = address
        self.timeout = timeout

    def _connect(self) -> socket.socket:
        sock = socket.socket(self.address.family, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.address.target)
        except OSError as exc:
            sock.close()
            raise ClamdError(f"cannot connect to clamd at {self.address}: {exc}") from None
        return sock

    def _command(self, command: bytes) -> str:
        sock = self._connect()
        try:
            sock.sendall(b"z" + command + b"\0")
            return _reply(sock)
        except OSError as exc:
            raise ClamdError(f"clamd at {self.address} failed: {exc}") from None
        finally:
            sock.close()

    def ping(self) -> None:
        """``ClamdError`` unless clamd answers ``PONG``."""
        answer = self._command(b"PING")
        if answer != "PONG":
            raise ClamdError(f"clamd answered {answer[:80]!r} to PING")

    def version(self) -> str:
        """clamd's version line, e.g. ``ClamAV 1.4.6/27452/Tue Nov 25 08:26:45 2026`` (engine,
        signature version and date; a database without daily signatures has only the
        first)."""
        return self._command(b"VERSION")

    def stream(self) -> InStream:
        """A new ``INSTREAM`` scan: ``send`` the bytes, then ``verdict``."""
        return InStream(self)


class InStream:
    """One ``INSTREAM`` scan in progress (a connection of its own)."""

    def __init__(self, clamd: Clamd) -> None:
        self._clamd = clamd
        self._sock = clamd._connect()
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
            self._sock.sendall(b"zINSTREAM\0")
        except OSError as exc:
            self.close()
            raise ClamdError(f"clamd at {clamd.address} failed: {exc}") from None

    def send(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data`` (any size: cut into chunks of at most ``CHUNK``)."""
        view = memoryview(data)
        try:
            while view:
                piece = view[:CHUNK]
                # The length and the chunk go in two sends: joining them would copy the chunk
                # (one sendmsg of both measured no faster).
                self._sock.sendall(struct.pack("!L", len(piece)))
                self._sock.sendall(piece)
                view = view[len(piece) :]
        except OSError as exc:
            # clamd closes the stream early when it is over its StreamMaxLength; its answer
            # says so, and is the better message.
            raise ClamdError(self._early_answer() or f"clamd failed: {exc}") from None

    def _early_answer(self) -> str:
        try:
            self._sock.settimeout(1.0)
            return _reply(self._sock)
        except (OSError, ClamdError):
            return ""

    def verdict(self) -> Verdict:
        """End the stream and wait for clamd's answer."""
        try:
            self._sock.sendall(struct.pack("!L", 0))
            answer = _reply(self._sock)
        except OSError as exc:
            raise ClamdError(f"clamd at {self._clamd.address} failed: {exc}") from None
        finally:
            self.close()
        if answer == "stream: OK":
            return Verdict(None)
        found = _FOUND.match(answer)
        if found:
            return Verdict(found.group(1))
        raise ClamdError(f"clamd could not scan: {answer[:200]}")

    def close(self) -> None:
        self._sock.close()


def _reply(sock: socket.socket, limit: int = 4096) -> str:
    """One NUL-terminated answer; ``ClamdError`` when clamd hangs up or rambles."""
    data = bytearray()
    deadline = time.monotonic() + (sock.gettimeout() or 30.0)
    while b"\0" not in data:
        if len(data) > limit or time.monotonic() > deadline:
            raise ClamdError("clamd sent no proper answer")
        try:
            piece = sock.recv(1024)
        except TimeoutError:
            raise ClamdError("clamd did not answer in time") from None
        if not piece:
            raise ClamdError("clamd closed the connection without an answer")
        data += piece
    return data[: data.index(b"\0")].decode("utf-8", "replace").strip()
