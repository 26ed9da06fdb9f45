"""Decompression bombs inside PNGs and PDFs, and PDFs with active content, found by bounded
inflation (never by holding what they expand to)."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from airlock.core.images import check_png
from airlock.core.pdf import check_pdf
from airlock.errors import UnsafeContent


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, idat: bytes, extra: bytes = b"") -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + extra + _chunk(b"IDAT", idat)
            + _chunk(b"IEND", b""))  # fmt: skip


def _zeros(n: int) -> bytes:
    z = zlib.compressobj(9)
    out = bytearray()
    piece = b"\0" * 2**20
    for _ in range(n // 2**20):
        out += z.compress(piece)
    return bytes(out + z.flush())


def test_real_pngs_pass() -> None:
    for mode in ("RGB", "RGBA", "L", "P"):
        buf = io.BytesIO()
        Image.new(mode, (300, 200)).save(buf, "PNG", interlace=mode == "RGB")
        check_png(io.BytesIO(buf.getvalue()))


def test_idat_inflating_far_past_the_declared_pixels_is_a_bomb() -> None:
    # 10x10 RGB declares 310 bytes of pixel rows; the data inflates to 200 MiB.
    bomb = _png(10, 10, _zeros(200 * 2**20))
    with pytest.raises(UnsafeContent, match="past its declared pixels"):
        check_png(io.BytesIO(bomb))


def test_compressed_metadata_bombs() -> None:
    ztxt = _chunk(b"zTXt", b"Comment\0\0" + _zeros(64 * 2**20))
    with pytest.raises(UnsafeContent, match="metadata"):
        check_png(io.BytesIO(_png(1, 1, zlib.compress(b"\0\0\0\0"), ztxt)))
    iccp = _chunk(b"iCCP", b"icc\0\0" + _zeros(64 * 2**20))
    with pytest.raises(UnsafeContent, match="metadata"):
        check_png(io.BytesIO(_png(1, 1, zlib.compress(b"\0\0\0\0"), iccp)))
    small = _chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"a real comment"))
    check_png(io.BytesIO(_png(1, 1, zlib.compress(b"\0\0\0\0"), small)))


def _pdf(*objects: bytes) -> bytes:
    body = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    for i, obj in enumerate(objects, 1):
        body += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    return body + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"


_CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
_PAGES = b"<< /Type /Pages /Kids [] /Count 0 >>"


def _stream(data: bytes, compressed: bool = True) -> bytes:
    payload = zlib.compress(data) if compressed else data
    flate = b" /Filter /FlateDecode" if compressed else b""
    return b"<< /Length %d%s >>\nstream\n" % (len(payload), flate) + payload + b"\nendstream"


def test_a_plain_pdf_with_compressed_content_passes() -> None:
    check_pdf(io.BytesIO(_pdf(_CATALOG, _PAGES, _stream(b"BT /F1 12 Tf (Hello) Tj ET" * 50))))


@pytest.mark.parametrize("action", [
    b"<< /Type /Catalog /Pages 2 0 R /OpenAction 3 0 R >>",
    b"<< /Type /Catalog /Pages 2 0 R /Names << /JavaScript 3 0 R >> >>",
    b"<< /Type /Catalog /Pages 2 0 R /AA << /O 3 0 R >> >>",
    b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 3 0 R >> >>",
    b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /Launch /F (calc.exe) >> >>",
    b"<< /Type /Catalog /Pages 2 0 R /Open#41ction 3 0 R >>",  # #xx escapes undone
])  # fmt: skip
def test_active_content_is_refused(action: bytes) -> None:
    with pytest.raises(UnsafeContent, match="active content"):
        check_pdf(io.BytesIO(_pdf(action, _PAGES, b"<< /S /JavaScript /JS (app.alert(1)) >>"
                                  if b"JavaScript" in action else b"<< >>")))  # fmt: skip


def test_active_content_hidden_in_a_compressed_object_stream_is_found() -> None:
    hidden = _stream(b"3 0 << /S /JavaScript /JS (app.alert(1)) >>")
    objstm = hidden.replace(b"<< /Length", b"<< /Type /ObjStm /N 1 /First 4 /Length")
    with pytest.raises(UnsafeContent, match="active content"):
        check_pdf(io.BytesIO(_pdf(_CATALOG, _PAGES, objstm)))


def test_a_stream_that_inflates_to_hundreds_of_mib_is_a_bomb() -> None:
    payload = _zeros(300 * 2**20)
    bomb = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(payload) + payload
    with pytest.raises(UnsafeContent, match="expands far past"):
        check_pdf(io.BytesIO(_pdf(_CATALOG, _PAGES, bomb + b"\nendstream")))



def test_allowed_active_content_is_reported_not_refused() -> None:
    action = b"<< /Type /Catalog /Pages 2 0 R /OpenAction 3 0 R >>"
    js = b"<< /S /JavaScript /JS (app.alert(1)) >>"
    found = check_pdf(io.BytesIO(_pdf(action, _PAGES, js)), allow_active=True)
    assert found == {"OpenAction", "JavaScript", "JS"}
    plain = _pdf(_CATALOG, _PAGES, _stream(b"BT (Hello) Tj ET"))
    assert check_pdf(io.BytesIO(plain), allow_active=True) == frozenset()


def test_a_bomb_is_refused_even_when_active_content_is_allowed() -> None:
    payload = _zeros(300 * 2**20)
    bomb = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(payload) + payload
    with pytest.raises(UnsafeContent, match="expands far past"):
        check_pdf(io.BytesIO(_pdf(_CATALOG, _PAGES, bomb + b"\nendstream")), allow_active=True)
