"""Bytes in flight: one pass from the socket to a staging file, taking size, SHA-256 and the
first bytes on the way. Staging lives on the same filesystem as local storage, so a commit is a
rename and every byte is written once."""

from __future__ import annotations

import hashlib
import os
import time
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from airlock.core.ids import new_id
from airlock.pipeline.writeback import start_writeback
from airlock.errors import StorageFull, TooLarge

HEAD_BYTES = 64 * 1024  # what type detection looks at
WRITEBACK_WINDOW = 8 * 1024 * 1024  # start writing to disk every 8 MiB


@dataclass(frozen=True)
class Staged:
    """A finished staging file and the facts taken while writing it."""

    path: Path
    size: int
    sha256: str
    head: bytes


class StagingFile:
    """A staging file being written. Use as a context manager: on error it deletes itself.

    Hashing chunk N runs on a helper thread while chunk N is written (both release the GIL), and
    disk writeback starts every few MiB, so hashing, page-cache writes and the final fsync
    overlap instead of adding up.
    """

    def __init__(self, path: Path, limit: int, hasher: Executor) -> None:
        self.path = path
        self.limit = limit
        self.size = 0
        self._hash = hashlib.sha256()
        self._hasher = hasher
        self._pending: Future[None] | None = None
        self._synced = 0
        self._head = bytearray()
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)

    def write(self, chunk: bytes | memoryview) -> None:
        """Append ``chunk``; raises ``TooLarge`` as soon as the limit is passed."""
        n = len(chunk)
        if self.size + n > self.limit:
            raise TooLarge(
                f"The file exceeds the limit of {self.limit} bytes.", limit=self.limit
            )
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]
        self._wait_hash()
        self._pending = self._hasher.submit(self._hash.update, bytes(chunk))
        view = memoryview(chunk)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as exc:
            if exc.errno == 28:  # ENOSPC
                raise StorageFull() from exc
            raise
        self.size += n
        if self.size - self._synced >= WRITEBACK_WINDOW:
            start_writeback(self._fd, self._synced, self.size - self._synced)
            self._synced = self.size

    def _wait_hash(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def finish(self, durable: bool = True) -> Staged:
        """Close the file (fsynced when ``durable``) and return its facts."""
        try:
            self._wait_hash()
            if durable:
                os.fsync(self._fd)
        finally:
            self._close()
        return Staged(self.path, self.size, self._hash.hexdigest(), bytes(self._head))

    def discard(self) -> None:
        """Close and delete; safe to call twice."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        self._close()
        self.path.unlink(missing_ok=True)

    def _close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> StagingFile:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None:
            self.discard()


class Staging:
    """A directory of staging files."""

    def __init__(self, root: Path, hash_threads: int = 8) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._hasher = ThreadPoolExecutor(hash_threads, thread_name_prefix="airlock-hash")

    def create(self, limit: int) -> StagingFile:
        """A new, empty staging file that refuses to grow past ``limit`` bytes."""
        return StagingFile(self.root / f"{new_id()}.part", limit, self._hasher)

    def stale(self, max_age: float, now: float | None = None) -> Iterator[Path]:
        """Staging files untouched for ``max_age`` seconds (left by crashed requests)."""
        now = time.time() if now is None else now
        for entry in os.scandir(self.root):
            try:
                if entry.is_file() and now - entry.stat().st_mtime > max_age:
                    yield Path(entry.path)
            except FileNotFoundError:
                continue
