"""Hostile-input helpers for end-to-end tests.

* Real sample files built in code (no binaries committed, nothing downloaded): a minimal valid
  PNG, JPEG, GIF, PDF, ZIP, DOCX-like zip, plus executable and active content (HTML, SVG, JS,
  ELF, shell) and a few polyglots and zip bombs.
* Raw ``multipart/form-data`` bodies, including malformed ones requests cannot express.
* A raw HTTP/1.1 exchange over a plain socket (lying ``Content-Length``, chunked bodies, half
  closed connections), tolerant of a server that answers before it has read the whole body.
* ``Leftovers``: a snapshot of what a server holds (Files of each user, staging files, stored
  objects) to prove that a refused request left nothing behind, and a search for escaped names.
"""

from __future__ import annotations

import http.client
import io
import os
import socket
import struct
import threading
import time
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

# Sample files -----------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid 8-bit RGB PNG of one colour."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\x00" + bytes(rgb) * width
    idat = zlib.compress(row * height)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def jpeg() -> bytes:
    """A valid baseline JPEG: one 8x8 grey block (DC 0, end of block), with JFIF header."""
    soi = b"\xff\xd8"
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + b"\x01" * 64
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 8, 8, 1) + b"\x01\x11\x00"
    # One code of length 1 in each table: DC category 0, AC end-of-block.
    counts = b"\x01" + b"\x00" * 15
    dht_dc = b"\xff\xc4" + struct.pack(">H", 20) + b"\x00" + counts + b"\x00"
    dht_ac = b"\xff\xc4" + struct.pack(">H", 20) + b"\x10" + counts + b"\x00"
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00" + b"\x00\x3f\x00"
    scan = b"\x3f"  # bits 0 (DC diff 0) and 0 (EOB), padded with ones
    eoi = b"\xff\xd9"
    return soi + app0 + dqt + sof0 + dht_dc + dht_ac + sos + scan + eoi


def gif() -> bytes:
    """A valid 1x1 GIF89a."""
    return (
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
        b"!\xf9\x04\x01\x00\x00\x00\x00"
        b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    )


def pdf(text: str = "Hello") -> bytes:
    """A valid one-page PDF 1.4 with a correct cross-reference table."""
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    trailer = f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n"
    out += f"{trailer}startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def zip_of(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip archive holding ``members`` (name → bytes), in that order."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data, compression)
    return buf.getvalue()


def plain_zip() -> bytes:
    return zip_of({"readme.txt": b"just a text file\n", "data/numbers.csv": b"a,b\n1,2\n"})


def docx() -> bytes:
    """A minimal OOXML word-processing document (what Word needs to open it)."""
    content_types = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        b'<Default Extension="rels" '
        b'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        b'<Default Extension="xml" ContentType="application/xml"/>'
        b'<Override PartName="/word/document.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
    )
    rels = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
    )
    document = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body><w:p><w:r><w:t>Hello</w:t></w:r></w:p></w:body></w:document>"
    )
    return zip_of(
        {"[Content_Types].xml": content_types, "_rels/.rels": rels, "word/document.xml": document}
    )


def zip_bomb(expanded: int = 8 * 2**20) -> bytes:
    """A zip whose one member inflates ~1000x (``expanded`` bytes of zeros)."""
    return zip_of({"zeros.bin": b"\x00" * expanded})


def zip_slip() -> bytes:
    """A zip with a member whose name walks out of the extraction directory."""
    return zip_of({"ok.txt": b"fine\n", "../../evil.txt": b"escaped\n"})


def text(size: int = 64, fill: bytes = b"plain text line\n") -> bytes:
    return (fill * (size // len(fill) + 1))[:size]


HTML = b"<!DOCTYPE html>\n<html><head><title>x</title></head><body>" \
    b"<script>alert(document.cookie)</script></body></html>\n"
SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script><rect width=\"10\" height=\"10\"/></svg>\n"
)
JS = b"alert(document.cookie);\nfetch('/api/v1/files').then(r => r.text());\n"
SHELL = b"#!/bin/sh\nrm -rf \"$HOME\"\necho pwned\n"


def elf() -> bytes:
    """A 64-bit x86-64 ELF executable header and one program header (enough for libmagic)."""
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\x00" * 8
    header = ident + struct.pack(
        "<HHIQQQIHHHHHH", 2, 0x3E, 1, 0x400078, 64, 0, 0, 64, 56, 1, 0, 0, 0
    )
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, 0x400000, 0x400000, 0x80, 0x80, 0x1000)
    code = b"\x48\x31\xff\xb8\x3c\x00\x00\x00\x0f\x05"  # exit(0)
    return header + phdr + code


def gif_js_polyglot() -> bytes:
    """Bytes that are a GIF header and, read as a script, ``GIF89a=1;alert(1)``."""
    return b"GIF89a=1;alert(document.domain);//" + gif()[6:]


def png_html_polyglot() -> bytes:
    """A valid PNG followed by an HTML document."""
    return png() + HTML


# Multipart bodies -------------------------------------------------------------------------------


@dataclass
class Part:
    """One part of a multipart body. ``filename`` may be str (UTF-8) or raw bytes; ``headers``
    replaces the generated headers entirely when given (raw bytes, without the blank line)."""

    name: str = "file"
    data: bytes = b""
    filename: str | bytes | None = None
    content_type: str | None = "application/octet-stream"
    headers: bytes | None = None

    def head(self) -> bytes:
        if self.headers is not None:
            return self.headers
        disp = b'form-data; name="' + self.name.encode() + b'"'
        if self.filename is not None:
            fname = self.filename if isinstance(self.filename, bytes) else self.filename.encode()
            disp += b'; filename="' + fname + b'"'
        lines = [b"Content-Disposition: " + disp]
        if self.content_type is not None and self.filename is not None:
            lines.append(b"Content-Type: " + self.content_type.encode())
        return b"\r\n".join(lines)


def file_part(filename: str | bytes, data: bytes, content_type: str = "application/octet-stream",
              name: str = "file") -> Part:  # fmt: skip
    return Part(name=name, data=data, filename=filename, content_type=content_type)


def field_part(name: str, value: str) -> Part:
    return Part(name=name, data=value.encode(), filename=None, content_type=None)


BOUNDARY = "airlock-hostile-7f3a9c"


def multipart(parts: Iterable[Part], boundary: str = BOUNDARY, close: bool = True) -> bytes:
    """A multipart/form-data body; ``close=False`` leaves out the closing boundary."""
    b = boundary.encode()
    out = bytearray()
    for part in parts:
        out += b"--" + b + b"\r\n" + part.head() + b"\r\n\r\n" + part.data + b"\r\n"
    if close:
        out += b"--" + b + b"--\r\n"
    return bytes(out)


def multipart_type(boundary: str = BOUNDARY) -> str:
    return f"multipart/form-data; boundary={boundary}"


# Raw HTTP ---------------------------------------------------------------------------------------


@dataclass
class RawResponse:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    sent_all: bool  # whether every byte we meant to send went out before the server hung up

    def json(self) -> Any:
        import json

        return json.loads(self.body)

    @property
    def code(self) -> str | None:
        try:
            return self.json()["error"]["code"]  # type: ignore[no-any-return]
        except (ValueError, KeyError, TypeError):
            return None


def chunked(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``chunks`` in HTTP/1.1 chunked transfer coding, with the terminating chunk."""
    for chunk in chunks:
        if chunk:
            yield f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    yield b"0\r\n\r\n"


def pieces(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def repeat(block: bytes, total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """``total`` bytes of ``block`` repeated, in pieces of ``size`` (no big allocation)."""
    piece = (block * (size // len(block) + 1))[:size]
    left = total
    while left > 0:
        n = min(left, size)
        yield piece[:n]
        left -= n


def raw_request(
    base_url: str,
    method: str,
    target: str | bytes,
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
    body: bytes | Iterable[bytes] = b"",
    *,
    half_close: bool = False,
    timeout: float = 30.0,
) -> RawResponse:
    """Send exactly these bytes: request line with ``target`` as given (no normalisation, no
    encoding), these headers (no Content-Length added), then ``body``. The body is sent from a
    thread while the response is read, so a server that answers early (and then stops reading)
    is observed rather than deadlocking. ``half_close`` shuts down our sending side after the
    body (a client that stops short of its Content-Length)."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    sock = socket.create_connection((host, port), timeout=timeout)
    items = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    if not any(k.lower() == "host" for k, _ in items):
        items.insert(0, ("Host", f"{host}:{port}"))
    if not any(k.lower() == "connection" for k, _ in items):
        items.append(("Connection", "close"))
    line = target if isinstance(target, bytes) else target.encode("latin-1")
    head = method.encode() + b" " + line + b" HTTP/1.1\r\n"
    head += b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in items) + b"\r\n"
    chunks: Iterable[bytes] = [body] if isinstance(body, bytes) else body
    state = {"sent_all": False}

    def send() -> None:
        try:
            sock.sendall(head)
            for chunk in chunks:
                sock.sendall(chunk)
            state["sent_all"] = True
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server answered and hung up before taking everything: fine

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    resp = http.client.HTTPResponse(sock, method=method)
    try:
        resp.begin()
        try:
            data = resp.read()
        except (http.client.IncompleteRead, ConnectionResetError) as exc:
            data = getattr(exc, "partial", b"")
        result = RawResponse(resp.status, resp.headers, data, False)
    finally:
        resp.close()
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()
        sender.join(timeout)
    result.sent_all = state["sent_all"]
    return result


# What a server holds ----------------------------------------------------------------------------


def _all_file_ids(url: str, auth: dict[str, str]) -> set[str]:
    ids: set[str] = set()
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 500}
        if cursor:
            params["cursor"] = cursor
        r = requests.get(url + "/api/v1/files", params=params, headers=auth, timeout=10)
        assert r.status_code == 200, r.text
        body = r.json()
        ids.update(f["id"] for f in body["files"])
        cursor = body.get("next_cursor")
        if not cursor:
            return ids


def _files_under(root: Path) -> set[str]:
    if not root.exists():
        return set()
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


@dataclass
class Leftovers:
    """What a live server holds, to compare before and after a hostile request."""

    server: Any  # tests.support.server.LiveServer
    users: tuple[str, ...] = ("alice", "bob")
    file_ids: dict[str, set[str]] = field(default_factory=dict)
    objects: set[str] = field(default_factory=set)

    @classmethod
    def take(cls, server: Any, users: tuple[str, ...] = ("alice", "bob")) -> Leftovers:
        snap = cls(server, users)
        snap.file_ids = {u: _all_file_ids(server.url, server.auth(u)) for u in users}
        snap.objects = _files_under(server.data_dir / "files")
        if server.bucket_contents is not None:
            snap.objects |= server.bucket_contents()
        return snap

    def staging(self) -> set[str]:
        return _files_under(self.server.data_dir / "staging")

    def assert_clean(self, settle: float = 0.0) -> None:
        """No new File for any user, nothing in staging, no new stored object. ``settle``:
        how long to keep looking for a cleanup still under way (a client that vanished gets
        no answer, so its request may still be unwinding); 0 means it must be clean now."""
        deadline = time.monotonic() + settle
        while True:
            now = Leftovers.take(self.server, self.users)
            staged = self.staging()
            new_objects = now.objects - self.objects
            new_files = {u: now.file_ids[u] - self.file_ids[u] for u in self.users}
            clean = not staged and not new_objects and not any(new_files.values())
            if clean or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        assert not any(new_files.values()), f"new Files left behind: {new_files}"
        assert not staged, f"staging files left behind: {sorted(staged)}"
        assert not new_objects, f"stored objects left behind: {sorted(new_objects)}"
        if self.server.bucket_contents is not None:
            local = _files_under(self.server.data_dir / "files")
            assert not local, f"File bytes on the instance's disk with S3 storage: {local}"


def assert_alive(server: Any) -> None:
    """The server still answers and still takes an ordinary upload (deleted again)."""
    r = requests.get(server.url + "/healthz", timeout=10)
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    put = requests.put(
        server.url + "/api/v1/files/alive-check.txt",
        data=b"still alive\n",
        headers=server.auth("alice"),
        timeout=10,
    )
    assert put.status_code == 201, put.text
    gone = requests.delete(
        server.url + f"/api/v1/files/{put.json()['id']}", headers=server.auth("alice"), timeout=10
    )
    assert gone.status_code == 204


def escaped_paths(server: Any, marker: str) -> list[Path]:
    """Paths whose name contains ``marker`` anywhere a traversal could have put them: the whole
    directory around the data dir, and every ancestor of the data dir, its staging and storage
    directories and of the server's working directory (not recursively)."""
    found: list[Path] = []
    top = server.data_dir.parent
    for p in top.rglob("*"):
        if marker in p.name:
            found.append(p)
    ancestors: set[Path] = set()
    for base in (server.data_dir / "staging", server.data_dir / "files" / "ab" / "cd",
                 Path.cwd() / "x" / "y", Path("/tmp/x")):  # fmt: skip
        ancestors.update(base.resolve().parents)
    for directory in ancestors:
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        found.extend(directory / n for n in names if marker in n)
    return found


def error_code(response: requests.Response | RawResponse) -> str | None:
    """``error.code`` of a JSON error response, None when the body is not one."""
    if isinstance(response, RawResponse):
        return response.code
    try:
        return response.json()["error"]["code"]  # type: ignore[no-any-return]
    except (ValueError, KeyError, TypeError):
        return None


def expect_error(response: requests.Response | RawResponse, status: int, code: str) -> None:
    """The response is API.md's JSON error with this status and code."""
    body = response.body if isinstance(response, RawResponse) else response.content
    assert (response.status_code if isinstance(response, requests.Response) else response.status,
            error_code(response)) == (status, code), body[:500]  # fmt: skip

