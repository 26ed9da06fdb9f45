"""Which byte span a ``Range`` header asks for (RFC 9110 §14)."""

from __future__ import annotations

from dataclasses import dataclass


class Unsatisfiable(Exception):
    """The range lies wholly outside the representation: answer 416."""


@dataclass(frozen=True)
class Span:
    """Bytes ``start`` to ``stop`` (exclusive) of a representation of ``size`` bytes."""

    start: int
    stop: int
    size: int

    @property
    def length(self) -> int:
        return self.stop - self.start

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.stop - 1}/{self.size}"


MAX_HEADER_LENGTH = 1024


def parse_range(header: str | None, size: int) -> Span | None:
    """The span a ``Range`` header selects, ``None`` to send the whole representation.

    Only a single ``bytes`` range is honoured. Several ranges, unknown units and malformed
    headers are ignored (a full 200, which RFC 9110 allows), so a request can never make the
    server send more bytes than the file has. Raises ``Unsatisfiable`` for a valid single range
    that starts past the end (or a zero-length suffix).
    """
    if not header or len(header) > MAX_HEADER_LENGTH:
        return None
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.isdigit() or first == "") or not (last.isdigit() or last == ""):
        return None
    if not first.isascii() or not last.isascii():
        return None
    if first == "":
        if last == "":
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable()
        return Span(max(0, size - suffix), size, size)
    start = int(first)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        raise Unsatisfiable()
    stop = size if last == "" else min(int(last) + 1, size)
    return Span(start, stop, size)
