"""What lets an interrupted ``airlock upload`` pick up where it stopped: file fingerprints and
the small JSON file that maps each to its upload URL, as tus clients keep it.

The file (``$AIRLOCK_UPLOAD_STATE``, else ``$XDG_CACHE_HOME/airlock/uploads.json``, else
``~/.cache/airlock/uploads.json``) is rewritten whole and atomically under an exclusive lock, so
a killed run never leaves half a file and two runs at once do not lose each other's entries.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one run at a time, in-process lock only
    fcntl = None  # type: ignore[assignment, unused-ignore]

HEAD_BYTES = 64 * 1024
MAX_AGE = 14 * 24 * 3600  # entries older than this are dropped: servers expire uploads sooner


def default_state_path(environ: Mapping[str, str]) -> Path:
    """Where the resume file lives, from the environment."""
    if override := environ.get("AIRLOCK_UPLOAD_STATE"):
        return Path(override)
    cache = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "airlock" / "uploads.json"


def fingerprint(
    server: str, path: str, size: int, mtime_ns: int, head: bytes, visibility: str
) -> str:
    """A stable key for "this content of this file, bound for this server": any change to the
    file's size, mtime or first 64 KiB, or a different server, gives another key. Visibility is
    part of it because it is fixed when an upload is created."""
    digest = hashlib.sha256()
    for part in (server.rstrip("/"), path, str(size), str(mtime_ns), visibility):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    digest.update(hashlib.sha256(head[:HEAD_BYTES]).digest())
    return digest.hexdigest()


def fingerprint_file(server: str, path: str, visibility: str) -> tuple[str, os.stat_result]:
    """The fingerprint of the file at ``path`` as it is now, and the ``stat`` it was made of."""
    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())
        head = fh.read(HEAD_BYTES)
    key = fingerprint(server, os.path.abspath(path), st.st_size, st.st_mtime_ns, head, visibility)
    return key, st


class ResumeStore:
    """``{fingerprint: upload URL}`` on disk. Every call re-reads the file, so concurrent runs
    see each other's changes; a missing or unreadable file reads as empty."""

    def __init__(
        self, path: Path, warn: Callable[[str], None] = lambda text: None, clock: Any = time.time
    ) -> None:
        self.path = path
        self._warn = warn
        self._warned = False
        self._clock = clock
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        """The upload URL remembered for ``key``."""
        entry = None
        with self._guard(), self._locked():
            entry = self._read().get(key)
        if isinstance(entry, dict) and isinstance(entry.get("url"), str):
            return str(entry["url"])
        return entry if isinstance(entry, str) else None

    def put(self, key: str, url: str) -> None:
        """Remember ``url`` for ``key`` (and forget entries too old to be of use). A file that
        cannot be written costs only the resuming: a warning, once, and the upload goes on."""
        with self._guard(), self._locked():
            data = self._read()
            now = self._clock()
            data = {k: v for k, v in data.items()
                    if not isinstance(v, dict) or now - v.get("saved", now) < MAX_AGE}  # fmt: skip
            data[key] = {"url": url, "saved": int(now)}
            self._write(data)

    def drop(self, key: str) -> None:
        """Forget ``key`` (its File is done or its upload is gone)."""
        with self._guard(), self._locked():
            data = self._read()
            if data.pop(key, None) is not None:
                self._write(data)

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            if not self._warned:
                self._warned = True
                self._warn(f"cannot keep resume state in {self.path}: {exc.strerror or exc}")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            if fcntl is None:  # type: ignore[comparison-overlap, unused-ignore]
                yield  # type: ignore[unreachable, unused-ignore]
                return
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(str(self.path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the lock

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
