"""What the admin page reads and changes: users with their usage, quarantined Files, and
upload events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select, update

from airlock.db.records import FileRecord, UploadEvent, User
from airlock.db.repo import _FILE_COLUMNS, _file, _user
from airlock.db.schema import files, upload_events, users


def users_with_usage(
    conn: Connection, username: str | None = None
) -> list[tuple[User, int, int]]:
    """Every user (or just ``username``), by name, as ``(user, used_bytes, file_count)``."""
    usage = (
        select(
            files.c.owner_id,
            func.coalesce(func.sum(files.c.size), 0).label("used"),
            func.count().label("file_count"),
        )
        .group_by(files.c.owner_id)
        .subquery()
    )
    query = (
        select(users, usage.c.used, usage.c.file_count)
        .outerjoin(usage, usage.c.owner_id == users.c.id)
        .order_by(users.c.username)
    )
    if username is not None:
        query = query.where(users.c.username == username)
    rows = conn.execute(query)
    return [(_user(r), int(r.used or 0), int(r.file_count or 0)) for r in rows]


def update_user(conn: Connection, user_id: int, **values: Any) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(**values))


def storage_totals(conn: Connection) -> tuple[int, int]:
    """``(file_count, bytes)`` over all Files."""
    row = conn.execute(select(func.count(), func.coalesce(func.sum(files.c.size), 0))).one()
    return int(row[0]), int(row[1])


# Quarantine ----------------------------------------------------------------------------------


def quarantined_files(
    conn: Connection, limit: int, after: tuple[dt.datetime, str] | None
) -> list[FileRecord]:
    """Quarantined Files, most recently quarantined first, strictly after the
    ``(quarantined_at, id)`` cursor."""
    at = files.c.quarantined_at
    query = (
        select(*_FILE_COLUMNS)
        .join(users, users.c.id == files.c.owner_id)
        .where(at.is_not(None))
    )
    if after is not None:
        when, fid = after
        query = query.where(or_(at < when, and_(at == when, files.c.id < fid)))
    query = query.order_by(at.desc(), files.c.id.desc()).limit(limit)
    return [_file(r) for r in conn.execute(query)]


def release_file(conn: Connection, file_id: str) -> bool:
    """Clear a File's quarantine; False when it is not quarantined (any more) or not there.
    Conditional, so of two releases racing for one File exactly one succeeds."""
    result = conn.execute(
        update(files)
        .where(and_(files.c.id == file_id, files.c.quarantined_at.is_not(None)))
        .values(quarantined_at=None, quarantine_reason=None)
    )
    return bool(result.rowcount == 1)


# Upload events -------------------------------------------------------------------------------


_INSERT_EVENT = upload_events.insert()  # built once: one runs with every upload decision


def add_event(conn: Connection, event: UploadEvent) -> None:
    conn.execute(
        _INSERT_EVENT,
        {
            "at": event.at, "username": event.username, "name": event.name,
            "size": event.size, "outcome": event.outcome, "code": event.code,
            "message": event.message,
        },
    )  # fmt: skip


def daily_counts(conn: Connection, since: dt.datetime) -> dict[tuple[str, str], int]:
    """Events at or after ``since`` counted per ``(UTC date "YYYY-MM-DD", outcome)``."""
    at = upload_events.c.at
    # SQLite keeps naive UTC; PostgreSQL's date() would use the session's time zone.
    postgres = conn.dialect.name == "postgresql"
    day = func.date(func.timezone("UTC", at)) if postgres else func.date(at)
    rows = conn.execute(
        select(day.label("day"), upload_events.c.outcome, func.count().label("n"))
        .where(at >= since)
        .group_by(day, upload_events.c.outcome)
    )
    return {(str(r.day), r.outcome): int(r.n) for r in rows}


def recent_rejections(conn: Connection, limit: int) -> list[UploadEvent]:
    rows = conn.execute(
        select(upload_events)
        .where(upload_events.c.outcome == "rejected")
        .order_by(upload_events.c.at.desc(), upload_events.c.id.desc())
        .limit(limit)
    )
    return [
        UploadEvent(r.at, r.username, r.name, r.size, r.outcome, r.code, r.message) for r in rows
    ]


def remove_events_before(conn: Connection, before: dt.datetime) -> int:
    return conn.execute(delete(upload_events).where(upload_events.c.at < before)).rowcount
