"""Bytes in flight, as the pipeline sees them: a streamed body staged in one pass (size,
SHA-256 and the first bytes taken on the way), and the facts of what was staged."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from airlock.errors import TooLarge
from airlock.pipeline.writer import Head, Sha256, Writer
from airlock.storage.base import Chunk, Staging


class ScanFeed(Protocol):
    """A malware scan fed the bytes as they arrive (``airlock.scan``)."""

    def update(self, chunk: Chunk, /) -> None: ...

    def finish(self) -> None:
        """Every byte was given."""

    def cancel(self) -> None:
        """The bytes are dropped: no verdict is wanted."""


ScanStarter = Callable[[], ScanFeed | None]


@dataclass(frozen=True)
class Staged:
    """Staged bytes that are all there, and the facts taken while they arrived (``scan``: the
    malware scan they were fed to on the way, if any)."""

    staging: Staging
    sid: str
    size: int
    sha256: str
    head: bytes
    scan: ScanFeed | None = None

    def reader(self) -> BinaryIO:
        """A seekable view of the bytes (for inspection and thumbnails)."""
        return self.staging.reader(self.sid)

    def discard(self) -> None:
        self.staging.discard(self.sid)


class StagedWrite:
    """A streamed body being staged; refuses to grow past ``limit`` bytes. Use as a context
    manager: on error it discards itself."""

    def __init__(
        self, staging: Staging, limit: int, hasher: Executor | None, scan: ScanFeed | None = None
    ) -> None:
        self.staging = staging
        self.limit = limit
        self.sid = staging.create()
        self._sha = Sha256(hasher)
        self._head = Head()
        self._scan = scan
        try:
            sink = staging.writer(self.sid, 0)
        except BaseException:
            staging.discard(self.sid)
            if scan is not None:
                scan.cancel()
            raise
        observers = (self._head, self._sha) if scan is None else (self._head, self._sha, scan)
        self.writer = Writer(sink, limit, self._too_large, observers)

    def _too_large(self) -> TooLarge:
        return TooLarge(f"The file exceeds the limit of {self.limit} bytes.", limit=self.limit)

    def write(self, chunk: Chunk) -> None:
        """Append ``chunk``; ``TooLarge`` as soon as the limit is passed."""
        self.writer.write(chunk)

    def finish(self) -> Staged:
        """Keep the bytes; their facts."""
        self.writer.close()
        if self._scan is not None:
            self._scan.finish()
        return Staged(self.staging, self.sid, self.writer.size, self._sha.hexdigest(),
                      self._head.value, self._scan)  # fmt: skip

    def discard(self) -> None:
        """Undo and delete; safe to call twice."""
        try:
            if self._scan is not None:
                self._scan.cancel()
            self.writer.abort()
        finally:
            self.staging.discard(self.sid)

    def __enter__(self) -> StagedWrite:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None:
            self.discard()


class Stager:
    """Starts staged writes for streamed bodies (multipart parts, PUT) on one staging."""

    def __init__(
        self, staging: Staging, hasher: Executor | None = None, scans: ScanStarter | None = None
    ) -> None:
        self.staging = staging
        self._hasher = hasher
        self._scans = scans

    def begin(self, limit: int) -> StagedWrite:
        """A new, empty staged upload that refuses to grow past ``limit`` bytes (and is fed to
        a malware scan on the way, when scanning is on)."""
        scan = self._scans() if self._scans is not None else None
        return StagedWrite(self.staging, limit, self._hasher, scan)
