"""The storage protocol: four required methods, optional one-method capabilities.

A backend is any object with ``put``, ``open``, ``stat`` and ``delete``. What else it can do is
discovered once (``isinstance`` against the runtime-checkable capability protocols) and only
that is used: ``Lister`` for gc, ``LocalPaths`` for rename-commit and sendfile, ``Probe`` for
readiness. Every backend must pass ``airlock.storage.conformance``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable


@dataclass(frozen=True)
class StoredObject:
    """What a backend knows of one object."""

    key: str
    size: int
    modified: float  # POSIX seconds


@runtime_checkable
class Storage(Protocol):
    def put(self, key: str, src: BinaryIO, size: int) -> None:
        """Store exactly ``size`` bytes read from ``src`` under ``key``, atomically: readers see
        the whole object or none. Raises ``StorageFull`` when out of space."""

    def open(self, key: str, start: int = 0, stop: int | None = None) -> BinaryIO:
        """A readable stream of bytes ``start`` to ``stop`` (exclusive). ``FileNotFoundError``
        when there is no such object."""

    def stat(self, key: str) -> StoredObject | None:
        """The object's facts, ``None`` when absent."""

    def delete(self, key: str) -> None:
        """Remove the object; absent objects are not an error."""


@runtime_checkable
class Lister(Protocol):
    def list(self) -> Iterator[StoredObject]:
        """Every stored object (for ``airlock gc``)."""


@runtime_checkable
class LocalPaths(Protocol):
    def adopt(self, key: str, path: Path) -> None:
        """Move a finished local file into storage under ``key`` (rename on one filesystem)."""

    def path(self, key: str) -> Path:
        """The local file holding ``key`` (for zero-copy sendfile)."""


@runtime_checkable
class Probe(Protocol):
    def probe(self) -> None:
        """Raise ``OSError`` unless the backend can be written and read right now."""
