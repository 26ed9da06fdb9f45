"""Appending a request body to a resumable upload's staging file at a known offset."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from typing import Any
from dataclasses import dataclass
from pathlib import Path

from airlock.errors import (
    AirlockError,
    BadRequest,
    ChecksumMismatch,
    Conflict,
    StorageFull,
    TooLarge,
)
from airlock.pipeline.staging import HEAD_BYTES, WRITEBACK_WINDOW, Staged
from airlock.pipeline.writeback import start_writeback

_READ_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Appended:
    """What one append did: bytes kept, and the client's disconnect if it cut the body short."""

    written: int
    interrupted: BadRequest | None = None


def append(
    path: Path,
    offset: int,
    chunks: Iterable[bytes],
    room: int | None,
    checksum: tuple[str, bytes] | None = None,
    after_chunk: Callable[[int], None] | None = None,
    before_write: Callable[[], None] | None = None,
    running: Any = None,
) -> Appended:
    """Write ``chunks`` at ``offset`` (dropping any stray bytes past it first) and make them
    durable. ``room``: how many bytes may still come (``TooLarge`` beyond, and nothing of this
    body is kept). ``checksum``: (algorithm, digest) the whole body must match
    (``ChecksumMismatch``, nothing kept). ``after_chunk(bytes_so_far)`` may raise to stop.
    ``before_write()`` may raise ``Conflict`` when the caller no longer owns the file (its lock
    lapsed while the client stalled and another writer took over): then this writer stops at
    once and touches nothing more, not even to undo. ``running``: a hash object of the bytes
    before ``offset``, fed every byte written (only meaningful if the append succeeds).

    A body cut short by the client keeps what arrived, unless a checksum was asked for (it can
    no longer be verified): the result then carries the interruption.

    The bytes are not fsynced here (the commit of the finished upload is): after a machine crash
    the file may be shorter than the offset the database remembers, and the caller trusts the
    shorter of the two, so the client simply sends the tail again.
    """
    digest = hashlib.new(checksum[0]) if checksum else None
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    written = 0
    synced = 0
    interrupted: BadRequest | None = None
    try:
        os.ftruncate(fd, offset)
        os.lseek(fd, offset, os.SEEK_SET)
        try:
            for chunk in chunks:
                if room is not None and written + len(chunk) > room:
                    raise TooLarge(
                        "The body goes past the upload's length.", length=offset + room
                    )
                if before_write is not None:
                    before_write()
                if digest is not None:
                    digest.update(chunk)
                if running is not None:
                    running.update(chunk)
                _write_all(fd, chunk)
                written += len(chunk)
                if written - synced >= WRITEBACK_WINDOW:
                    start_writeback(fd, offset + synced, written - synced)
                    synced = written
                if after_chunk is not None:
                    after_chunk(written)
        except BadRequest as exc:
            interrupted = exc
        if checksum is not None and digest is not None:
            if interrupted is not None or digest.digest() != checksum[1]:
                os.ftruncate(fd, offset)
                if interrupted is None:
                    raise ChecksumMismatch(algorithm=checksum[0])
                return Appended(0, interrupted)
        return Appended(written, interrupted)
    except Conflict:
        raise  # someone else owns the file now: leave it alone
    except AirlockError:
        os.ftruncate(fd, offset)
        raise
    finally:
        os.close(fd)


def _write_all(fd: int, chunk: bytes) -> None:
    view = memoryview(chunk)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except OSError as exc:
        if exc.errno == 28:  # ENOSPC
            raise StorageFull() from exc
        raise


def read_head(path: Path) -> bytes:
    """The first bytes of a staging file, as type detection wants them."""
    with open(path, "rb") as fh:
        return fh.read(HEAD_BYTES)


def staged_from_file(path: Path) -> Staged:
    """Facts of a finished resumable upload, taken in one read of its file."""
    sha = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
        sha.update(head)
        size += len(head)
        while chunk := fh.read(_READ_CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return Staged(path, size, sha.hexdigest(), head)


def concatenate(target: Path, sources: list[Path]) -> None:
    """Join ``sources`` into ``target`` (created), in the kernel where it can."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        for source in sources:
            with open(source, "rb") as src:
                remaining = os.fstat(src.fileno()).st_size
                while remaining > 0:
                    try:
                        n = os.copy_file_range(src.fileno(), fd, remaining)
                    except OSError:
                        n = 0
                    if n == 0:  # no kernel copy here: fall back to reads and writes
                        data = src.read(_READ_CHUNK)
                        if not data:
                            break
                        _write_all(fd, data)
                        n = len(data)
                    remaining -= n
        os.fdatasync(fd)
    finally:
        os.close(fd)
