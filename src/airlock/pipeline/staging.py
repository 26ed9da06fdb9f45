"""Bytes in flight, as the pipeline sees them: a streamed body staged in one pass (size,
SHA-256 and the first bytes taken on the way), and the facts of what was staged."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import BinaryIO

from airlock.errors import TooLarge
from airlock.pipeline.writer import Head, Sha256, Writer
from airlock.storage.base import Staging


@dataclass(frozen=True)
class Staged:
    """Staged bytes that are all there, and the facts taken while they arrived."""

    staging: Staging
    sid: str
    size: int
    sha256: str
    head: bytes

    def reader(self) -> BinaryIO:
        """A seekable view of the bytes (for inspection and thumbnails)."""
        return self.staging.reader(self.sid)

    def discard(self) -> None:
        self.staging.discard(self.sid)


class StagedWrite:
    """A streamed body being staged; refuses to grow past ``limit`` bytes. Use as a context
    manager: on error it discards itself."""

    def __init__(self, staging: Staging, limit: int, hasher: Executor | None) -> None:
        self.staging = staging
        self.limit = limit
        self.sid = staging.create()
        self._sha = Sha256(hasher)
        self._head = Head()
        try:
            sink = staging.writer(self.sid, 0)
        except BaseException:
            staging.discard(self.sid)
            raise
        self.writer = Writer(sink, limit, self._too_large, (self._head, self._sha))

    def _too_large(self) -> TooLarge:
        return TooLarge(f"The file exceeds the limit of {self.limit} bytes.", limit=self.limit)

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``; ``TooLarge`` as soon as the limit is passed."""
        self.writer.write(chunk)

    def finish(self) -> Staged:
        """Keep the bytes; their facts."""
        self.writer.close()
        return Staged(
            self.staging, self.sid, self.writer.size, self._sha.hexdigest(), self._head.value
        )

    def discard(self) -> None:
        """Undo and delete; safe to call twice."""
        try:
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

    def __init__(self, staging: Staging, hasher: Executor | None = None) -> None:
        self.staging = staging
        self._hasher = hasher

    def begin(self, limit: int) -> StagedWrite:
        """A new, empty staged upload that refuses to grow past ``limit`` bytes."""
        return StagedWrite(self.staging, limit, self._hasher)
