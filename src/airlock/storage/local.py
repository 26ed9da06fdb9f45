"""Files on a local filesystem, below one root; keys never reach outside it."""

from __future__ import annotations

import errno
import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from airlock.errors import StorageFull
from airlock.storage.base import Removable, StoredObject

_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_COPY_CHUNK = 1024 * 1024


class RangeReader:
    """A file object limited to ``[start, stop)``; exposes ``fileno``/``tell`` so a WSGI server
    can hand it to sendfile with the right offset."""

    def __init__(self, fh: BinaryIO, start: int, stop: int) -> None:
        self._fh = fh
        fh.seek(start)
        self._left = stop - start

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        n = self._left if n is None or n < 0 else min(n, self._left)
        data = self._fh.read(n)
        self._left -= len(data)
        return data

    def fileno(self) -> int:
        return self._fh.fileno()

    def tell(self) -> int:
        return self._fh.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> RangeReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStorage:
    """Objects as files under ``root/ab/cd/KEY``; writes go through a temp file, fsync and
    rename, so a crash leaves either the whole object or a temp file for ``airlock gc``."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        if not _KEY_RE.match(key):
            raise ValueError("invalid storage key")
        return self.root / key[:2] / key[2:4] / key

    def _make_dirs(self, directory: Path) -> None:
        """Create ``root/ab/cd`` where missing, durably: a new directory's entry is fsynced in
        its parent, or a crash could lose the directory and every File renamed into it."""
        for level in (directory.parent, directory):
            try:
                level.mkdir()
            except FileExistsError:
                continue
            _fsync_dir(level.parent)

    def put(self, key: str, src: BinaryIO, size: int) -> None:
        target = self.path(key)
        self._make_dirs(target.parent)
        tmp = target.with_name(f".{key}.tmp")
        try:
            with open(tmp, "xb") as out:
                copied = 0
                while chunk := src.read(_COPY_CHUNK):
                    out.write(chunk)
                    copied += len(chunk)
                if copied != size:
                    raise ValueError(f"expected {size} bytes, got {copied}")
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
            _fsync_dir(target.parent)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull() from exc
            raise
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def adopt(self, key: str, path: Path) -> None:
        """Rename ``path`` (fsynced by its writer) into place and persist the rename."""
        target = self.path(key)
        try:
            try:
                os.rename(path, target)
            except FileNotFoundError:  # the first File of its shard: make the directories
                self._make_dirs(target.parent)
                os.rename(path, target)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull() from exc
            if exc.errno != errno.EXDEV:
                raise
            with open(path, "rb") as src:
                self.put(key, src, os.fstat(src.fileno()).st_size)
            os.unlink(path)
            return
        _fsync_dir(target.parent)

    def open(self, key: str, start: int = 0, stop: int | None = None) -> BinaryIO:
        fh = open(self.path(key), "rb")  # noqa: SIM115 - the caller closes the stream
        if start == 0 and stop is None:
            return fh
        size = os.fstat(fh.fileno()).st_size
        return RangeReader(fh, start, size if stop is None else min(stop, size))  # type: ignore[return-value]

    def stat(self, key: str) -> StoredObject | None:
        try:
            st = self.path(key).stat()
        except FileNotFoundError:
            return None
        return StoredObject(key, st.st_size, st.st_mtime)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def list(self) -> Iterator[StoredObject]:
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if not _KEY_RE.match(name):
                    continue
                try:
                    st = os.stat(os.path.join(dirpath, name))
                except FileNotFoundError:
                    continue
                yield StoredObject(name, st.st_size, st.st_mtime)

    def sweep(self, removable: Removable) -> int:
        """Remove the temp files of ``put`` calls that died before their rename (as far as
        ``removable`` lets go)."""
        removed = 0
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if not (name.startswith(".") and name.endswith(".tmp")):
                    continue
                full = os.path.join(dirpath, name)
                try:
                    if removable(name[1:-4], os.stat(full).st_mtime):
                        os.unlink(full)
                        removed += 1
                except FileNotFoundError:
                    continue
        return removed

    def probe(self) -> None:
        """A write, read and delete of a probe file; ``StorageFull`` when the filesystem has
        less than 1 MiB free or the write finds no room (the probe file is removed either
        way), ``OSError`` for anything else that fails."""
        if shutil.disk_usage(self.root).free < 1024 * 1024:
            raise StorageFull()
        probe = self.root / f".probe-{os.getpid()}-{threading.get_ident()}"
        try:
            probe.write_bytes(b"ok")
            if probe.read_bytes() != b"ok":
                raise OSError("storage probe read back different bytes")
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull() from exc
            raise
        finally:
            probe.unlink(missing_ok=True)

    def describe(self) -> str:
        return f"local files under {self.root}"
