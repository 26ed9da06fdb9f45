"""Oversize and lying bodies against a server with small limits (1 MB per file, 3 MB per
request): refused early when the declared length already says so, refused mid-stream when it
does not (chunked), and never stored when the body stops short of what was declared."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.bodies import (
    Leftovers,
    RawResponse,
    assert_alive,
    chunked,
    expect_error,
    file_part,
    multipart,
    multipart_type,
    pieces,
    raw_request,
    repeat,
    text,
)
from tests.e2e.conftest import Backend
from tests.support.server import LiveServer

# Every test runs on local storage and on S3 storage (tests/e2e/conftest.py).
BACKENDS = ("local", "s3")

FILE_LIMIT = 1_000_000  # AIRLOCK_MAX_FILE_SIZE=1MB
REQUEST_LIMIT = 3_000_000  # AIRLOCK_MAX_REQUEST_SIZE=3MB
# How long a server may take to answer a request whose headers alone decide it. Not a timing
# assertion: a server that waits for a body it should refuse simply never answers.
EARLY = 8.0


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Iterator[LiveServer]:
    root: Path = tmp_path_factory.mktemp("small")
    live = backend.server(
        root / "data",
        env={"AIRLOCK_MAX_FILE_SIZE": "1MB", "AIRLOCK_MAX_REQUEST_SIZE": "3MB"},
    )
    try:
        live.add_user("alice", admin=True)
        live.add_user("bob")
        yield live
    finally:
        live.stop()


@pytest.fixture
def clean(small: LiveServer) -> Iterator[Leftovers]:
    before = Leftovers.take(small)
    yield before
    assert_alive(small)


def _auth(server: LiveServer) -> dict[str, str]:
    return server.auth("alice")


def _early(server: LiveServer, method: str, target: str, headers: dict[str, str],
           body: bytes = b"") -> RawResponse:  # fmt: skip
    """Send the headers (and at most a few bytes), then wait for the verdict."""
    try:
        return raw_request(server.url, method, target, headers, body, timeout=EARLY)
    except TimeoutError:
        pytest.fail(
            f"{method} {target} with Content-Length {headers.get('Content-Length')}: the server "
            "waited for the body instead of refusing the declared size up front"
        )


# PUT --------------------------------------------------------------------------------------------


def test_put_declared_over_file_limit_refused_before_body(
    small: LiveServer, clean: Leftovers
) -> None:
    """``Content-Length`` above the file limit (but within the request limit): the body of a PUT
    is the file, so the size check can answer before a single body byte is read."""
    r = _early(small, "PUT", "/api/v1/files/big.txt",
               {**_auth(small), "Content-Length": str(2 * FILE_LIMIT)}, b"abc")  # fmt: skip
    expect_error(r, 413, "too_large")
    clean.assert_clean(settle=10)


def test_put_declared_over_request_limit_refused_before_body(
    small: LiveServer, clean: Leftovers
) -> None:
    r = _early(small, "PUT", "/api/v1/files/huge.txt",
               {**_auth(small), "Content-Length": str(50 * 10**9)})  # fmt: skip
    expect_error(r, 413, "too_large")
    clean.assert_clean(settle=10)


def test_put_exactly_at_limit_accepted(small: LiveServer, clean: Leftovers) -> None:
    data = text(FILE_LIMIT)
    r = requests.put(small.url + "/api/v1/files/exact.txt", data=data, headers=_auth(small),
                     timeout=30)  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["size"] == FILE_LIMIT
    d = requests.delete(small.url + r.json()["links"]["self"], headers=_auth(small), timeout=10)
    assert d.status_code == 204
    clean.assert_clean()


def test_put_one_byte_over_with_content_length(small: LiveServer, clean: Leftovers) -> None:
    data = text(FILE_LIMIT + 1)
    r = raw_request(small.url, "PUT", "/api/v1/files/over.txt",
                    {**_auth(small), "Content-Length": str(len(data))}, data)  # fmt: skip
    expect_error(r, 413, "too_large")
    clean.assert_clean()


@pytest.mark.parametrize("total", [FILE_LIMIT + 1, 2 * FILE_LIMIT, 5 * REQUEST_LIMIT])
def test_put_chunked_oversize_refused_mid_stream(
    small: LiveServer, clean: Leftovers, total: int
) -> None:
    """No Content-Length: the limit is enforced on the bytes as they arrive."""
    r = raw_request(small.url, "PUT", "/api/v1/files/stream.txt",
                    {**_auth(small), "Transfer-Encoding": "chunked"},
                    chunked(repeat(b"streamed text\n", total)))  # fmt: skip
    expect_error(r, 413, "too_large")
    clean.assert_clean()


def test_put_chunked_at_limit_accepted(small: LiveServer, clean: Leftovers) -> None:
    r = raw_request(small.url, "PUT", "/api/v1/files/stream-ok.txt",
                    {**_auth(small), "Transfer-Encoding": "chunked"},
                    chunked(repeat(b"streamed text\n", FILE_LIMIT, 7919)))  # fmt: skip
    assert r.status == 201, r.body
    file = r.json()
    assert file["size"] == FILE_LIMIT
    requests.delete(small.url + file["links"]["self"], headers=_auth(small), timeout=10)
    clean.assert_clean()


def test_put_body_shorter_than_content_length_not_stored(
    small: LiveServer, clean: Leftovers
) -> None:
    """The client promises 1000 bytes, sends 500 and stops: the upload is incomplete and must
    not become a File (API.md: nothing becomes a File until every byte arrived)."""
    r = raw_request(small.url, "PUT", "/api/v1/files/truncated.txt",
                    {**_auth(small), "Content-Length": "1000"}, text(500),
                    half_close=True, timeout=20)  # fmt: skip
    expect_error(r, 400, "bad_request")
    clean.assert_clean(settle=5)


def test_put_chunked_without_last_chunk_not_stored(small: LiveServer, clean: Leftovers) -> None:
    def unterminated() -> Iterator[bytes]:
        for piece in chunked([text(500)]):
            if piece != b"0\r\n\r\n":
                yield piece

    r = raw_request(small.url, "PUT", "/api/v1/files/unterminated.txt",
                    {**_auth(small), "Transfer-Encoding": "chunked"}, unterminated(),
                    half_close=True, timeout=20)  # fmt: skip
    expect_error(r, 400, "bad_request")
    clean.assert_clean(settle=5)


def test_put_client_vanishes_mid_body(small: LiveServer, clean: Leftovers) -> None:
    """A client that disappears half-way leaves no staging file and no File."""
    import socket

    port = int(small.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        head = (
            f"PUT /api/v1/files/vanish.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {_auth(small)['Authorization']}\r\n"
            f"Content-Length: {FILE_LIMIT}\r\n\r\n"
        ).encode()
        sock.sendall(head + text(FILE_LIMIT // 2))
    clean.assert_clean(settle=15)


# Multipart --------------------------------------------------------------------------------------


def _mp_headers(server: LiveServer, length: int | None) -> dict[str, str]:
    h = {**_auth(server), "Content-Type": multipart_type()}
    if length is None:
        h["Transfer-Encoding"] = "chunked"
    else:
        h["Content-Length"] = str(length)
    return h


def test_multipart_declared_over_request_limit_refused_before_body(
    small: LiveServer, clean: Leftovers
) -> None:
    r = _early(small, "POST", "/api/v1/files", _mp_headers(small, REQUEST_LIMIT + 1))
    expect_error(r, 413, "too_large")
    clean.assert_clean(settle=10)


def test_multipart_declared_huge_refused_before_body(small: LiveServer, clean: Leftovers) -> None:
    r = _early(small, "POST", "/api/v1/files", _mp_headers(small, 2**63 - 1))
    expect_error(r, 413, "too_large")
    clean.assert_clean(settle=10)


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_multipart_file_over_limit(small: LiveServer, clean: Leftovers, framing: str) -> None:
    """A part over the file limit in a request within the request limit: that file is
    ``too_large`` and nothing is kept."""
    body = multipart([file_part("big.txt", text(2 * FILE_LIMIT), "text/plain")])
    if framing == "content-length":
        r = raw_request(small.url, "POST", "/api/v1/files", _mp_headers(small, len(body)), body)
    else:
        r = raw_request(small.url, "POST", "/api/v1/files", _mp_headers(small, None),
                        chunked(pieces(body)))  # fmt: skip
    expect_error(r, 413, "too_large")
    clean.assert_clean()


def test_multipart_chunked_over_request_limit_mid_stream(
    small: LiveServer, clean: Leftovers
) -> None:
    body = multipart([file_part(f"p{i}.txt", text(FILE_LIMIT - 10), "text/plain")
                      for i in range(5)])  # fmt: skip
    assert len(body) > REQUEST_LIMIT
    r = raw_request(small.url, "POST", "/api/v1/files", _mp_headers(small, None),
                    chunked(pieces(body)))  # fmt: skip
    expect_error(r, 413, "too_large")
    clean.assert_clean()


def test_multipart_one_ok_one_oversize(small: LiveServer, clean: Leftovers) -> None:
    body = multipart([
        file_part("small.txt", text(1000), "text/plain"),
        file_part("big.txt", text(FILE_LIMIT + 1), "text/plain"),
    ])  # fmt: skip
    r = raw_request(small.url, "POST", "/api/v1/files", _mp_headers(small, None),
                    chunked(pieces(body)))  # fmt: skip
    assert r.status == 201, r.body[:500]
    out = r.json()
    assert [f["name"] for f in out["files"]] == ["small.txt"]
    assert [(x["name"], x["error"]["code"]) for x in out["rejected"]] == [("big.txt", "too_large")]
    d = requests.delete(small.url + out["files"][0]["links"]["self"], headers=_auth(small),
                        timeout=10)  # fmt: skip
    assert d.status_code == 204
    clean.assert_clean()


def test_multipart_oversize_then_empty(small: LiveServer, clean: Leftovers) -> None:
    """The first rejection answers: too_large before empty_file."""
    body = multipart([
        file_part("big.txt", text(FILE_LIMIT + 1), "text/plain"),
        file_part("empty.txt", b"", "text/plain"),
    ])  # fmt: skip
    r = raw_request(small.url, "POST", "/api/v1/files", _mp_headers(small, len(body)), body)
    expect_error(r, 413, "too_large")
    assert [x["error"]["code"] for x in r.json()["rejected"]] == ["too_large", "empty_file"]
    clean.assert_clean()


def test_multipart_complete_but_shorter_than_content_length_not_stored(
    small: LiveServer, clean: Leftovers
) -> None:
    """A well-formed multipart body, but the request declared 5000 more bytes than it sent
    before the client stopped: an incomplete request stores nothing."""
    body = multipart([file_part("short.txt", text(2000), "text/plain")])
    r = raw_request(small.url, "POST", "/api/v1/files", _mp_headers(small, len(body) + 5000),
                    body, half_close=True, timeout=20)  # fmt: skip
    expect_error(r, 400, "bad_request")
    assert r.json()["error"]["details"] == {"expected": len(body) + 5000, "received": len(body)}
    clean.assert_clean(settle=5)


# JSON bodies ------------------------------------------------------------------------------------


def test_json_declared_over_its_cap_refused_before_body(small: LiveServer, clean: Leftovers) -> None:
    """A JSON body is read into memory, so it is capped (64 KiB) before it is read: sign-in
    needs no credentials, and a declared 2 GB must not make a worker wait for, or hold, it."""
    r = _early(small, "POST", "/api/v1/session",
               {"Content-Type": "application/json", "Content-Length": "2000000000"}, b'{"us')
    expect_error(r, 413, "too_large")
    clean.assert_clean()


def test_json_chunked_over_its_cap_refused_mid_stream(small: LiveServer, clean: Leftovers) -> None:
    """Without a length the cap applies as the bytes arrive: refused once past it, never read
    to the end (20 MB of a JSON string cannot all have been taken)."""
    junk = (b'{"username": "alice", "password": "' + b"x" * 20_000_000 + b'"}')
    r = raw_request(small.url, "POST", "/api/v1/session",
                    {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                    chunked(pieces(junk)), timeout=EARLY)  # fmt: skip
    expect_error(r, 413, "too_large")
    assert not r.sent_all
    clean.assert_clean()


def test_json_at_its_cap_is_read(small: LiveServer, clean: Leftovers) -> None:
    """A body just under the cap is still parsed (a rename whose long name is then cut to 255
    bytes, as any name is); one just over it is refused."""
    put = requests.put(small.url + "/api/v1/files/cap.txt", data=b"x\n", headers=_auth(small),
                       timeout=10)  # fmt: skip
    assert put.status_code == 201, put.text
    body = b'{"name": "' + b"n" * (64 * 1024 - 64) + b'.txt"}'
    r = requests.patch(small.url + put.json()["links"]["self"], data=body, timeout=10,
                       headers={**_auth(small), "Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    over = b'{"name": "' + b"n" * (64 * 1024) + b'.txt"}'
    r = requests.patch(small.url + put.json()["links"]["self"], data=over, timeout=10,
                       headers={**_auth(small), "Content-Type": "application/json"})
    expect_error(r, 413, "too_large")
    d = requests.delete(small.url + put.json()["links"]["self"], headers=_auth(small), timeout=10)
    assert d.status_code == 204
    clean.assert_clean()
