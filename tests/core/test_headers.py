"""Content-Disposition always parses back to the same name and never breaks the header."""

from __future__ import annotations

from hypothesis import given
from werkzeug.http import parse_options_header
from hypothesis import strategies as st

from airlock.core import filetypes
from airlock.core.headers import content_disposition, etag_matches, serving_headers
from airlock.core.names import sanitize_name


def _parse(value: str) -> str:
    """As an RFC 6266 user agent reads it: ``filename*`` wins over the ASCII fallback."""
    _kind, params = parse_options_header(value)
    return params["filename"]


@given(st.text(min_size=1))
def test_disposition_round_trips(raw: str) -> None:
    name = sanitize_name(raw)
    value = content_disposition(name, inline=False)
    assert value.isascii()
    assert "\r" not in value and "\n" not in value
    assert _parse(value) == name


def test_inline_only_for_passive_types() -> None:
    png = filetypes.lookup("image/png")
    html = filetypes.lookup("text/html")
    zip_ = filetypes.lookup("application/zip")
    common = {"public": False, "download": False, "sha256": "0" * 64}
    assert serving_headers(png, "a.png", **common)["Content-Disposition"].startswith("inline")
    assert serving_headers(zip_, "a.zip", **common)["Content-Disposition"].startswith("attachment")
    h = serving_headers(html, "a.html", **common)
    assert h["Content-Disposition"].startswith("attachment")
    assert h["Content-Type"].startswith("text/plain")
    svg = serving_headers(filetypes.lookup("image/svg+xml"), "a.svg", **common)
    assert svg["Content-Type"] == "application/octet-stream"
    forced = serving_headers(png, "a.png", **{**common, "download": True})
    assert forced["Content-Disposition"].startswith("attachment")


def test_hardening_and_caching_headers() -> None:
    h = serving_headers(filetypes.lookup("image/png"), "a.png", public=False, download=False,
                        sha256="ab" * 32)  # fmt: skip
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert h["Cache-Control"].startswith("private")
    assert h["ETag"] == '"' + "ab" * 32 + '"'


def test_etag_matching() -> None:
    tag = "ab" * 32
    assert etag_matches(f'"{tag}"', tag)
    assert etag_matches(f'W/"{tag}", "x"', tag)
    assert etag_matches("*", tag)
    assert not etag_matches('"other"', tag)
    assert not etag_matches(None, tag)
