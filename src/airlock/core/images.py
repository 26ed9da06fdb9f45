"""Image dimensions from the first bytes, to refuse pixel floods before anything decodes them."""

from __future__ import annotations

import struct

from airlock.errors import UnsafeContent

DEFAULT_MAX_PIXELS = 100_000_000  # 100 megapixels: far beyond any camera, far below a flood

_JPEG_SOF = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)


def dimensions(mime: str, head: bytes) -> tuple[int, int] | None:
    """Width and height an image's header declares; None when unknown or not an image."""
    try:
        if mime == "image/png" and head[12:16] == b"IHDR":
            width, height = struct.unpack(">II", head[16:24])
            return int(width), int(height)
        if mime == "image/gif" and head[:3] == b"GIF":
            width, height = struct.unpack("<HH", head[6:10])
            return int(width), int(height)
        if mime == "image/bmp" and head[:2] == b"BM":
            w, h = struct.unpack("<ii", head[18:26])
            return abs(w), abs(h)
        if mime == "image/webp" and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return _webp(head)
        if mime == "image/jpeg":
            return _jpeg(head)
    except struct.error:
        return None
    return None


def _webp(head: bytes) -> tuple[int, int] | None:
    kind = head[12:16]
    if kind == b"VP8X":
        w = int.from_bytes(head[24:27], "little") + 1
        h = int.from_bytes(head[27:30], "little") + 1
        return w, h
    if kind == b"VP8L" and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8 ":
        w, h = struct.unpack("<HH", head[26:30])
        return w & 0x3FFF, h & 0x3FFF
    return None


def _jpeg(head: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(head):
        if head[i] != 0xFF:
            return None
        marker = head[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker in _JPEG_SOF:
            h, w = struct.unpack(">HH", head[i + 5 : i + 9])
            return w, h
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        i += 2 + struct.unpack(">H", head[i + 2 : i + 4])[0]
    return None


def check_pixels(mime: str, head: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
    """Raise ``UnsafeContent`` when an image declares more than ``max_pixels`` pixels."""
    dims = dimensions(mime, head)
    if dims is not None and dims[0] * dims[1] > max_pixels:
        raise UnsafeContent(
            f"The image declares {dims[0]}x{dims[1]} pixels, more than allowed.",
            width=dims[0], height=dims[1], max_pixels=max_pixels,
        )  # fmt: skip
