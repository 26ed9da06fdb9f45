"""The storage protocols: where File bytes live (``Storage``) and where bytes in flight wait
(``Staging``), with optional one-method capabilities.

A storage backend is any object with ``put``, ``open``, ``stat`` and ``delete``. What else it
can do is discovered once, at start-up, into ``Capabilities`` (``airlock.storage.capabilities``),
and only that is used: ``Lister`` for gc, ``LocalPaths`` for rename-commit, ``Presigner`` for
direct uploads and redirects, ``Probe`` for readiness, ``Sweeper`` for crash leftovers. Every
backend must pass ``airlock.storage.conformance``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, TypeAlias, runtime_checkable

# A piece of a body on its way through: bytes, or a read-only view of part of them (a
# multipart part's data, cut from the chunk it arrived in without a copy).
Chunk: TypeAlias = bytes | memoryview

# Whether bytes in flight may be removed, asked with the key or staging id they belong to and
# when they last changed (POSIX seconds): gc's judgement (``airlock.gc.Leftovers``).
Removable: TypeAlias = Callable[[str, float], bool]


@dataclass(frozen=True)
class StoredObject:
    """What a backend knows of one object."""

    key: str
    size: int
    modified: float  # POSIX seconds


@runtime_checkable
class Storage(Protocol):
    """Where stored bytes live, by key: the service's storage, or an upload set's own. A
    storage that also lists its objects (``Lister``) has the ones no File refers to removed
    by gc."""

    def put(self, key: str, src: BinaryIO, size: int) -> None:
        """Store exactly ``size`` bytes read from ``src`` under ``key``, atomically: readers see
        the whole object or none. ``ValueError`` when ``src`` holds another number of bytes;
        ``StorageFull`` when out of space; ``Unavailable`` when the backend cannot be reached."""

    def open(self, key: str, start: int = 0, stop: int | None = None) -> BinaryIO:
        """A readable stream of bytes ``start`` to ``stop`` (exclusive, clamped to the size).
        ``FileNotFoundError`` when there is no such object."""

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
        """Move a finished, fsynced local file into storage under ``key`` (a rename on one
        filesystem) and make the rename durable."""

    def path(self, key: str) -> Path:
        """The local file holding ``key``."""


@dataclass(frozen=True)
class PresignedPost:
    """A browser-to-store form upload: POST ``fields`` and then the file to ``url``."""

    url: str
    fields: dict[str, str]
    expires_at: dt.datetime


@runtime_checkable
class Presigner(Protocol):
    def presign_post(self, key: str, size: int, expires_in: int) -> PresignedPost:
        """A form upload whose policy pins ``key``, a body of exactly ``size`` bytes and an
        expiry ``expires_in`` seconds away; the store itself refuses anything else."""

    def presign_get(
        self, key: str, content_type: str, disposition: str, expires_in: int
    ) -> str:
        """A URL that reads ``key`` with the response's ``Content-Type`` and
        ``Content-Disposition`` pinned to the values given."""


@runtime_checkable
class Probe(Protocol):
    def probe(self) -> None:
        """Raise ``OSError`` (or an Airlock error) unless the backend can be written and read
        right now."""

    def describe(self) -> str:
        """Where the bytes go, in words for ``airlock check`` (no secrets)."""


@runtime_checkable
class StagesInPlace(Protocol):
    def staging(self, keys: Callable[[], str] = ...) -> Staging:
        """A staging for one-pass bodies that keeps them in this backend, where the commit
        finds them without a copy; ``keys`` makes its ids (``Writers.new_key``)."""

    def resumable_staging(self, keys: Callable[[], str] = ...) -> Staging:
        """A staging for resumable uploads (appends at any offset, from any instance) that
        keeps them in this backend; ``keys`` makes its ids."""


@runtime_checkable
class Sweeper(Protocol):
    def sweep(self, removable: Removable) -> int:
        """Remove the bytes in flight (staging files, temp files, unfinished multipart uploads)
        that ``removable`` lets go; how many went."""


class Sink(Protocol):
    """Where one pass of bytes is written: ``write`` any number of times, then exactly one of
    ``close`` (keep what was written) or ``abort`` (undo all of it)."""

    def write(self, chunk: Chunk) -> None:
        """Append ``chunk``; ``StorageFull`` when out of space."""

    def sync(self) -> None:
        """Make the bytes written so far durable, where this sink can before ``close`` (a
        one-pass sink into an object store keeps them until then)."""

    def close(self) -> None:
        """Keep the bytes written; the sink is finished."""

    def abort(self) -> None:
        """Undo every byte this sink wrote; safe after ``close`` or twice."""

    def release(self) -> None:
        """Stop at once, writing nothing more and undoing nothing: another writer owns the
        bytes now (a resumable upload taken over after this writer's lease lapsed)."""


@runtime_checkable
class Staging(Protocol):
    """Bytes in flight, before they are inspected and become a File's."""

    def create(self) -> str:
        """A new, empty staged upload; its id."""

    def writer(self, sid: str, offset: int) -> Sink:
        """A sink appending at ``offset``; anything already staged past it is dropped.
        ``ValueError`` when this staging cannot append there (a one-pass store)."""

    def size(self, sid: str) -> int:
        """How many bytes are staged (0 when none or unknown)."""

    def reader(self, sid: str) -> BinaryIO:
        """A seekable, readable view of the staged bytes, for inspection (zip directories and
        image headers are read by ranges). ``FileNotFoundError`` when nothing is staged. Before
        ``seal`` a resumable staging may show only an upload's first bytes (``ValueError``
        past what it can)."""

    def seal(self, sid: str) -> None:
        """Every byte has arrived: make the upload one whole, readable and ready to commit (a
        no-op where it already is; safe to repeat)."""

    def commit(self, sid: str) -> str:
        """Hand the staged bytes to storage durably, without copying where the backends allow
        (a rename, or the object already in place); the storage key they now have."""

    def discard(self, sid: str) -> None:
        """Delete the staged bytes; absent ones are not an error."""

    def concatenate(self, sid: str, parts: list[str]) -> None:
        """Make ``sid`` (new, empty) hold the staged ``parts`` joined in order."""

