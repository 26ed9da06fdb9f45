"""Abusive ``Range`` headers on every route that serves bytes: a response never carries more
than the file, unsatisfiable ranges are 416 with ``Content-Range: bytes */SIZE``, and the
server keeps serving."""

from __future__ import annotations

import pytest
import requests

from tests.support.bodies import RawResponse, assert_alive, raw_request
from tests.support.server import LiveServer

# Every test runs on local storage and on S3 storage (tests/e2e/conftest.py).
BACKENDS = ("local", "s3")

# 1024 bytes of text in which every 5-byte cell names its own position.
CONTENT = b"".join(b"%04d|" % i for i in range(204)) + b"end\n"
SIZE = len(CONTENT)
assert SIZE == 1024


@pytest.fixture(scope="module")
def routes(server: LiveServer) -> dict[str, tuple[str, dict[str, str]]]:
    """The three ways to the same bytes: /content (owner), /f/ (public), /s/ (share link)."""
    r = requests.put(server.url + "/api/v1/files/ranged.txt?visibility=public", data=CONTENT,
                     headers=server.auth("alice"), timeout=10)  # fmt: skip
    assert r.status_code == 201, r.text
    file = r.json()
    link = requests.post(server.url + file["links"]["self"] + "/links",
                         json={"expires_in": 3600}, headers=server.auth("alice"),
                         timeout=10).json()["url"]  # fmt: skip
    return {
        "content": (file["links"]["content"], server.auth("alice")),
        "public": (file["links"]["public"], {}),
        "share": (link, {}),
    }


ROUTES = ["content", "public", "share"]


def get(server: LiveServer, routes: dict, route: str, range_header: str | bytes,
        method: str = "GET", extra: dict[str, str] | None = None) -> RawResponse:  # fmt: skip
    path, auth = routes[route]
    headers = {**auth, **(extra or {})}
    if isinstance(range_header, bytes):
        headers["Range"] = range_header.decode("latin-1")
    else:
        headers["Range"] = range_header
    return raw_request(server.url, method, path, headers, timeout=20)


def check_bounded(r: RawResponse, range_header: str | bytes) -> None:
    """Whatever the answer, never more bytes than the file and always consistent headers."""
    assert r.status in (200, 206, 416), (range_header, r.status, r.body[:200])
    assert len(r.body) <= SIZE, (range_header, len(r.body))
    length = r.headers.get("Content-Length")
    if length is not None:
        assert int(length) == len(r.body) <= SIZE
    if r.status == 200:
        assert r.body == CONTENT
        assert "Content-Range" not in r.headers
    elif r.status == 206:
        cr = r.headers["Content-Range"]
        assert cr.startswith("bytes ") and cr.endswith(f"/{SIZE}"), cr
        first, last = (int(x) for x in cr[6:].split("/")[0].split("-"))
        assert 0 <= first <= last < SIZE
        assert r.body == CONTENT[first : last + 1]
    else:
        assert r.headers["Content-Range"] == f"bytes */{SIZE}"
        assert CONTENT[:16] not in r.body


MANY = "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 1000, 2))  # 500 ranges
OVERLAP = "bytes=" + ",".join(["0-1023"] * 50)

ABUSIVE = [
    ("many-ranges", MANY),
    ("many-ranges-short", "bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14"),
    ("overlapping", "bytes=0-5,3-8"),
    ("overlapping-whole-x50", OVERLAP),
    ("whole-twice", "bytes=0-,0-"),
    ("suffix-and-whole", "bytes=-1024,0-1023"),
    ("huge-end", "bytes=0-99999999999999999999999999999999"),
    ("huge-suffix", "bytes=-99999999999999999999999999999999"),
    ("huge-many", "bytes=" + ",".join(["0-18446744073709551615"] * 20)),
    ("uint64-overflow", "bytes=18446744073709551615-18446744073709551616"),
    ("negative", "bytes=-5-10"),
    ("double-dash", "bytes=--5"),
    ("reversed", "bytes=10-5"),
    ("just-dash", "bytes=-"),
    ("empty-spec", "bytes="),
    ("other-unit", "items=0-5"),
    ("no-unit", "0-5"),
    ("garbage", "bytes=abc-def"),
    ("spaces", "bytes = 0 - 5"),
    ("float", "bytes=0.5-10"),
    ("hex", "bytes=0x0-0x10"),
    ("huge-header", "bytes=0-0," + "1-1," * 1500 + "2-2"),
    ("superscript-digit", b"bytes=\xb2-"),
    ("suffix-zero-in-list", "bytes=0-0,-0"),
]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("header", [a[1] for a in ABUSIVE], ids=[a[0] for a in ABUSIVE])
def test_abusive_range_never_exceeds_file(
    server: LiveServer, routes: dict, route: str, header: str | bytes
) -> None:
    check_bounded(get(server, routes, route, header), header)


UNSATISFIABLE = [
    ("suffix-zero", "bytes=-0"),
    ("start-past-end", "bytes=5000-6000"),
    ("start-at-size", f"bytes={SIZE}-"),
    ("start-at-size-closed", f"bytes={SIZE}-{SIZE + 10}"),
    ("huge-start", "bytes=99999999999999999999999999-"),
    ("huge-start-closed", "bytes=99999999999999999999-99999999999999999999"),
]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("header", [u[1] for u in UNSATISFIABLE], ids=[u[0] for u in UNSATISFIABLE])
def test_unsatisfiable_range_is_416(
    server: LiveServer, routes: dict, route: str, header: str
) -> None:
    r = get(server, routes, route, header)
    assert r.status == 416, (header, r.status, r.body[:200])
    assert r.headers["Content-Range"] == f"bytes */{SIZE}"
    assert CONTENT[:16] not in r.body
    assert r.headers["X-Content-Type-Options"] == "nosniff"


SATISFIABLE = [
    ("first-byte", "bytes=0-0", 0, 1),
    ("middle", "bytes=10-19", 10, 20),
    ("open-end", f"bytes={SIZE - 3}-", SIZE - 3, SIZE),
    ("last-byte", f"bytes={SIZE - 1}-{SIZE - 1}", SIZE - 1, SIZE),
    ("end-past-size", f"bytes=1000-{10**12}", 1000, SIZE),
    ("suffix", "bytes=-7", SIZE - 7, SIZE),
    ("suffix-larger-than-file", f"bytes=-{SIZE * 10}", 0, SIZE),
    ("whole", f"bytes=0-{SIZE - 1}", 0, SIZE),
]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("header,start,stop", [s[1:] for s in SATISFIABLE],
                         ids=[s[0] for s in SATISFIABLE])  # fmt: skip
def test_satisfiable_range_is_exact(
    server: LiveServer, routes: dict, route: str, header: str, start: int, stop: int
) -> None:
    r = get(server, routes, route, header)
    assert r.status == 206, (header, r.status)
    assert r.headers["Content-Range"] == f"bytes {start}-{stop - 1}/{SIZE}"
    assert r.body == CONTENT[start:stop]
    assert int(r.headers["Content-Length"]) == stop - start
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Accept-Ranges"] == "bytes"


@pytest.mark.parametrize("route", ROUTES)
def test_if_range_mismatch_sends_whole_file(server: LiveServer, routes: dict, route: str) -> None:
    r = get(server, routes, route, "bytes=0-9", extra={"If-Range": '"not-the-etag"'})
    assert r.status == 200 and r.body == CONTENT


@pytest.mark.parametrize("route", ROUTES)
def test_head_with_abusive_range_has_no_body(server: LiveServer, routes: dict, route: str) -> None:
    r = get(server, routes, route, MANY, method="HEAD")
    assert r.status == 200  # several ranges: the whole file, once
    assert r.body == b""


def test_range_on_a_share_link_counts_like_a_download(server: LiveServer) -> None:
    """A one-download link cannot be read piecewise with ranges past its limit."""
    r = requests.put(server.url + "/api/v1/files/once.txt", data=CONTENT,
                     headers=server.auth("alice"), timeout=10)  # fmt: skip
    file = r.json()
    url = requests.post(server.url + file["links"]["self"] + "/links",
                        json={"expires_in": 600, "max_downloads": 1},
                        headers=server.auth("alice"), timeout=10).json()["url"]  # fmt: skip
    first = requests.get(server.url + url, headers={"Range": "bytes=0-9"}, timeout=10)
    assert first.status_code == 206 and first.content == CONTENT[:10]
    second = requests.get(server.url + url, headers={"Range": "bytes=10-19"}, timeout=10)
    assert second.status_code == 410
    assert second.json()["error"]["code"] == "gone"
    requests.delete(server.url + file["links"]["self"], headers=server.auth("alice"), timeout=10)


def test_server_alive_after_range_abuse(server: LiveServer) -> None:
    assert_alive(server)
