"""Queries on the ``writers`` table (``airlock.writers``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, delete, select, update

from airlock.db.schema import writers as t


def add(conn: Connection, tag: str, host: str, pid: int, now: dt.datetime,
        until: dt.datetime) -> None:  # fmt: skip
    conn.execute(t.insert().values(tag=tag, host=host, pid=pid, started_at=now, expires_at=until))


def renew(conn: Connection, tag: str, until: dt.datetime) -> bool:
    """Extend the writer's lease; False when its row is gone (retired by gc, which may then
    have removed its bytes). A lapsed lease that nobody retired yet is extended: nothing of
    its writer's was removed."""
    return conn.execute(update(t).where(t.c.tag == tag).values(expires_at=until)).rowcount == 1


def get(conn: Connection, tag: str) -> tuple[str, int, dt.datetime] | None:
    """The writer's host, pid and lease end, if it is registered."""
    row = conn.execute(select(t.c.host, t.c.pid, t.c.expires_at).where(t.c.tag == tag)).first()
    return None if row is None else (row.host, row.pid, row.expires_at)


def retire(conn: Connection, tag: str, lapsed_before: dt.datetime | None) -> bool:
    """Remove the writer's row: only if its lease ended before ``lapsed_before`` (None: in any
    case, its process is known dead). True when it is gone now."""
    query = delete(t).where(t.c.tag == tag)
    if lapsed_before is not None:
        query = query.where(t.c.expires_at < lapsed_before)
    conn.execute(query)
    return conn.execute(select(t.c.tag).where(t.c.tag == tag)).first() is None


def retire_lapsed(conn: Connection, lapsed_before: dt.datetime) -> int:
    """Remove every writer whose lease ended before ``lapsed_before``; how many."""
    return conn.execute(delete(t).where(t.c.expires_at < lapsed_before)).rowcount
