"""Writes that should still succeed on a full disk: signing in and out, and deleting Files to
make room. SQLite appends each transaction to its write-ahead log; on a full disk the log cannot
grow, but once checkpointed it starts over in the space its file already has, so small writes
go on (as long as the database file holds every page they touch)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from airlock.db import failures
from airlock.db.engine import Database
from airlock.errors import StorageFull

T = TypeVar("T")


def write_making_room(db: Database, work: Callable[[Connection], T]) -> T:
    """``work`` in one write transaction; when the database is out of space, once more after a
    checkpoint has made room in its log (if it could). A failed transaction left nothing
    behind, so ``work`` may run twice."""
    try:
        with db.write() as conn:
            return work(conn)
    except DBAPIError as exc:
        if not isinstance(failures.translate(exc), StorageFull) or not _checkpoint(db):
            raise
    with db.write() as conn:
        return work(conn)


def _checkpoint(db: Database) -> bool:
    """SQLite: copy the whole log into the database file, waiting for nobody (a passive
    checkpoint), so that the next write starts the log over. False when some of it could not
    be copied, when even the copy found no room, and always on PostgreSQL."""
    try:
        with db.read() as conn:
            if conn.dialect.name != "sqlite":
                return False
            row = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").first()
    except DBAPIError:
        return False
    # (busy, frames in the log, frames copied); -1 frames: not in WAL mode
    return row is not None and row[0] == 0 and row[1] >= 0 and row[1] == row[2]
