"""Hostile file names, in a multipart ``filename`` and in the ``PUT`` URL path.

Whatever the client calls its file, the stored File's ``name`` is a safe display name (no path,
no control or bidi characters, no Windows device name, no leading dot, at most 255 bytes, the
extension kept), its download's ``Content-Disposition`` cannot be broken out of, and nothing is
written anywhere under the name the client chose.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, unquote

import pytest
import requests

from tests.support.bodies import (
    Leftovers,
    Part,
    RawResponse,
    assert_alive,
    escaped_paths,
    expect_error,
    file_part,
    multipart,
    multipart_type,
    png,
    raw_request,
    text,
)
from tests.support.server import LiveServer

# Every test runs on local storage and on S3 storage (tests/e2e/conftest.py).
BACKENDS = ("local", "s3")

M = "esc" + uuid.uuid4().hex[:10]  # marks names so an escaped write can be searched for
TXT = text(40, b"hostile name test\n")

_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{n}" for p in ("COM", "LPT") for n in range(10)}
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
# RFC 6266: disposition type, an optional ASCII fallback as a quoted-string with no quote,
# backslash or control character inside, and filename* as RFC 8187 ext-value.
_DISPOSITION = re.compile(
    r"(inline|attachment)"
    r"(?:\s*;\s*filename=\"(?P<fallback>[^\"\\\x00-\x1f\x7f]*)\")?"
    r"\s*;\s*filename\*=UTF-8''(?P<encoded>[A-Za-z0-9!#$&+\-.^_`|~%]+)"
    r"(?:\s*;\s*filename=\"(?P<fallback2>[^\"\\\x00-\x1f\x7f]*)\")?\s*",
    re.IGNORECASE,
)


def assert_safe_name(name: str) -> None:
    """API.md's display-name rules, whatever the input was."""
    assert name, "empty name"
    assert "/" not in name and "\\" not in name, name
    assert not name.startswith("."), name
    assert name == name.strip(), name
    assert len(name.encode("utf-8")) <= 255, (len(name.encode()), name)
    for ch in name:
        assert unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"), (hex(ord(ch)), name)
        assert ch not in _BIDI, (hex(ord(ch)), name)
    stem = name.split(".")[0].strip().upper()
    assert stem not in _RESERVED, name
    assert ".." not in name.split("/"), name


def assert_safe_download(server: LiveServer, file: dict, who: str = "alice") -> None:
    """The File's bytes come with a Content-Disposition nobody can break out of, carrying the
    stored name intact in ``filename*``; no header was injected."""
    for query in ("", "?download=1"):
        r = raw_request(
            server.url, "GET", file["links"]["content"] + query, server.auth(who), timeout=15
        )
        assert r.status == 200, r.body[:300]
        values = r.headers.get_all("Content-Disposition") or []
        assert len(values) == 1, values
        value = values[0]
        assert "\r" not in value and "\n" not in value and "\x00" not in value, repr(value)
        m = _DISPOSITION.fullmatch(value)
        assert m is not None, f"unsafe or non-RFC 6266 Content-Disposition: {value!r}"
        assert unquote(m.group("encoded"), encoding="utf-8", errors="strict") == file["name"]
        if query:
            assert m.group(1).lower() == "attachment", value
        injected = {k.lower() for k in r.headers} & {"set-cookie", "x-injected", "location"}
        assert not injected, dict(r.headers)
        assert r.headers["X-Content-Type-Options"] == "nosniff"


@dataclass(frozen=True)
class Case:
    id: str
    name: str
    data: bytes = TXT
    ext: str = ".txt"  # the stored name must end with this (case-insensitively)
    contains: str = ""  # …and contain this
    exact: str | None = None  # …or be exactly this
    refuse: tuple[int, str] | None = None  # expected refusal instead


CASES = [
    Case("traversal", f"../../{M}-passwd.txt", contains=f"{M}-passwd"),
    Case("etc-passwd", "../../etc/passwd.txt", contains="passwd"),
    Case("deep-traversal", f"{'../' * 30}tmp/{M}-deep.txt", contains=f"{M}-deep"),
    Case("backslashes", f"..\\..\\{M}-win.txt", contains=f"{M}-win"),
    Case("absolute", f"/etc/{M}-x.txt", contains=f"{M}-x"),
    Case("windows-absolute", f"C:\\Windows\\{M}-sys.txt", contains=f"{M}-sys"),
    Case("nul", f"{M}\x00.png.txt", contains=M),
    Case("nul-truncation", "shell.php\x00.png", data=png(), ext=".png", contains="shell"),
    Case("crlf", f"{M}\r\nSet-Cookie: pwned=1\r\nX-Injected: 1.txt", contains=M),
    Case("lf", f"{M}\nX-Injected: yes.txt", contains=M),
    Case("rtl-override-exe", "evil\u202egpj.exe", data=png(), refuse=(415, "type_not_allowed")),
    Case("rtl-override-txt", f"{M}\u202egnp.txt", contains=M),
    Case("bidi-isolates", f"\u2067{M}\u2069\u200f.txt", contains=M),
    Case("con", "CON.txt"),
    Case("con-lower", "con.txt"),
    Case("lpt1", "LPT1.txt"),
    Case("nul-device", "NUL.txt"),
    Case("htaccess", ".htaccess", contains="htaccess"),
    Case("dots-only", "...", ext=""),
    Case("long-ascii", "a" * 300 + ".png", data=png(), ext=".png"),
    Case("long-multibyte", "ф" * 200 + ".txt", contains="ффф"),
    Case("long-emoji", "\U0001f600" * 100 + ".txt"),
    Case("unicode-kept", "фото.png", data=png(), ext=".png", exact="фото.png"),
    Case("unicode-nfc", "cafe\u0301.txt", exact="café.txt"),
    Case("quotes", f'{M}"; filename="evil.html.txt', contains=M),
    Case("semicolon-percent", f"{M};a=%0d%0a.txt", contains=M),
    Case("trailing-dots-spaces", f"{M}.txt. . ", contains=M),
]

TRANSPORTS = ("put", "multipart")


def _upload(server: LiveServer, transport: str, name: str, data: bytes) -> RawResponse:
    auth = server.auth("alice")
    if transport == "put":
        target = "/api/v1/files/" + quote(name, safe="")
        return raw_request(
            server.url, "PUT", target, {**auth, "Content-Length": str(len(data))}, data
        )
    body = multipart([file_part(name.encode("utf-8"), data, "text/plain")])
    headers = {**auth, "Content-Type": multipart_type(), "Content-Length": str(len(body))}
    return raw_request(server.url, "POST", "/api/v1/files", headers, body)


def _stored(r: RawResponse, transport: str) -> dict:
    body = r.json()
    if transport == "put":
        return body  # type: ignore[no-any-return]
    assert len(body["files"]) == 1 and body["rejected"] == [], body
    return body["files"][0]  # type: ignore[no-any-return]


def _delete(server: LiveServer, file_id: str) -> None:
    r = requests.delete(
        server.url + f"/api/v1/files/{file_id}", headers=server.auth("alice"), timeout=10
    )
    assert r.status_code == 204


@pytest.fixture
def clean(server: LiveServer) -> Iterator[Leftovers]:
    before = Leftovers.take(server)
    yield before
    assert not escaped_paths(server, M), escaped_paths(server, M)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_name_is_sanitized(
    server: LiveServer, clean: Leftovers, case: Case, transport: str
) -> None:
    raw_ok = transport == "put" or not any(ch in case.name for ch in '\r\n"')
    r = _upload(server, transport, case.name, case.data)
    if case.refuse is not None:
        expect_error(r, *case.refuse)
        clean.assert_clean()
        return
    if transport == "multipart" and any(ch in case.name for ch in "\r\n"):
        # A raw CR or LF inside a multipart header line ends that header early: the part is
        # left with no file name.
        expect_error(r, 400, "no_file")
        clean.assert_clean()
        assert_alive(server)
        return
    assert r.status == 201, r.body[:500]
    file = _stored(r, transport)
    name = file["name"]
    assert_safe_name(name)
    if raw_ok:  # otherwise the client's own broken header decided what the name is
        if case.exact is not None:
            assert name == case.exact
        assert name.lower().endswith(case.ext.lower()), name
        assert case.contains in name, name
    # The listing and the File itself say the same.
    got = requests.get(
        server.url + file["links"]["self"], headers=server.auth("alice"), timeout=10
    )
    assert got.status_code == 200 and got.json()["name"] == name
    assert_safe_download(server, file)
    _delete(server, file["id"])
    clean.assert_clean()


def test_put_traversal_unencoded_in_path(server: LiveServer, clean: Leftovers) -> None:
    """``PUT /api/v1/files/../../x.txt`` sent literally: a sanitized File or a plain 404, never
    a write outside storage."""
    r = raw_request(
        server.url, "PUT", f"/api/v1/files/../../{M}-raw.txt",
        {**server.auth("alice"), "Content-Length": str(len(TXT))}, TXT,
    )  # fmt: skip
    if r.status == 201:
        file = r.json()
        assert_safe_name(file["name"])
        assert f"{M}-raw" in file["name"]
        _delete(server, file["id"])
    else:
        expect_error(r, 404, "not_found")
    clean.assert_clean()


def test_multipart_filename_star_with_controls(server: LiveServer, clean: Leftovers) -> None:
    """An RFC 5987 ``filename*`` carrying traversal, CR/LF and NUL decodes to a safe name."""
    head = (
        b'Content-Disposition: form-data; name="file"; '
        b"filename*=UTF-8''..%2F..%2F" + M.encode() + b"%0D%0AX-Injected%3A%201%00.txt"
    )
    body = multipart([Part(headers=head + b"\r\nContent-Type: text/plain", data=TXT)])
    r = raw_request(
        server.url, "POST", "/api/v1/files",
        {**server.auth("alice"), "Content-Type": multipart_type(),
         "Content-Length": str(len(body))}, body,
    )  # fmt: skip
    assert r.status == 201, r.body  # decoded, then sanitised like any other name
    file = _stored(r, "multipart")
    assert_safe_name(file["name"])
    assert file["name"].endswith(".txt")
    assert_safe_download(server, file)
    _delete(server, file["id"])
    clean.assert_clean()


def test_multipart_non_utf8_filename(server: LiveServer, clean: Leftovers) -> None:
    """A Latin-1 byte in the part header: refused as a bad part header, in words (no codec's
    own message)."""
    body = multipart([file_part("caf\xe9-\x85.txt".encode("latin-1"), TXT, "text/plain")])
    r = raw_request(
        server.url, "POST", "/api/v1/files",
        {**server.auth("alice"), "Content-Type": multipart_type(),
         "Content-Length": str(len(body))}, body,
    )  # fmt: skip
    expect_error(r, 400, "malformed_multipart")
    assert b"codec" not in r.body and b"0xe9" not in r.body, r.body
    clean.assert_clean()
    assert_alive(server)


@pytest.mark.parametrize(
    "new_name",
    [f"../../{M}-renamed.txt", f"{M}\r\nSet-Cookie: a=1.txt", f"/etc/{M}.txt", ".bashrc",
     "CON.txt", f"{M}\u202etxt.png.txt", "ж" * 300 + ".txt"],
    ids=["traversal", "crlf", "absolute", "dotfile", "device", "rtl", "long"],
)  # fmt: skip
def test_rename_to_hostile_name_is_sanitized(
    server: LiveServer, clean: Leftovers, new_name: str
) -> None:
    r = requests.put(
        server.url + "/api/v1/files/rename-me.txt", data=TXT, headers=server.auth("alice"),
        timeout=10,
    )  # fmt: skip
    assert r.status_code == 201
    file = r.json()
    p = requests.patch(
        server.url + file["links"]["self"], json={"name": new_name},
        headers=server.auth("alice"), timeout=10,
    )  # fmt: skip
    assert p.status_code == 200, p.text
    renamed = p.json()
    assert_safe_name(renamed["name"])
    assert renamed["name"].endswith(".txt")
    assert_safe_download(server, renamed)
    _delete(server, file["id"])
    clean.assert_clean()


def test_rename_to_disallowed_extension_refused(server: LiveServer, clean: Leftovers) -> None:
    """A rename cannot turn a text File into ``.html`` behind the checks' back."""
    r = requests.put(
        server.url + "/api/v1/files/plain.txt", data=TXT, headers=server.auth("alice"), timeout=10
    )
    file = r.json()
    for bad in ("evil.html", "evil\u202elmth.txt.html", "../x.svg"):
        p = requests.patch(
            server.url + file["links"]["self"], json={"name": bad},
            headers=server.auth("alice"), timeout=10,
        )  # fmt: skip
        expect_error(p, 415, "type_not_allowed")
    got = requests.get(server.url + file["links"]["self"], headers=server.auth("alice"), timeout=10)
    assert got.json()["name"] == "plain.txt"
    _delete(server, file["id"])
    clean.assert_clean()


def test_public_link_of_hostile_name_works(server: LiveServer, clean: Leftovers) -> None:
    """A public File with a once-hostile name: its ``/f/`` link serves its own bytes safely."""
    name = f"../../{M} ?#%&\u202e.txt"
    r = raw_request(
        server.url, "PUT", "/api/v1/files/" + quote(name, safe="") + "?visibility=public",
        {**server.auth("alice"), "Content-Length": str(len(TXT))}, TXT,
    )  # fmt: skip
    assert r.status == 201, r.body
    file = r.json()
    assert_safe_name(file["name"])
    public = file["links"]["public"]
    got = raw_request(server.url, "GET", public, {})
    assert got.status == 200, got.body
    assert got.body == TXT
    assert _DISPOSITION.fullmatch(got.headers["Content-Disposition"])
    _delete(server, file["id"])
    clean.assert_clean()
