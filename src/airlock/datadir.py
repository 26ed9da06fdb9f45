"""The data directory and its private files: created readable by the owner only (the
directory ``0700``; the SQLite database, the secret key and staging files ``0600``), and
``widened`` to tell ``airlock check`` what another local user could read."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

DIR_MODE, FILE_MODE = 0o700, 0o600
# The data dir's own secrets and database (with SQLite's journal files, which it creates with
# the database file's mode).
PRIVATE_FILES = ("secret_key", "airlock.db", "airlock.db-wal", "airlock.db-shm")


def prepare(data_dir: Path, sqlite: bool = False) -> Path:
    """The data dir, resolved; created ``0700`` (with its parents) when missing, and with
    ``sqlite`` its database file created ``0600`` before SQLite opens it."""
    root = data_dir.resolve()
    if not root.is_dir():
        root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        os.chmod(root, DIR_MODE)  # mkdir's mode passes through the umask
    if sqlite:
        create_private(root / "airlock.db")
    return root


def create_private(path: Path) -> None:
    """Create ``path`` empty with mode ``0600`` unless it exists (its mode is then kept)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE))


def widened(root: Path) -> list[str]:
    """What in the data dir others may read or enter: ``"PATH is 0755"`` per finding."""
    found = []
    for path, limit in [(root, DIR_MODE)] + [(root / n, FILE_MODE) for n in PRIVATE_FILES]:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & ~limit & 0o077:
            found.append(f"{path} is {mode:04o} (want {limit:04o})")
    return found
