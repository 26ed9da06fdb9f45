"""PDF content safety, read in one bounded pass plus one per stream: active content (what a
reader runs or opens by itself: JavaScript, actions on open or on events, launched programs,
embedded files) is refused, and so are streams that inflate to hundreds of MiB (decompression
bombs). Names are compared after undoing ``#xx`` escapes (``/J#61vaScript`` is
``/JavaScript``), and compressed object streams are searched too, since that is where a
dictionary hides from a scan of the raw bytes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from airlock.core.inflate import PIECE, Inflation
from airlock.errors import UnsafeContent

ACTIVE_NAMES = frozenset(
    {"JavaScript", "JS", "OpenAction", "AA", "Launch", "EmbeddedFile", "EmbeddedFiles"}
)
_NAME = re.compile(rb"/([A-Za-z0-9#_.+*-]{1,127})")
_STREAM = re.compile(rb"stream(\r\n|\n|\r)")
_WINDOW = 1024 * 1024
_OVERLAP = 256  # a name or keyword cut by a window boundary is seen whole in the next


@dataclass(frozen=True)
class PdfLimits:
    """How far a PDF's streams may inflate: one, and all together."""

    max_stream: int = 256 * 2**20
    max_total: int = 2 * 2**30
    max_streams: int = 100_000


def check_pdf(
    stream: BinaryIO, limits: PdfLimits | None = None, allow_active: bool = False
) -> frozenset[str]:
    """Raise ``UnsafeContent`` for a decompression bomb in a PDF, and for active content unless
    ``allow_active``; then the active names found (for a PDF to be served as an attachment
    only). Without ``allow_active`` the first active name found refuses at once."""
    limits = limits or PdfLimits()
    found: set[str] = set()
    starts: list[int] = []
    for at, window in _windows(stream):
        _active(window, found, allow_active)
        for match in _STREAM.finditer(window):
            start = at + match.end()
            if (not starts or start > starts[-1]) and len(starts) < limits.max_streams:
                starts.append(start)
    total = 0
    for start in starts:
        stream.seek(start)
        inflation = Inflation(limits.max_stream)
        tail = b""
        for piece in _pieces(stream):
            out = inflation.feed(piece, keep=True)
            if out:
                _active(tail + out, found, allow_active)
                tail = out[-_OVERLAP:]
            if inflation.done or inflation.broken or inflation.over:
                break
        total += inflation.size
        if inflation.over or total > limits.max_total:
            raise UnsafeContent("The PDF holds a stream that expands far past any real one.")
    return frozenset(found)


def _active(data: bytes, found: set[str], allow: bool) -> None:
    """Add the active names in ``data`` to ``found``; refuse at the first unless ``allow``."""
    for match in _NAME.finditer(data):
        name = _decoded(match.group(1))
        if name in ACTIVE_NAMES:
            if not allow:
                raise UnsafeContent(
                    "The PDF holds active content (scripts, actions or embedded files).",
                    name=name,
                )
            found.add(name)


def _decoded(raw: bytes) -> str:
    if b"#" not in raw:
        return raw.decode("latin-1")
    return re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw).decode(
        "latin-1"
    )


def _windows(stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """The file in windows of about 1 MiB that overlap by a little, with their offsets."""
    stream.seek(0)
    at, carry = 0, b""
    while chunk := stream.read(_WINDOW):
        window = carry + chunk
        yield at - len(carry), window
        at += len(chunk)
        carry = window[-_OVERLAP:]


def _pieces(stream: BinaryIO) -> Iterator[bytes]:
    while piece := stream.read(PIECE):
        yield piece
