"""The headers a File's bytes are served with: disposition, type, caching, hardening."""

from __future__ import annotations

from urllib.parse import quote

from airlock.core.filetypes import FileType, inline_ok

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Referrer-Policy": "no-referrer",
}


def ascii_fallback(name: str) -> str:
    """An ASCII-only stand-in for ``filename=``: anything outside printable ASCII, quotes,
    backslashes and percent signs become ``_`` so the quoted string can never break out."""
    out = "".join(ch if 0x20 <= ord(ch) < 0x7F and ch not in '"\\%;' else "_" for ch in name)
    return out or "file"


def content_disposition(name: str, inline: bool) -> str:
    """An RFC 6266 ``Content-Disposition`` value carrying ``name`` intact in ``filename*``."""
    kind = "inline" if inline else "attachment"
    encoded = quote(name, safe="!#$&+-.^_`|~")
    return f"{kind}; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{encoded}"


def serving_headers(
    file_type: FileType, name: str, *, public: bool, download: bool, sha256: str,
    attachment_only: bool = False,
) -> dict[str, str]:  # fmt: skip
    """Every header a response carrying a File's bytes gets, except length and range ones.
    ``attachment_only``: never inline, whatever the type allows."""
    inline = inline_ok(file_type) and not download and not attachment_only
    headers = dict(SECURITY_HEADERS)
    headers["Content-Type"] = file_type.serve_as
    headers["Content-Disposition"] = content_disposition(name, inline)
    headers["Cache-Control"] = "public, max-age=300" if public else "private, no-cache"
    headers["ETag"] = f'"{sha256}"'
    headers["Accept-Ranges"] = "bytes"
    return headers


def etag_matches(if_none_match: str | None, sha256: str) -> bool:
    """Whether an ``If-None-Match`` header matches the File's (strong) ETag; weak compare, as
    RFC 9110 asks for If-None-Match."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag == f'"{sha256}"':
            return True
    return False
