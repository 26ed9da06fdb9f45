"""Allowlist and extension-agreement decisions over detected types."""

from __future__ import annotations

import pytest

from airlock.config import DEFAULT_ALLOWED_TYPES
from airlock.core.containers import BombLimits, ZipFacts, check_zip, classify_zip
from airlock.core.filetypes import check_allowed, lookup
from airlock.errors import ContentMismatch, TypeNotAllowed, UnsafeContent

ALLOWED = DEFAULT_ALLOWED_TYPES


@pytest.mark.parametrize(
    ("mime", "ext", "result"),
    [
        ("image/png", "png", "png"),
        ("image/jpeg", "jpeg", "jpeg"),
        ("image/png", "", "png"),
        ("text/plain", "md", "md"),
        ("text/plain", "csv", "csv"),
        ("application/json", "json", "json"),
    ],
)
def test_allowed(mime: str, ext: str, result: str) -> None:
    assert check_allowed(lookup(mime), ext, ALLOWED) == result


@pytest.mark.parametrize(
    ("mime", "ext", "error"),
    [
        ("text/html", "txt", TypeNotAllowed),
        ("image/svg+xml", "png", TypeNotAllowed),
        ("application/x-dosexec", "png", TypeNotAllowed),
        ("text/x-shellscript", "txt", TypeNotAllowed),
        ("application/x-unknown-thing", "png", TypeNotAllowed),
        ("image/png", "exe", TypeNotAllowed),
        ("image/png", "pdf", ContentMismatch),
        ("application/pdf", "png", ContentMismatch),
        ("application/zip", "docx", ContentMismatch),
    ],
)
def test_refused(mime: str, ext: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        check_allowed(lookup(mime), ext, ALLOWED)


def test_operator_may_allow_html_but_it_stays_active() -> None:
    html = lookup("text/html")
    assert check_allowed(html, "html", ALLOWED + ("html",)) == "html"
    assert html.active and not html.passive


def test_zip_classification() -> None:
    docx = ZipFacts(("[Content_Types].xml", "word/document.xml"), 10, 20)
    assert classify_zip(docx).endswith("wordprocessingml.document")
    odt = ZipFacts(("mimetype", "content.xml"), 10, 20, "application/vnd.oasis.opendocument.text")
    assert classify_zip(odt) == "application/vnd.oasis.opendocument.text"
    assert classify_zip(ZipFacts(("a.txt",), 1, 1)) == "application/zip"


def test_zip_bombs() -> None:
    limits = BombLimits(max_entries=10, max_uncompressed=10**6, max_ratio=100)
    check_zip(ZipFacts(("a",), 100, 200), limits)
    with pytest.raises(UnsafeContent):
        check_zip(ZipFacts(tuple(str(i) for i in range(11)), 1, 1), limits)
    with pytest.raises(UnsafeContent):
        check_zip(ZipFacts(("a",), 10**6, 10**7), limits)
    with pytest.raises(UnsafeContent):
        check_zip(ZipFacts(("a",), 1000, 2 * 2**20), BombLimits(max_ratio=100))
    with pytest.raises(UnsafeContent):
        check_zip(ZipFacts(("../evil",), 1, 1), limits)


def test_pixel_floods() -> None:
    from airlock.core.images import check_pixels, dimensions
    from tests.support import samples

    assert dimensions("image/png", samples.png(3, 2)) == (3, 2)
    check_pixels("image/png", samples.png(3, 2), max_pixels=6)
    with pytest.raises(UnsafeContent):
        check_pixels("image/png", samples.png(3, 2), max_pixels=5)
    gif = b"GIF89a" + (50000).to_bytes(2, "little") * 2 + b"\0" * 20
    with pytest.raises(UnsafeContent):
        check_pixels("image/gif", gif)
    # A JPEG: SOI, an APP0 segment, then SOF0 declaring 40000x40000.
    jpeg = (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
            b"\xff\xc0\x00\x11\x08" + (40000).to_bytes(2, "big") * 2 + b"\x03" + b"\0" * 9)  # fmt: skip
    assert dimensions("image/jpeg", jpeg) == (40000, 40000)
    assert dimensions("image/jpeg", b"\xff\xd8garbage") is None
    assert dimensions("text/plain", b"hello") is None


def test_printable_text_that_libmagic_mislabels_is_text_when_the_name_says_so() -> None:
    from airlock.core.filetypes import is_printable_text, lookup, text_after_all

    base64_text = b"QUJDRA" * 100
    hpgl = lookup("application/vnd.hp-hpgl")  # what libmagic called some random base64 text
    assert text_after_all(hpgl, "txt", base64_text).mime == "text/plain"
    assert text_after_all(hpgl, "png", base64_text) is hpgl  # the name does not say text
    assert text_after_all(hpgl, "txt", b"\x01\x02binary" * 10) is hpgl  # not printable
    for kept in ("text/html", "image/svg+xml", "application/pdf"):  # runnable, or parsed as such
        assert text_after_all(lookup(kept), "txt", b"plain enough").mime == kept
    shell = lookup("text/x-shellscript")
    assert text_after_all(shell, "txt", b"#!/bin/sh\necho hi\n") is shell  # runs as it is
    python = lookup("text/x-script.python")  # libmagic's guess for a fenced block in Markdown
    assert text_after_all(python, "md", b"# Notes\n```\nimport os\n```\n").mime == "text/plain"
    assert is_printable_text("caf\u00e9 \u2603\r\n\t".encode())
    assert is_printable_text("\ufeffBOM first".encode())
    assert is_printable_text("cut inside \u00e9".encode()[:-1])  # the head ends mid-character
    assert not is_printable_text(b"\xff\xfe not utf-8 at the start")
    assert not is_printable_text(b"bell \x07 inside")
