"""Malformed and abusive multipart/form-data bodies: each is refused with API.md's status and
code, leaves no staging file and no File behind, and the server keeps serving."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import requests

from tests.support.bodies import (
    BOUNDARY,
    Leftovers,
    Part,
    RawResponse,
    assert_alive,
    chunked,
    expect_error,
    field_part,
    file_part,
    multipart,
    multipart_type,
    pieces,
    png,
    raw_request,
    text,
)
from tests.support.server import LiveServer

# Every test runs on local storage and on S3 storage (tests/e2e/conftest.py).
BACKENDS = ("local", "s3")

API = "/api/v1/files"
TXT = text(100, b"multipart test\n")


@pytest.fixture
def clean(server: LiveServer) -> Iterator[Leftovers]:
    before = Leftovers.take(server)
    yield before
    assert_alive(server)


def send(server: LiveServer, body: bytes, content_type: str | None = None, *,
         auth: str | None = "alice", **kw: object) -> RawResponse:  # fmt: skip
    headers: dict[str, str] = dict(server.auth(auth)) if auth else {}
    if content_type != "":
        headers["Content-Type"] = content_type or multipart_type()
    headers["Content-Length"] = str(len(body))
    return raw_request(server.url, "POST", API, headers, body, **kw)  # type: ignore[arg-type]


def delete_all(server: LiveServer, files: list[dict]) -> None:
    for f in files:
        r = requests.delete(server.url + f["links"]["self"], headers=server.auth("alice"),
                            timeout=10)  # fmt: skip
        assert r.status_code == 204


# Media type and boundary ------------------------------------------------------------------------

WRONG_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded",
               f"multipart/mixed; boundary={BOUNDARY}", "image/png", "",
               f"multipart/related; boundary={BOUNDARY}"]  # fmt: skip


@pytest.mark.parametrize("ctype", WRONG_TYPES, ids=lambda c: c.split(";")[0] or "none")
def test_wrong_body_media_type(server: LiveServer, clean: Leftovers, ctype: str) -> None:
    body = multipart([file_part("a.txt", TXT)]) if "multipart" in ctype else b'{"file": "x"}'
    r = send(server, body, ctype)
    expect_error(r, 415, "unsupported_media_type")
    clean.assert_clean()


BAD_BOUNDARIES = [
    ("missing", "multipart/form-data"),
    ("empty", 'multipart/form-data; boundary=""'),
    ("too-long", "multipart/form-data; boundary=" + "b" * 71),
    ("non-ascii", "multipart/form-data; boundary=gr\u00fcn"),
]


@pytest.mark.parametrize(
    "ctype", [b[1] for b in BAD_BOUNDARIES], ids=[b[0] for b in BAD_BOUNDARIES]
)
def test_bad_boundary(server: LiveServer, clean: Leftovers, ctype: str) -> None:
    r = send(server, multipart([file_part("a.txt", TXT)]), ctype)
    expect_error(r, 400, "malformed_multipart")
    clean.assert_clean()


def test_boundary_not_in_body(server: LiveServer, clean: Leftovers) -> None:
    r = send(server, multipart([file_part("a.txt", TXT)], boundary="something-else"))
    expect_error(r, 400, "malformed_multipart")
    clean.assert_clean()


def test_empty_body(server: LiveServer, clean: Leftovers) -> None:
    r = send(server, b"")
    expect_error(r, 400, "malformed_multipart")
    clean.assert_clean()


# Unterminated and truncated ---------------------------------------------------------------------


@pytest.mark.parametrize("size", [100, 300_000, 3_000_000])
def test_unterminated_body(server: LiveServer, clean: Leftovers, size: int) -> None:
    """The body ends (at its declared length) without the closing boundary, mid-file."""
    r = send(server, multipart([file_part("a.txt", text(size))], close=False))
    expect_error(r, 400, "malformed_multipart")
    clean.assert_clean()


def test_unterminated_chunked(server: LiveServer, clean: Leftovers) -> None:
    body = multipart([file_part("a.txt", text(2_000_000))], close=False)
    headers = {**server.auth("alice"), "Content-Type": multipart_type(),
               "Transfer-Encoding": "chunked"}  # fmt: skip
    r = raw_request(server.url, "POST", API, headers, chunked(pieces(body)))
    expect_error(r, 400, "malformed_multipart")
    clean.assert_clean()


def test_unterminated_and_short_of_content_length(server: LiveServer, clean: Leftovers) -> None:
    """The client declares more than it sends and stops sending."""
    body = multipart([file_part("a.txt", text(200_000))], close=False)
    headers = {**server.auth("alice"), "Content-Type": multipart_type(),
               "Content-Length": str(len(body) + 10_000)}  # fmt: skip
    r = raw_request(server.url, "POST", API, headers, body, half_close=True, timeout=20)
    expect_error(r, 400, "bad_request")  # the body ended early: not a multipart problem
    clean.assert_clean(settle=5)


def test_client_vanishes_mid_part(server: LiveServer, clean: Leftovers) -> None:
    body = multipart([file_part("a.txt", text(3_000_000))])
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        head = (
            f"POST {API} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {server.auth('alice')['Authorization']}\r\n"
            f"Content-Type: {multipart_type()}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        sock.sendall(head + body[: len(body) // 2])
    clean.assert_clean(settle=15)


# Part headers -----------------------------------------------------------------------------------

DISPOSITION = b'Content-Disposition: form-data; name="file"; filename="a.txt"'


def test_one_megabyte_part_header(server: LiveServer, clean: Leftovers) -> None:
    head = DISPOSITION + b"\r\nX-Padding: " + b"p" * (1 << 20)
    r = send(server, multipart([Part(headers=head, data=TXT)]))
    expect_error(r, 400, "malformed_multipart")
    clean.assert_clean()


def test_one_megabyte_header_line_without_colon(server: LiveServer, clean: Leftovers) -> None:
    head = DISPOSITION + b"\r\n" + b"h" * (1 << 20)
    r = send(server, multipart([Part(headers=head, data=TXT)]))
    expect_error(r, 400, "malformed_multipart")
    clean.assert_clean()


def test_huge_preamble_header_never_ending(server: LiveServer, clean: Leftovers) -> None:
    """Headers that never end (no blank line) in a chunked body."""
    body = b"--" + BOUNDARY.encode() + b"\r\n" + DISPOSITION + b"\r\nX: " + b"z" * 2_000_000
    headers = {**server.auth("alice"), "Content-Type": multipart_type(),
               "Transfer-Encoding": "chunked"}  # fmt: skip
    r = raw_request(server.url, "POST", API, headers, chunked(pieces(body)))
    expect_error(r, 400, "malformed_multipart")
    clean.assert_clean()


def test_ten_thousand_part_headers(server: LiveServer, clean: Leftovers) -> None:
    extra = b"".join(b"\r\nX-H%d: v" % i for i in range(10_000))
    r = send(server, multipart([Part(headers=DISPOSITION + extra, data=TXT)]))
    expect_error(r, 400, "malformed_multipart")
    clean.assert_clean()


def test_non_utf8_part_header_line(server: LiveServer, clean: Leftovers) -> None:
    head = DISPOSITION + b"\r\nX-Junk: \xff\xfe\xfd"
    r = send(server, multipart([Part(headers=head, data=TXT)]))
    if r.status == 201:
        delete_all(server, r.json()["files"])
    else:
        expect_error(r, 400, "malformed_multipart")
    clean.assert_clean()


# Parts ------------------------------------------------------------------------------------------


def test_ten_thousand_tiny_file_parts(server: LiveServer, clean: Leftovers) -> None:
    """Over the part limit: refused as a whole, the files already staged are deleted."""
    body = multipart([file_part(f"t{i}.txt", b"x\n", "text/plain") for i in range(10_000)])
    r = send(server, body)
    expect_error(r, 400, "malformed_multipart")
    clean.assert_clean()


def test_ten_thousand_tiny_fields(server: LiveServer, clean: Leftovers) -> None:
    parts = [file_part("a.txt", TXT)] + [field_part(f"f{i}", "v") for i in range(10_000)]
    r = send(server, multipart(parts))
    expect_error(r, 400, "malformed_multipart")
    clean.assert_clean()


def test_ten_thousand_parts_chunked(server: LiveServer, clean: Leftovers) -> None:
    body = multipart([file_part(f"t{i}.txt", b"x\n", "text/plain") for i in range(10_000)])
    headers = {**server.auth("alice"), "Content-Type": multipart_type(),
               "Transfer-Encoding": "chunked"}  # fmt: skip
    r = raw_request(server.url, "POST", API, headers, chunked(pieces(body, 4096)))
    expect_error(r, 400, "malformed_multipart")
    clean.assert_clean()


def test_exactly_max_parts_accepted(server: LiveServer, clean: Leftovers) -> None:
    """The limit is a limit, not an off-by-one: 100 parts (the default) are fine."""
    r = send(server, multipart([file_part(f"t{i}.txt", b"x\n", "text/plain") for i in range(100)]))
    assert r.status == 201, r.body[:300]
    files = r.json()["files"]
    assert len(files) == 100
    delete_all(server, files)
    clean.assert_clean()


@pytest.mark.parametrize(
    "disposition",
    [b'form-data; name="file"; filename="a.txt"; filename="b.exe"',
     b'form-data; name="file"; filename="b.exe"; filename="a.txt"',
     b'form-data; name="file"; filename="a.txt"; filename*=UTF-8\'\'b.exe',
     b'form-data; name="file"; filename*=UTF-8\'\'b.exe; filename="a.txt"'],
    ids=["txt-then-exe", "exe-then-txt", "plain-then-star", "star-then-plain"],
)  # fmt: skip
def test_duplicate_filename_parameters(
    server: LiveServer, clean: Leftovers, disposition: bytes
) -> None:
    """Whichever name the server believes, it is the one it checked: a stored File is never
    named ``.exe``, and a refusal is the allowlist's (or the body's) verdict."""
    head = b"Content-Disposition: " + disposition + b"\r\nContent-Type: text/plain"
    r = send(server, multipart([Part(headers=head, data=TXT)]))
    if r.status == 201:
        files = r.json()["files"]
        assert [f["name"] for f in files] == ["a.txt"], files
        delete_all(server, files)
    elif r.status == 415:
        expect_error(r, 415, "type_not_allowed")
    else:
        expect_error(r, 400, "malformed_multipart")
    clean.assert_clean()


def test_duplicate_content_disposition_headers(server: LiveServer, clean: Leftovers) -> None:
    head = (DISPOSITION + b'\r\nContent-Disposition: form-data; name="file"; filename="b.html"'
            b"\r\nContent-Type: text/plain")  # fmt: skip
    r = send(server, multipart([Part(headers=head, data=TXT)]))
    if r.status == 201:
        files = r.json()["files"]
        assert all(f["name"].endswith(".txt") for f in files), files
        delete_all(server, files)
    elif r.status == 415:
        expect_error(r, 415, "type_not_allowed")
    else:
        expect_error(r, 400, "malformed_multipart")
    clean.assert_clean()


def test_same_filename_twice_gives_two_files(server: LiveServer, clean: Leftovers) -> None:
    r = send(server, multipart([file_part("same.png", png()), file_part("same.png", png())]))
    assert r.status == 201, r.body
    files = r.json()["files"]
    assert len(files) == 2 and files[0]["id"] != files[1]["id"]
    assert [f["name"] for f in files] == ["same.png", "same.png"]
    delete_all(server, files)
    clean.assert_clean()


NO_FILE = [
    ("no-filename", [Part(headers=b'Content-Disposition: form-data; name="file"', data=TXT)]),
    ("empty-filename", [file_part("", TXT)]),
    ("empty-filename-empty-body", [file_part("", b"")]),
    ("only-fields", [field_part("visibility", "public"), field_part("expires_in", "60")]),
    ("other-field-name", [file_part("a.txt", TXT, name="upload")]),
    ("no-name", [Part(headers=b'Content-Disposition: form-data; filename="a.txt"', data=TXT)]),
    ("no-parts", []),
]


@pytest.mark.parametrize("parts", [n[1] for n in NO_FILE], ids=[n[0] for n in NO_FILE])
def test_no_file_part(server: LiveServer, clean: Leftovers, parts: list[Part]) -> None:
    r = send(server, multipart(parts))
    expect_error(r, 400, "no_file")
    clean.assert_clean()


def test_part_without_content_disposition(server: LiveServer, clean: Leftovers) -> None:
    r = send(server, multipart([Part(headers=b"Content-Type: text/plain", data=TXT)]))
    expect_error(r, 400, "malformed_multipart")
    clean.assert_clean()


def test_filename_with_raw_crlf_in_part_header(server: LiveServer, clean: Leftovers) -> None:
    """A raw CR LF inside ``filename`` tries to inject a part header (``Content-Type``)."""
    head = (b'Content-Disposition: form-data; name="file"; filename="evil\r\n'
            b'Content-Type: text/html\r\nX: .txt"')  # fmt: skip
    r = send(server, multipart([Part(headers=head, data=b"<script>alert(1)</script>")]))
    # The header line ends inside the quoted name, so the part has no usable filename: no
    # file was sent, and nothing of the injected header is believed.
    expect_error(r, 400, "no_file")
    clean.assert_clean()


# Fields -----------------------------------------------------------------------------------------

BAD_FIELDS = [
    ("visibility", "root"),
    ("visibility", "PUBLIC"),
    ("expires_in", "-5"),
    ("expires_in", "abc"),
    ("expires_in", "1e99"),
    ("expires_in", "99999999999999999999999999"),
    ("expires_in", "0x10"),
]


@pytest.mark.parametrize("field,value", BAD_FIELDS, ids=[f"{f}={v}" for f, v in BAD_FIELDS])
def test_bad_form_field_stores_nothing(
    server: LiveServer, clean: Leftovers, field: str, value: str
) -> None:
    """The file part arrives before the bad field: its staged bytes go too."""
    r = send(server, multipart([file_part("a.txt", TXT), field_part(field, value)]))
    expect_error(r, 400, "bad_request")
    clean.assert_clean()


def test_non_utf8_field(server: LiveServer, clean: Leftovers) -> None:
    parts = [file_part("a.txt", TXT), Part(name="visibility", data=b"\xff\xfe", filename=None,
                                           content_type=None)]  # fmt: skip
    r = send(server, multipart(parts))
    expect_error(r, 400, "bad_request")
    clean.assert_clean()


# Credentials ------------------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic YWxpY2U6eA==",
                                           "Bearer "])  # fmt: skip
def test_unauthenticated_upload(server: LiveServer, clean: Leftovers,
                                authorization: str | None) -> None:  # fmt: skip
    body = multipart([file_part("a.txt", text(500_000))])
    headers = {"Content-Type": multipart_type(), "Content-Length": str(len(body))}
    if authorization is not None:
        headers["Authorization"] = authorization
    r = raw_request(server.url, "POST", API, headers, body)
    expect_error(r, 401, "unauthorized")
    clean.assert_clean()
