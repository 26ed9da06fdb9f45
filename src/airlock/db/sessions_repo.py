"""Browser sessions and the sign-in failure counters; the caller owns the transaction."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, and_, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from airlock.db.records import Session
from airlock.db.schema import login_failures, sessions


def add(conn: Connection, session: Session) -> None:
    conn.execute(
        sessions.insert().values(
            id=session.id, user_id=session.user_id, csrf_token=session.csrf_token,
            created_at=session.created_at, expires_at=session.expires_at,
        )  # fmt: skip
    )


def get(conn: Connection, session_id: str, now: dt.datetime) -> Session | None:
    """The session, unless it is unknown or has expired."""
    row = conn.execute(
        select(sessions).where(and_(sessions.c.id == session_id, sessions.c.expires_at > now))
    ).first()
    if row is None:
        return None
    return Session(row.id, row.user_id, row.csrf_token, row.created_at, row.expires_at)


def remove(conn: Connection, session_id: str) -> None:
    conn.execute(delete(sessions).where(sessions.c.id == session_id))


def remove_for_user(conn: Connection, user_id: int, keep: str | None = None) -> None:
    """End every session of the user's, but ``keep`` (a session id) if given."""
    query = delete(sessions).where(sessions.c.user_id == user_id)
    if keep is not None:
        query = query.where(sessions.c.id != keep)
    conn.execute(query)


def remove_expired(conn: Connection, now: dt.datetime) -> int:
    return conn.execute(delete(sessions).where(sessions.c.expires_at <= now)).rowcount


# Sign-in failures ----------------------------------------------------------------------------


def failures(
    conn: Connection, key: str, lock: bool = False
) -> tuple[int, dt.datetime] | None:
    """``(failures, window_start)`` of ``key``, or None when it has none on record; ``lock``:
    the row stays locked until the transaction ends (PostgreSQL; SQLite's write transactions
    are serial anyway)."""
    query = select(login_failures).where(login_failures.c.key == key)
    row = conn.execute(query.with_for_update() if lock else query).first()
    return (row.failures, row.window_start) if row else None


def ensure_failures(conn: Connection, key: str, now: dt.datetime) -> None:
    """A row for ``key`` (0 failures since ``now``) unless it has one: so that concurrent
    counters of a new key lock one row instead of racing to insert it."""
    insert = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(login_failures)
    conn.execute(
        insert.values(key=key, failures=0, window_start=now).on_conflict_do_nothing()
    )


def set_failures(conn: Connection, key: str, count: int, window_start: dt.datetime) -> None:
    """Record ``count`` failures for ``key`` in the window that began at ``window_start``."""
    done = conn.execute(
        update(login_failures)
        .where(login_failures.c.key == key)
        .values(failures=count, window_start=window_start)
    ).rowcount
    if not done:
        conn.execute(
            login_failures.insert().values(key=key, failures=count, window_start=window_start)
        )


def clear_failures(conn: Connection, key: str) -> None:
    conn.execute(delete(login_failures).where(login_failures.c.key == key))


def remove_stale_failures(conn: Connection, before: dt.datetime) -> int:
    return conn.execute(
        delete(login_failures).where(login_failures.c.window_start < before)
    ).rowcount
