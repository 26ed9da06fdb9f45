"""Image dimensions from the first bytes, to refuse pixel floods before anything decodes them."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from typing import BinaryIO

from airlock.core.inflate import PIECE, Inflation, inflated_size
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


# PNG: compressed metadata (zTXt, iCCP, compressed iTXt) may inflate this far: real ICC
# profiles and texts are kilobytes to a few MiB.
MAX_PNG_METADATA = 16 * 2**20
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def check_png(stream: BinaryIO, max_metadata: int = MAX_PNG_METADATA) -> None:
    """Raise ``UnsafeContent`` when a PNG's compressed data inflates far past what it declares:
    the image data (IDAT) past the size its header's pixels need, or a metadata chunk past
    ``max_metadata``. Reads the file once, in pieces, inflating with a cap."""
    if stream.read(8) != _PNG_SIGNATURE:
        return
    image: Inflation | None = None
    while True:
        header = stream.read(8)
        if len(header) < 8:
            return
        length, kind = struct.unpack(">I4s", header)
        if kind == b"IHDR" and length >= 13:
            data = stream.read(length)
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", data[:13])
            row = (width * _CHANNELS.get(color, 4) * depth + 7) // 8
            raw = height * (row + 1)
            # Interlaced images store seven passes, each row with its filter byte: a little more.
            need = raw + (7 * height + 8 * 1024 if interlace else 1024)
            image = Inflation(need)
        elif kind == b"IDAT" and image is not None:
            for piece in _pieces(stream, length):
                image.feed(piece)
            if image.over:
                raise UnsafeContent(
                    "The image's compressed data expands far past its declared pixels.",
                    chunk="IDAT",
                )  # fmt: skip
        elif kind in (b"zTXt", b"iCCP", b"iTXt") and length:
            if length > max_metadata:  # compressed, and already past what it may expand to
                raise UnsafeContent("The image's metadata is far larger than any real one.",
                                    chunk=kind.decode("ascii"))  # fmt: skip
            _check_metadata(kind, stream.read(length), max_metadata)
        elif kind == b"IEND":
            return
        else:
            stream.seek(length, io.SEEK_CUR)
        stream.seek(4, io.SEEK_CUR)  # the CRC


def _check_metadata(kind: bytes, data: bytes, cap: int) -> None:
    keyword_end = data.find(b"\0")
    if keyword_end < 0:
        return
    if kind == b"iTXt":  # keyword, NUL, compression flag, method, language NUL, key NUL, text
        if len(data) < keyword_end + 3 or data[keyword_end + 1] != 1:
            return
        rest = data[keyword_end + 3 :]
        for _ in range(2):
            cut = rest.find(b"\0")
            if cut < 0:
                return
            rest = rest[cut + 1 :]
        compressed = rest
    else:  # keyword, NUL, method, compressed data
        compressed = data[keyword_end + 2 :]
    if inflated_size(_split(compressed), cap) > cap:
        raise UnsafeContent(
            "The image's compressed metadata expands far past any real one.",
            chunk=kind.decode("ascii"),
        )  # fmt: skip


def _pieces(stream: BinaryIO, length: int) -> Iterator[bytes]:
    left = length
    while left > 0:
        piece = stream.read(min(left, PIECE))
        if not piece:
            return
        left -= len(piece)
        yield piece


def _split(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), PIECE):
        yield data[start : start + PIECE]
