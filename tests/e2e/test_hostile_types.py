"""Hostile content: types decided from the bytes, never from the name's looks or the client's
Content-Type; active content refused; polyglots refused or served inert; empty files refused.
Every refusal leaves nothing behind and the server keeps working."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

import pytest
import requests

from tests.support import bodies
from tests.support.bodies import (
    Leftovers,
    assert_alive,
    expect_error,
    file_part,
    multipart,
    multipart_type,
)
from tests.support.server import LiveServer

# Every test runs on local storage and on S3 storage (tests/e2e/conftest.py).
BACKENDS = ("local", "s3")

API = "/api/v1/files"


@pytest.fixture
def clean(server: LiveServer) -> Iterator[Leftovers]:
    yield Leftovers.take(server)


def put(server: LiveServer, name: str, data: bytes, content_type: str | None = None,
        query: str = "") -> requests.Response:  # fmt: skip
    headers = dict(server.auth("alice"))
    if content_type:
        headers["Content-Type"] = content_type
    return requests.put(f"{server.url}{API}/{name}{query}", data=data, headers=headers, timeout=15)


def post(server: LiveServer, parts: list[bodies.Part]) -> requests.Response:
    body = multipart(parts)
    headers = {**server.auth("alice"), "Content-Type": multipart_type()}
    return requests.post(server.url + API, data=body, headers=headers, timeout=15)


def delete(server: LiveServer, file_id: str) -> None:
    r = requests.delete(f"{server.url}{API}/{file_id}", headers=server.auth("alice"), timeout=10)
    assert r.status_code == 204


def pixel_flood_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A small PNG whose header claims 10 gigapixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + bodies._png_chunk(b"IHDR", ihdr)
        + bodies._png_chunk(b"IDAT", zlib.compress(b"\x00" * (width * 3 + 1)))
        + bodies._png_chunk(b"IEND", b"")
    )


PDF_WITH_JS = bodies.pdf().replace(
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>",
)

# name, bytes, client Content-Type, expected (status, code)
REFUSED = [
    ("double-ext-exe", "a.png.exe", bodies.png(), "image/png", (415, "type_not_allowed")),
    ("html-as-png", "x.png", bodies.HTML, "image/png", (415, "type_not_allowed")),
    ("html-as-txt", "notes.txt", bodies.HTML, "text/plain", (415, "type_not_allowed")),
    ("html", "x.html", bodies.HTML, "text/html", (415, "type_not_allowed")),
    ("html-upper", "x.HTML", bodies.HTML, "text/html", (415, "type_not_allowed")),
    ("svg", "x.svg", bodies.SVG, "image/svg+xml", (415, "type_not_allowed")),
    ("svg-as-png", "x.png", bodies.SVG, "image/png", (415, "type_not_allowed")),
    ("js", "x.js", bodies.JS, "text/javascript", (415, "type_not_allowed")),
    ("mjs", "x.mjs", bodies.JS, "application/javascript", (415, "type_not_allowed")),
    ("elf", "x.bin", bodies.elf(), "application/octet-stream", (415, "type_not_allowed")),
    ("elf-no-ext", "program", bodies.elf(), None, (415, "type_not_allowed")),
    ("elf-as-txt", "x.txt", bodies.elf(), "text/plain", (415, "type_not_allowed")),
    ("elf-as-png", "x.png", bodies.elf(), "image/png", (415, "type_not_allowed")),
    ("pe-exe", "setup.exe", b"MZ" + b"\x90" * 200, "application/x-msdownload",
     (415, "type_not_allowed")),
    ("shell", "x.sh", bodies.SHELL, "text/x-shellscript", (415, "type_not_allowed")),
    ("shell-as-txt", "readme.txt", bodies.SHELL, "text/plain", (415, "type_not_allowed")),
    ("png-as-pdf", "x.pdf", bodies.png(), "application/pdf", (422, "content_mismatch")),
    ("pdf-as-png", "x.png", bodies.pdf(), "image/png", (422, "content_mismatch")),
    ("jpeg-as-gif", "x.gif", bodies.jpeg(), "image/gif", (422, "content_mismatch")),
    ("text-as-png", "a.txt.png", b"hello\n", "image/png", (422, "content_mismatch")),
    ("zip-as-docx", "x.docx", bodies.plain_zip(), None, (422, "content_mismatch")),
    ("empty", "empty.txt", b"", "text/plain", (422, "empty_file")),
    ("empty-exe", "empty.exe", b"", None, (422, "empty_file")),  # empty is checked first
    ("zip-bomb", "bomb.zip", bodies.zip_bomb(), "application/zip", (422, "unsafe_content")),
    ("zip-slip", "slip.zip", bodies.zip_slip(), "application/zip", (422, "unsafe_content")),
    ("pixel-flood", "flood.png", pixel_flood_png(), "image/png", (422, "unsafe_content")),
]  # fmt: skip


@pytest.mark.parametrize("transport", ["put", "multipart"])
@pytest.mark.parametrize(
    "name,data,ctype,expected", [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_refused_by_the_bytes(
    server: LiveServer, clean: Leftovers, transport: str, name: str, data: bytes,
    ctype: str | None, expected: tuple[int, str],
) -> None:  # fmt: skip
    if transport == "put":
        r = put(server, name, data, ctype)
    else:
        r = post(server, [file_part(name, data, ctype or "application/octet-stream")])
        body = r.json()
        assert [x["error"]["code"] for x in body.get("rejected", [])] == [expected[1]], body
    expect_error(r, *expected)
    clean.assert_clean()


ACCEPTED = [
    ("png", "photo.png", bodies.png(), "image/png"),
    ("png-mixed-case", "photo.PnG", bodies.png(), "image/png"),
    ("jpeg", "photo.jpg", bodies.jpeg(), "image/jpeg"),
    ("jpeg-upper", "PHOTO.JPEG", bodies.jpeg(), "image/jpeg"),
    ("gif", "anim.gif", bodies.gif(), "image/gif"),
    ("pdf", "doc.pdf", bodies.pdf(), "application/pdf"),
    ("zip", "archive.zip", bodies.plain_zip(), "application/zip"),
    ("docx", "letter.docx", bodies.docx(),
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("no-ext-png", "screenshot", bodies.png(), "image/png"),
]  # fmt: skip


@pytest.mark.parametrize(
    "name,data,mime", [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED]
)
def test_real_files_accepted_with_detected_type(
    server: LiveServer, clean: Leftovers, name: str, data: bytes, mime: str
) -> None:
    """The generated samples are real files of their type (and the client's claim is ignored)."""
    r = put(server, name, data, "text/html")
    assert r.status_code == 201, r.text
    file = r.json()
    assert file["content_type"] == mime
    assert file["size"] == len(data)
    if "." not in name:
        assert file["name"].endswith(".png")
    got = requests.get(
        server.url + file["links"]["content"], headers=server.auth("alice"), timeout=10
    )
    assert got.status_code == 200 and got.content == data
    assert got.headers["Content-Type"].split(";")[0] == mime
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    delete(server, file["id"])
    clean.assert_clean()


def assert_served_inert(server: LiveServer, file: dict, mime: str, data: bytes) -> None:
    """Every way to the bytes serves them as the detected passive type, never as something a
    browser would run, sandboxed and not sniffable."""
    link = requests.post(
        server.url + file["links"]["self"] + "/links", json={"expires_in": 60},
        headers=server.auth("alice"), timeout=10,
    ).json()["url"]  # fmt: skip
    urls = [
        (file["links"]["content"], server.auth("alice")),
        (link, {}),
    ]
    if "public" in file["links"]:
        urls.append((file["links"]["public"], {}))
    for url, headers in urls:
        r = requests.get(server.url + url, headers=headers, timeout=10)
        assert r.status_code == 200, (url, r.text)
        assert r.content == data
        ctype = r.headers["Content-Type"].split(";")[0].strip().lower()
        assert ctype == mime, (url, r.headers["Content-Type"])
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        csp = r.headers["Content-Security-Policy"]
        assert "sandbox" in csp and "default-src 'none'" in csp, csp


POLYGLOTS = [
    ("gif-js", "poly.gif", bodies.gif_js_polyglot(), "image/gif"),
    ("png-html", "poly.png", bodies.png_html_polyglot(), "image/png"),
    ("pdf-js", "auto.pdf", PDF_WITH_JS, "application/pdf"),
    ("jpeg-html", "poly.jpg", bodies.jpeg() + bodies.HTML, "image/jpeg"),
]


@pytest.mark.parametrize(
    "name,data,mime", [c[1:] for c in POLYGLOTS], ids=[c[0] for c in POLYGLOTS]
)
def test_polyglot_refused_or_served_inert(
    server: LiveServer, clean: Leftovers, name: str, data: bytes, mime: str
) -> None:
    r = put(server, name, data, "text/html", query="?visibility=public")
    if r.status_code != 201:
        expect_error(r, 422, "unsafe_content")
        clean.assert_clean()
        return
    file = r.json()
    assert file["content_type"] == mime
    assert_served_inert(server, file, mime, data)
    delete(server, file["id"])
    clean.assert_clean()


def test_js_named_txt_is_only_ever_plain_text(server: LiveServer, clean: Leftovers) -> None:
    """Script text under a .txt name: plain text at most (refused is fine too)."""
    r = put(server, "script.txt", bodies.JS, "application/javascript", query="?visibility=public")
    if r.status_code != 201:
        expect_error(r, 415, "type_not_allowed")
        clean.assert_clean()
        return
    file = r.json()
    assert file["content_type"] == "text/plain"
    assert_served_inert(server, file, "text/plain", bodies.JS)
    delete(server, file["id"])
    clean.assert_clean()


def test_mixed_batch_keeps_good_refuses_bad(server: LiveServer, clean: Leftovers) -> None:
    """One multipart request: the real PNG is stored, every hostile part is refused with its
    own code, and the refused parts leave no bytes."""
    r = post(server, [
        file_part("ok.png", bodies.png(), "image/png"),
        file_part("evil.html", bodies.HTML, "image/png"),
        file_part("x.pdf", bodies.png(), "application/pdf"),
        file_part("empty.txt", b"", "text/plain"),
        file_part("run.sh", bodies.SHELL, "text/plain"),
    ])  # fmt: skip
    assert r.status_code == 201, r.text
    body = r.json()
    assert [f["name"] for f in body["files"]] == ["ok.png"]
    assert [(x["name"], x["error"]["code"]) for x in body["rejected"]] == [
        ("evil.html", "type_not_allowed"),
        ("x.pdf", "content_mismatch"),
        ("empty.txt", "empty_file"),
        ("run.sh", "type_not_allowed"),
    ]
    delete(server, body["files"][0]["id"])
    clean.assert_clean()


def test_all_refused_answers_first_rejection(server: LiveServer, clean: Leftovers) -> None:
    r = post(server, [
        file_part("empty.png", b"", "image/png"),
        file_part("evil.svg", bodies.SVG, "image/svg+xml"),
    ])  # fmt: skip
    expect_error(r, 422, "empty_file")
    assert [x["error"]["code"] for x in r.json()["rejected"]] == ["empty_file", "type_not_allowed"]
    clean.assert_clean()


def test_server_still_serves_after_hostile_types(server: LiveServer) -> None:
    assert_alive(server)
