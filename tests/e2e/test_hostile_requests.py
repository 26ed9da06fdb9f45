"""Against ``airlock serve`` (gunicorn), where such requests reach the app: redirects and
Location headers are never built from what a client sends (Host, a ``SCRIPT_NAME`` header),
every error page carries the security headers, and a body the server cannot parse is a clear
``400``, never a crash."""

from __future__ import annotations

import http.client
import json
import socket

from tests.support.server import LiveServer


def raw(server: LiveServer, method: str, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request(method, path, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def test_a_doubled_slash_with_a_foreign_host_is_no_redirect_there(server: LiveServer) -> None:
    r = raw(server, "GET", "/share//abcdef", {"Host": "evil.example"})
    assert r.status == 404
    assert r.getheader("Location") is None


def test_a_missing_trailing_slash_is_no_redirect_either(server: LiveServer) -> None:
    r = raw(server, "OPTIONS", "/api/v1/tus", {"Host": "evil.example", "Tus-Resumable": "1.0.0"})
    assert r.getheader("Location") is None
    assert r.status == 204, r.status


def test_a_script_name_header_does_not_reach_the_tus_location(server: LiveServer) -> None:
    base = {**server.auth("alice"), "Tus-Resumable": "1.0.0", "Upload-Length": "5",
            "Host": "evil.example"}  # fmt: skip
    plain = raw(server, "POST", "/api/v1/tus/", base)
    assert plain.status == 201 and (plain.getheader("Location") or "").startswith("/api/v1/tus/")
    # gunicorn takes a SCRIPT_NAME header as the mount point (and refuses, on its own, one the
    # path does not start with); the app never builds a Location from it.
    for script_name in ("/api", "//evil.example"):
        r = raw(server, "POST", "/api/v1/tus/", {**base, "SCRIPT_NAME": script_name})
        assert r.status != 201, (script_name, r.status)
        assert r.getheader("Location") is None, (script_name, r.getheader("Location"))


def test_every_error_page_carries_the_security_headers(server: LiveServer) -> None:
    for path in ("/no-such-page", "/api/v1/no-such-thing", "/f/nothing/here.txt"):
        r = raw(server, "GET", path, {})
        assert r.status == 404, (path, r.status)
        assert r.getheader("X-Content-Type-Options") == "nosniff", path
        assert "default-src 'none'" in (r.getheader("Content-Security-Policy") or ""), path
        assert r.getheader("X-Frame-Options") == "DENY", path


def _exchange(server: LiveServer, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(request)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out


def test_a_broken_chunked_body_is_a_400_with_the_envelope(server: LiveServer) -> None:
    token = server.auth("alice")["Authorization"].encode()
    for body in (b"zz\r\nhello\r\n0\r\n\r\n", b"5\r\nhelloXX0\r\n\r\n"):
        answer = _exchange(server, b"PUT /api/v1/files/chunked.txt HTTP/1.1\r\nHost: x\r\n"
                           b"Authorization: " + token + b"\r\nTransfer-Encoding: chunked\r\n"
                           b"Connection: close\r\n\r\n" + body)  # fmt: skip
        head, _, payload = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400"), answer[:200]
        error = json.loads(payload)["error"]
        assert error["code"] == "bad_request" and "malformed" in error["message"]
    assert "Traceback" not in server.log()
