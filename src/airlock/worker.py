"""The gunicorn worker ``airlock serve`` runs: gunicorn's threaded worker, except that a
client gets ``AIRLOCK_HEADER_TIMEOUT`` seconds to send a request's headers, and that the errors
gunicorn answers on its own carry API.md's JSON envelope.

gunicorn reads a request's headers on a worker thread with a blocking socket and no deadline,
so a client that sends one byte of a request line and stops holds that thread for good. The
process's watchdog (``airlock.watchdog``) cuts such a client off once its time is up; the body
has its own allowance, set where it is read (``airlock.web.body``).

gunicorn refuses some requests before the app sees them: a request line or header fields over
its limits (``414``, ``431``), a request line, header or chunked framing it cannot parse
(``400``), a transfer coding it does not implement (``501``). Its ``handle_error`` picks the
status, logs the warning and the access line, and writes an HTML page that quotes the client's
bytes back. This worker keeps all of that but the page: gunicorn writes it to a stand-in socket,
only its status line is kept, and the client gets the envelope, the same headers an error of the
app carries, and ``Connection: close`` (gunicorn closes the connection after such an error).
At that point the request path is often unknown (a request line too long to read), so every
path gets JSON.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

from airlock import errors
from airlock.watchdog import WATCHDOG

# Set by ``airlock serve`` before the workers are forked (from AIRLOCK_HEADER_TIMEOUT).
HEADER_TIMEOUT = 20.0

# Plain words for the statuses gunicorn answers itself, never its parser's text. API.md has
# no codes for 414, 417, 431 or 501: they are malformed requests (``bad_request``) that the
# status tells apart; 403 is ``forbidden``, as API.md pairs them; a 5xx other than 501 is
# the server's fault, ``internal_error`` with no detail.
_MESSAGES = {
    400: errors.BadRequest.default_message,
    414: "The request line (method, path and query) is too long.",
    417: "The expectation in the Expect header cannot be met.",
    431: "The request's header fields are too many or too large.",
    501: "The request's Transfer-Encoding is not supported.",
}


def error_for(status: int) -> errors.AirlockError:
    """The Airlock error the client is told about for a status gunicorn chose."""
    if status == 403:
        return errors.Forbidden()
    if status < 500 or status == 501:
        return errors.BadRequest(_MESSAGES.get(status))
    return errors.InternalError()


def error_response(status: int, reason: str, security_headers: Mapping[str, str]) -> bytes:
    """The whole HTTP/1.1 response for a request gunicorn refused with ``status``."""
    body = json.dumps({"error": error_for(status).to_dict()}).encode()
    headers = {
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        "Cache-Control": "no-store",
        "Connection": "close",
        **security_headers,
    }
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode("latin-1") + b"\r\n" + body


class _StatusLine:
    """Stands in for the client socket while gunicorn writes its error page: keeps the bytes,
    for their status line. Reports itself non-blocking so ``util.write_nonblock`` leaves it
    alone and goes straight to ``sendall``."""

    def __init__(self) -> None:
        self.written = b""

    def gettimeout(self) -> float:
        return 0.0

    def sendall(self, data: bytes) -> None:
        self.written += data

    def status(self) -> tuple[int, str]:
        """gunicorn's status and reason; ``500`` if it wrote nothing we can read."""
        line = self.written.split(b"\r\n", 1)[0].decode("latin-1")
        _version, _, rest = line.partition(" ")
        code, _, reason = rest.partition(" ")
        if not (code.isdigit() and len(code) == 3 and reason):
            return 500, "Internal Server Error"
        return int(code), reason


class AirlockWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's ``gthread`` worker with a deadline on request headers, whose own error
    answers are API.md's JSON envelope."""

    def handle(self, conn: Any) -> Any:
        # From when a thread takes the connection until its headers are parsed (then
        # ``handle_request`` disarms it; the app watches the body itself).
        WATCHDOG.arm(conn.sock, time.monotonic() + HEADER_TIMEOUT)
        try:
            return super().handle(conn)
        finally:
            WATCHDOG.disarm(conn.sock)

    def handle_request(self, req: Any, conn: Any) -> Any:
        WATCHDOG.disarm(conn.sock)
        return super().handle_request(req, conn)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        # gunicorn decides the status and logs (warning or traceback, access line) as usual;
        # only what reaches the client changes.
        page = _StatusLine()
        super().handle_error(req, page, addr, exc)
        status, reason = page.status()
        # The app is loaded in every worker before it serves, so this import is free here;
        # at module level it would load the whole app into gunicorn's master process.
        from airlock.app import SECURITY_HEADERS

        try:
            util.write_nonblock(client, error_response(status, reason, SECURITY_HEADERS))
        except Exception:  # the client is gone or not reading: nothing more to tell it
            self.log.debug("Failed to send error message.")
