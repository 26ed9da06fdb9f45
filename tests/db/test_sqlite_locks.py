"""Airlock never drops SQLite's locks in its own process. POSIX locks belong to a process and a
file: closing any descriptor of the database file releases all of them. Another process could
then take itself for the database's last user, checkpoint and delete the WAL, and this process
would go on committing into the deleted file, its Files seen by no one else (and gone at the
next start). Opening a new pooled connection asks whether the file is writable: that question
must leave the locks alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from airlock.db.engine import Database

COUNT = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
         "print(c.execute('SELECT count(*) FROM t').fetchone()[0]); c.close()")  # fmt: skip


def count_elsewhere(path: Path) -> int:
    """The rows another process sees; it opens and closes the database (as a CLI command or
    a new worker would), so it checkpoints and removes the WAL if it is the last user."""
    out = subprocess.run([sys.executable, "-c", COUNT, str(path)], capture_output=True,
                         text=True, check=True)  # fmt: skip
    return int(out.stdout)


def test_commits_after_a_new_connection_are_seen_by_other_processes(tmp_path: Path) -> None:
    path = tmp_path / "airlock.db"
    db = Database(f"sqlite:///{path}")
    try:
        with db.write() as conn:
            conn.execute(text("CREATE TABLE t (v INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with db.read(), db.read():  # two at once: the pool opens a second connection
            pass
        assert count_elsewhere(path) == 1
        with db.write() as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))
        assert count_elsewhere(path) == 2
        assert (tmp_path / "airlock.db-wal").exists()  # still this process's, not deleted
        assert not list(tmp_path.glob("airlock.db.probe-*"))
    finally:
        db.dispose()
