"""Bounded inflation: how far zlib data expands, found by inflating it a piece at a time with a
cap, so a bomb is recognised after reading at most the cap, never by holding all of it."""

from __future__ import annotations

import zlib
from collections.abc import Iterable

PIECE = 64 * 1024


class Inflation:
    """One zlib stream fed in pieces; ``size`` counts what it inflated to so far, and ``over``
    tells as soon as that passes ``cap`` (feeding then stops doing work)."""

    def __init__(self, cap: int, wbits: int = zlib.MAX_WBITS) -> None:
        self.cap = cap
        self.size = 0
        self.done = False  # the stream ended
        self.broken = False  # not zlib data, or corrupt
        self._z = zlib.decompressobj(wbits)

    @property
    def over(self) -> bool:
        return self.size > self.cap

    def feed(self, data: bytes, keep: bool = False) -> bytes:
        """Inflate ``data``; what it gave (only with ``keep``, and at most a cap's worth)."""
        kept = bytearray()
        if self.done or self.broken or self.over:
            return b""
        try:
            pending = data
            while pending and not self.over:
                out = self._z.decompress(pending, PIECE)
                self.size += len(out)
                if keep:
                    kept += out
                pending = self._z.unconsumed_tail
            if self._z.eof:
                self.done = True
        except zlib.error:
            self.broken = True
        return bytes(kept)


def inflated_size(pieces: Iterable[bytes], cap: int) -> int:
    """What the zlib data in ``pieces`` inflates to, counted up to just past ``cap``."""
    inflation = Inflation(cap)
    for piece in pieces:
        inflation.feed(piece)
        if inflation.over or inflation.done or inflation.broken:
            break
    return inflation.size
