"""Bytes in flight: one pass from the socket to a staging file, taking size, SHA-256 and the
first bytes on the way. Staging lives on the same filesystem as local storage, so a commit is a
rename and every byte is written once."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from airlock.core.ids import new_id
from airlock.errors import StorageFull, TooLarge

HEAD_BYTES = 64 * 1024  # what type detection looks at


@dataclass(frozen=True)
class Staged:
    """A finished staging file and the facts taken while writing it."""

    path: Path
    size: int
    sha256: str
    head: bytes


class StagingFile:
    """A staging file being written. Use as a context manager: on error it deletes itself."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path = path
        self.limit = limit
        self.size = 0
        self._hash = hashlib.sha256()
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
        self._hash.update(chunk)
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

    def finish(self, durable: bool = True) -> Staged:
        """Close the file (fsynced when ``durable``) and return its facts."""
        try:
            if durable:
                os.fsync(self._fd)
        finally:
            self._close()
        return Staged(self.path, self.size, self._hash.hexdigest(), bytes(self._head))

    def discard(self) -> None:
        """Close and delete; safe to call twice."""
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

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def create(self, limit: int) -> StagingFile:
        """A new, empty staging file that refuses to grow past ``limit`` bytes."""
        return StagingFile(self.root / f"{new_id()}.part", limit)

    def stale(self, max_age: float, now: float | None = None) -> Iterator[Path]:
        """Staging files untouched for ``max_age`` seconds (left by crashed requests)."""
        now = time.time() if now is None else now
        for entry in os.scandir(self.root):
            try:
                if entry.is_file() and now - entry.stat().st_mtime > max_age:
                    yield Path(entry.path)
            except FileNotFoundError:
                continue
