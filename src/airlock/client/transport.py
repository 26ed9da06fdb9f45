"""HTTP for the upload client: keep-alive connections from ``http.client``, bodies streamed.

One ``Transport`` belongs to one thread. Every way a request can fail before an answer arrives
(refused, reset, timed out, cut short, garbled) becomes ``NetworkError``; any answer, whatever
its status, is a ``Reply``.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

MAX_BODY = 1 << 20  # answers to tus requests are tiny; never buffer more than this of one


class NetworkError(Exception):
    """No (complete) answer: the request may or may not have reached the server."""


@dataclass(frozen=True)
class Reply:
    """A server's answer: status, headers (case-insensitive) and a small body."""

    status: int
    reason: str
    headers: Message
    body: bytes

    def header(self, name: str) -> str | None:
        """The value of header ``name``, or ``None``."""
        return self.headers.get(name)

    def error(self) -> tuple[str, str] | None:
        """``(code, message)`` from Airlock's JSON error envelope, or ``None`` if it has none."""
        try:
            err = json.loads(self.body)["error"]
            code, message = err["code"], err.get("message") or err["code"]
        except (ValueError, KeyError, TypeError):
            return None
        return (code, str(message)) if isinstance(code, str) else None


def origin(url: str) -> tuple[str, str]:
    """``(scheme, host[:port])`` of ``url``, lower-cased: what a connection is opened to."""
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class Transport:
    """Requests over one reused connection per origin."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._conns: dict[tuple[str, str], http.client.HTTPConnection] = {}

    def request(
        self, method: str, url: str, headers: Mapping[str, str],
        body: Iterable[bytes | memoryview] = (), *, reply_timeout: float | None = None,
        on_sent: Callable[[int], None] | None = None,
    ) -> Reply:  # fmt: skip
        """Send ``method url`` with ``body`` streamed block by block (``headers`` must carry its
        Content-Length) and return the answer. ``on_sent`` hears the bytes sent so far;
        ``reply_timeout`` allows a slow answer (a server checking a whole file). Raises
        ``NetworkError``."""
        conn = self._connection(url)
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.putrequest(method, target, skip_accept_encoding=True)
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders()
        except (OSError, http.client.HTTPException) as exc:
            self._drop(url)
            raise NetworkError(describe(exc)) from exc
        sent = 0
        try:
            for block in body:
                conn.send(block)
                sent += len(block)
                if on_sent:
                    on_sent(sent)
        except (OSError, http.client.HTTPException) as exc:
            # A server that refuses the body early (its type is checked on the first bytes)
            # answers and closes while we are still sending: its answer may be waiting.
            return self._reply(conn, url, reply_timeout, cause=exc)
        except BaseException:
            self._drop(url)  # the body's source gave up (cancelled, unreadable): half a request
            raise
        return self._reply(conn, url, reply_timeout)

    def close(self) -> None:
        """Close every connection."""
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()

    def _connection(self, url: str) -> http.client.HTTPConnection:
        key = origin(url)
        conn = self._conns.get(key)
        if conn is None:
            scheme, netloc = key
            if scheme == "https":
                conn = http.client.HTTPSConnection(
                    netloc, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                conn = http.client.HTTPConnection(netloc, timeout=self.timeout)
            self._conns[key] = conn
        return conn

    def _drop(self, url: str) -> None:
        conn = self._conns.pop(origin(url), None)
        if conn is not None:
            conn.close()

    def _reply(
        self, conn: http.client.HTTPConnection, url: str, timeout: float | None,
        cause: BaseException | None = None,
    ) -> Reply:  # fmt: skip
        try:
            if conn.sock is not None:
                conn.sock.settimeout(5.0 if cause else timeout or self.timeout)
            resp = conn.getresponse()
            body = resp.read(MAX_BODY)
            if not resp.isclosed() or cause is not None:
                self._drop(url)  # an answer we did not read to the end, or a broken send
            elif conn.sock is not None:
                conn.sock.settimeout(self.timeout)
            return Reply(resp.status, resp.reason, resp.headers, body)
        except (OSError, http.client.HTTPException) as exc:
            self._drop(url)
            raise NetworkError(describe(cause or exc)) from (cause or exc)


def describe(exc: BaseException) -> str:
    """A short, human reason for a failed request."""
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return "connection reset"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "server closed the connection"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host ({exc.strerror})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({exc.reason or exc})"
    text: Any = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text)
