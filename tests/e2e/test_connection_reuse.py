"""Bodies read straight from the client's socket leave the connection as HTTP/1.1 expects:
requests sent back to back on one kept-alive connection (pipelined, the next one's bytes
arriving with this one's body) are each answered, in order, with the right bytes stored; a body
the server refuses before reading it all does not bleed into the next request."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.bodies import elf, file_part, multipart, multipart_type, text
from tests.support.server import LiveServer


class Connection:
    """One kept-alive client connection; requests are written raw, answers read in order."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = f"{parts.hostname}:{parts.port}"
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
        self.reader = self.sock.makefile("rb")

    def request(self, method: str, target: str, headers: dict[str, str], body: bytes) -> bytes:
        head = f"{method} {target} HTTP/1.1\r\nHost: {self.host}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head += f"Content-Length: {len(body)}\r\n\r\n"
        return head.encode("latin-1") + body

    def send(self, data: bytes) -> None:
        """Send from a thread, so that a server answering before it read everything is seen
        instead of both sides waiting on full socket buffers."""

        def run() -> None:
            try:
                self.sock.sendall(data)
            except OSError:
                pass  # the server hung up before taking it all: the answers tell

        self.sender = threading.Thread(target=run, daemon=True)
        self.sender.start()

    def answer(self) -> tuple[int, dict[str, str], Any]:
        status_line = self.reader.readline()
        assert status_line.startswith(b"HTTP/1.1 "), status_line
        headers: dict[str, str] = {}
        while (line := self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = self.reader.read(int(headers.get("content-length", "0")))
        return int(status_line.split()[1]), headers, json.loads(body) if body else None

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


@pytest.fixture
def conn(server: LiveServer) -> Iterator[Connection]:
    c = Connection(server.url)
    yield c
    c.close()


def put(conn: Connection, server: LiveServer, name: str, data: bytes) -> bytes:
    return conn.request("PUT", f"/api/v1/files/{name}", server.auth("alice"), data)


def test_pipelined_puts_are_each_stored(server: LiveServer, conn: Connection) -> None:
    bodies = [text(3 * 2**20), text(100), text(1_500_001), text(70_000)]
    conn.send(b"".join(put(conn, server, f"pipe-{i}.txt", b) for i, b in enumerate(bodies)))
    for i, body in enumerate(bodies):
        status, _, answer = conn.answer()
        assert status == 201, answer
        assert answer["name"] == f"pipe-{i}.txt"
        assert (answer["size"], answer["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())


def test_pipelined_multipart_then_a_read(server: LiveServer, conn: Connection) -> None:
    body = multipart([file_part("a.txt", text(300_000), "text/plain")])
    upload = conn.request(
        "POST", "/api/v1/files", {**server.auth("alice"), "Content-Type": multipart_type()}, body
    )
    big = put(conn, server, "big.txt", text(2 * 2**20))
    me = f"GET /api/v1/me HTTP/1.1\r\nHost: {conn.host}\r\n".encode() + (
        "".join(f"{k}: {v}\r\n" for k, v in server.auth("alice").items()).encode() + b"\r\n"
    )
    conn.send(upload + big + me)
    status, _, answer = conn.answer()
    assert status == 201, answer
    assert [f["name"] for f in answer["files"]] == ["a.txt"]
    status, _, answer = conn.answer()
    assert (status, answer["size"]) == (201, 2 * 2**20)
    status, _, answer = conn.answer()
    assert (status, answer["username"]) == (200, "alice")


def test_a_refused_body_does_not_become_the_next_request(
    server: LiveServer, conn: Connection
) -> None:
    """An ELF body is refused once its first bytes are seen; the rest of it is still the
    body's, so the request after it is answered as itself (or the connection is closed)."""
    refused = elf() + b"\0" * (2 * 2**20)
    after = text(5000)
    conn.send(put(conn, server, "prog.txt", refused) + put(conn, server, "after.txt", after))
    status, headers, answer = conn.answer()
    assert (status, answer["error"]["code"]) == (415, "type_not_allowed")
    if headers.get("connection", "").lower() == "close":
        assert conn.reader.read() == b""
        return
    status, _, answer = conn.answer()
    assert (status, answer["name"], answer["size"]) == (201, "after.txt", len(after))
