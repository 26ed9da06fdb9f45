"""An upload set's own limits, on top of the global ones: fewer types, a smaller size."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from airlock.core.names import extension
from airlock.errors import TooLarge, TypeNotAllowed


@dataclass(frozen=True)
class SetRules:
    """What one upload set accepts. ``types`` are extensions (``None``: whatever the global
    allowlist takes); ``max_size`` is in bytes (``None``: the global limit)."""

    name: str
    types: frozenset[str] | None = None
    max_size: int | None = None

    @classmethod
    def of(cls, name: str, types: Iterable[str] | None, max_size: int | None) -> SetRules:
        """Rules from loose values: extensions with or without their dot, in any case;
        ``ValueError`` for a size that is not a positive number of bytes."""
        if max_size is not None and (isinstance(max_size, bool) or max_size < 1):
            raise ValueError(f"max_size must be a positive number of bytes: {max_size!r}")
        exts = None if types is None else frozenset(t.lower().lstrip(".") for t in types)
        return cls(name, exts, max_size)

    def check_size(self, size: int) -> None:
        """``TooLarge`` for more bytes than this set takes."""
        if self.max_size is not None and size > self.max_size:
            raise TooLarge(f"Files in {self.name} are at most {self.max_size} bytes.",
                           limit=self.max_size)  # fmt: skip

    def check_name(self, name: str) -> None:
        """``TypeNotAllowed`` for a (sanitised) name whose extension this set does not take.
        The pipeline's own checks hold the extension to the bytes."""
        ext = extension(name)
        if self.types is not None and ext not in self.types:
            raise TypeNotAllowed(f"Files ending in .{ext} are not allowed in {self.name}."
                                 if ext else f"Files without an extension are not allowed in "
                                 f"{self.name}.", extension=ext)  # fmt: skip
