"""Staging on the local disk: one file per upload in a directory. Beside local storage it sits
on the same filesystem, so a commit is an fsync and a rename and every byte is written once;
beside any other storage the commit is one streamed ``put``."""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from airlock.core.ids import new_id
from airlock.errors import StorageFull
from airlock.storage.base import Chunk, LocalPaths, Removable, Storage
from airlock.storage.writeback import start_writeback

_SID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
WRITEBACK_WINDOW = 8 * 1024 * 1024  # start writing to disk every 8 MiB
_COPY_CHUNK = 1024 * 1024


def _full(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


class FileSink:
    """Appends to one staging file from ``offset`` (truncating what lay past it). Disk writeback
    starts every few MiB, so the fsync at commit finds little left to do."""

    def __init__(self, path: Path, offset: int) -> None:
        self._offset = offset
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._written = 0
        self._synced = 0
        try:
            # Only when something lies past ``offset``: on ext4 a truncate makes the file's
            # close wait for its blocks to reach the disk (the replace-by-truncate heuristic,
            # auto_da_alloc), a few ms that every fresh upload would pay.
            if os.fstat(self._fd).st_size != offset:
                os.ftruncate(self._fd, offset)
            os.lseek(self._fd, offset, os.SEEK_SET)
        except BaseException:
            self._close()
            raise

    def write(self, chunk: Chunk) -> None:
        view = memoryview(chunk)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            if _full(exc):
                raise StorageFull() from exc
            raise
        self._written += len(chunk)
        if self._written - self._synced >= WRITEBACK_WINDOW:
            start_writeback(self._fd, self._offset + self._synced, self._written - self._synced)
            self._synced = self._written

    def sync(self) -> None:
        os.fdatasync(self._fd)

    def close(self) -> None:
        self._close()

    def release(self) -> None:
        self._close()

    def abort(self) -> None:
        if self._fd >= 0:
            try:
                os.ftruncate(self._fd, self._offset)
            finally:
                self._close()

    def _close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class LocalStaging:
    """A directory of staging files named ``SID.part``, committed into ``storage``."""

    def __init__(self, root: Path, storage: Storage, keys: Callable[[], str] = new_id) -> None:
        """``keys`` makes staging ids and storage keys (``Writers.new_key``: ids that name
        their writer, so gc can tell a crash's leftovers)."""
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._storage = storage
        self._keys = keys
        self._adopt = storage if isinstance(storage, LocalPaths) else None

    def path(self, sid: str) -> Path:
        if not _SID_RE.match(sid):
            raise ValueError("invalid staging id")
        return self.root / f"{sid}.part"

    def create(self) -> str:
        sid = self._keys()
        try:
            fd = os.open(self.path(sid), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            if _full(exc):
                raise StorageFull() from exc
            raise
        os.close(fd)
        return sid

    def writer(self, sid: str, offset: int) -> FileSink:
        return FileSink(self.path(sid), offset)

    def size(self, sid: str) -> int:
        try:
            return self.path(sid).stat().st_size
        except FileNotFoundError:
            return 0

    def reader(self, sid: str) -> BinaryIO:
        return open(self.path(sid), "rb")

    def seal(self, sid: str) -> None:
        """A staging file is whole as it is."""

    def commit(self, sid: str) -> str:
        path = self.path(sid)
        key = self._keys()
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if self._adopt is not None:
                os.fsync(fd)
                self._adopt.adopt(key, path)
                return key
            with os.fdopen(os.dup(fd), "rb") as src:
                self._storage.put(key, src, os.fstat(fd).st_size)
        finally:
            os.close(fd)
        path.unlink(missing_ok=True)
        return key

    def discard(self, sid: str) -> None:
        self.path(sid).unlink(missing_ok=True)

    def concatenate(self, sid: str, parts: list[str]) -> None:
        """Join in the kernel (``copy_file_range``) where it can."""
        fd = os.open(self.path(sid), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            for part in parts:
                with open(self.path(part), "rb") as src:
                    _copy_into(src, fd)
        except OSError as exc:
            if _full(exc):
                raise StorageFull() from exc
            raise
        finally:
            os.close(fd)

    def sweep(self, removable: Removable) -> int:
        """Remove the staging files ``removable`` lets go (left by crashed requests)."""
        removed = 0
        for entry in os.scandir(self.root):
            try:
                sid = entry.name.removesuffix(".part")
                if entry.is_file() and removable(sid, entry.stat().st_mtime):
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


def _copy_into(src: BinaryIO, fd: int) -> None:
    remaining = os.fstat(src.fileno()).st_size
    while remaining > 0:
        try:
            n = os.copy_file_range(src.fileno(), fd, remaining)
        except OSError as exc:
            if _full(exc):
                raise
            n = 0
        if n == 0:  # no kernel copy here: fall back to reads and writes
            data = src.read(_COPY_CHUNK)
            if not data:
                break
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            n = len(data)
        remaining -= n
