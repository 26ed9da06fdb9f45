"""Requests gunicorn refuses on its own, before the app sees them (a request line or headers
over its limits, a request it cannot parse, a transfer coding it does not implement): the
answer keeps gunicorn's status but is API.md's JSON envelope with the app's security headers,
quotes nothing of the request back, closes the connection, and the server keeps serving."""

from __future__ import annotations

import contextlib
import json
import socket
from dataclasses import dataclass

import pytest

from airlock import errors
from airlock.app import SECURITY_HEADERS
from airlock.worker import error_response
from tests.support.bodies import assert_alive
from tests.support.server import LiveServer

# Sent inside hostile requests: gunicorn's HTML page quoted the offending bytes back.
MARKER = "<script>marker-7f3a</script>"


@dataclass
class Answer:
    status: int
    reason: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


def exchange(server: LiveServer, request: bytes) -> list[Answer]:
    """Send ``request`` as it is, read until the server closes, and split what came back into
    responses by their Content-Length (so a wrong length shows as a broken next response)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        # It may answer and hang up before taking everything: what it answered is read below.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    answers = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, data[:300]
        status_line, *lines = head.decode("latin-1").split("\r\n")
        _version, code, reason = status_line.split(" ", 2)
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers["content-length"])
        assert len(rest) >= length, (headers, rest)
        answers.append(Answer(int(code), reason, headers, rest[:length]))
        data = rest[length:]
    return answers


def assert_envelope(answer: Answer, status: int, code: str) -> None:
    assert answer.status == status, answer
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["connection"] == "close"
    assert answer.headers["cache-control"] == "no-store"
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get(name.lower()) == value, (name, answer.headers)
    body = json.loads(answer.body)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["details"] == {}
    assert body["error"]["message"]
    assert MARKER.encode() not in answer.body and b"<" not in answer.body


def request(line: str, *headers: str, body: bytes = b"") -> bytes:
    head = "".join(f"{h}\r\n" for h in ("Host: 127.0.0.1", *headers))
    return f"{line}\r\n{head}\r\n".encode("latin-1") + body


CASES = [
    # Over gunicorn's limits (4094 bytes of request line, 100 header fields of 8190 bytes).
    ("request-line-20k", request("GET /" + "a" * 20_000 + " HTTP/1.1"), 414),
    ("query-20k-under-api", request("GET /api/v1/files?q=" + "a" * 20_000 + " HTTP/1.1"), 414),
    ("200-headers", request("GET /api/v1/me HTTP/1.1", *(f"X-H{i}: {i}" for i in range(200))),
     431),
    ("header-20k", request("GET /api/v1/me HTTP/1.1", "X-Big: " + "a" * 20_000), 431),
    # Not HTTP/1.1 gunicorn can read.
    ("garbage-request-line", request("\x16\x03\x01" + MARKER + " nonsense"), 400),
    ("word-request-line", request("HELLO"), 400),
    ("bad-method", request(MARKER + " / HTTP/1.1"), 400),
    ("bad-version", request("GET / HTTP/7.3"), 400),
    ("bad-header-name", request("GET / HTTP/1.1", MARKER + ": y"), 400),
    # Framing gunicorn refuses before any body is read.
    ("chunked-on-http-1.0", request("PUT /api/v1/files/x.txt HTTP/1.0",
     "Transfer-Encoding: chunked", body=b"5\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunked-twice", request("PUT /api/v1/files/x.txt HTTP/1.1",
     "Transfer-Encoding: chunked, chunked", body=b"5\r\nhello\r\n0\r\n\r\n"), 400),
    ("length-and-chunked", request("PUT /api/v1/files/x.txt HTTP/1.1", "Content-Length: 5",
     "Transfer-Encoding: chunked", body=b"5\r\nhello\r\n0\r\n\r\n"), 400),
    ("gzip-not-chunked", request("PUT /api/v1/files/x.txt HTTP/1.1",
     "Transfer-Encoding: gzip", body=b"hello"), 400),
    ("unknown-transfer-coding", request("PUT /api/v1/files/x.txt HTTP/1.1",
     "Transfer-Encoding: br, chunked", body=b"5\r\nhello\r\n0\r\n\r\n"), 501),
    ("unknown-expectation", request("PUT /api/v1/files/x.txt HTTP/1.1", "Expect: " + MARKER,
     "Content-Length: 5", body=b"hello"), 417),
]  # fmt: skip


@pytest.mark.parametrize(("request_bytes", "status"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_gunicorns_own_refusals_carry_the_envelope(
    server: LiveServer, request_bytes: bytes, status: int
) -> None:
    answers = exchange(server, request_bytes)
    assert len(answers) == 1, answers
    # API.md has no code of its own for 414, 417, 431 or 501: a request the server cannot
    # take as sent is ``bad_request``, and the status says which limit or rule it broke.
    assert_envelope(answers[0], status, "bad_request")


def test_a_broken_chunked_body_the_app_did_not_read(server: LiveServer) -> None:
    """The app answers without reading the body; gunicorn then reads the rest of it to keep
    the connection, finds its framing broken, and answers that too, in the envelope."""
    broken = b"zz\r\n" + MARKER.encode() + b"\r\n0\r\n\r\n"
    answers = exchange(server, request("GET /healthz HTTP/1.1", "Transfer-Encoding: chunked",
                                       body=broken))  # fmt: skip
    assert [a.status for a in answers] == [200, 400], answers
    assert json.loads(answers[0].body) == {"status": "ok"}
    assert_envelope(answers[1], 400, "bad_request")


def test_the_messages_name_the_problem(server: LiveServer) -> None:
    messages = {
        status: json.loads(exchange(server, req)[0].body)["error"]["message"]
        for _name, req, status in CASES
    }
    assert "too long" in messages[414]
    assert "header fields" in messages[431]
    assert "Transfer-Encoding" in messages[501]
    assert "malformed" in messages[400]


def test_server_errors_are_still_logged_and_the_server_keeps_serving(server: LiveServer) -> None:
    exchange(server, request("GET /" + "a" * 20_000 + " HTTP/1.1"))
    assert_alive(server)
    log = server.log()
    assert "Invalid request from ip=127.0.0.1: Request Line is too large" in log
    assert "Traceback" not in log


def test_a_500_of_gunicorns_own_says_internal_error_and_nothing_more(server: LiveServer) -> None:
    """gunicorn takes a ``SCRIPT_NAME`` header as the mount point and answers 500, naming the
    header and the path, when the path does not start with it."""
    answers = exchange(server, request("GET /api/v1/me HTTP/1.1", "SCRIPT_NAME: /" + MARKER))
    assert len(answers) == 1, answers
    assert_envelope(answers[0], 500, "internal_error")
    assert json.loads(answers[0].body)["error"]["message"] == errors.InternalError.default_message
    assert b"SCRIPT_NAME" not in answers[0].body and b"/api/v1/me" not in answers[0].body


def test_a_403_of_gunicorns_own_is_forbidden() -> None:
    # gunicorn's 403s (a PROXY protocol line from an untrusted address, a failed TLS handshake)
    # cannot happen with the server's settings; API.md pairs 403 with ``forbidden``.
    raw = error_response(403, "Forbidden", SECURITY_HEADERS)
    assert raw.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert json.loads(raw.partition(b"\r\n\r\n")[2])["error"]["code"] == "forbidden"
