"""Repository of tus uploads. Locks are leases in the row itself, so they hold across worker
processes and across app servers sharing one database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, or_, select, update

from airlock.db.records import Upload
from airlock.db.schema import uploads


def _upload(row: Row[Any]) -> Upload:
    return Upload(
        row.id, row.owner_id, row.length, row.offset, row.metadata, row.filename,
        row.visibility, row.concat, tuple(p for p in row.parts.split(" ") if p),
        bool(row.head_checked), row.file_id, row.created_at, row.expires_at,
        row.sha256_state, row.drop_id,
    )  # fmt: skip


def add(conn: Connection, **values: Any) -> None:
    conn.execute(uploads.insert().values(**values))


def get(conn: Connection, upload_id: str) -> Upload | None:
    row = conn.execute(select(uploads).where(uploads.c.id == upload_id)).first()
    return _upload(row) if row else None


def set_values(conn: Connection, upload_id: str, **values: Any) -> None:
    conn.execute(update(uploads).where(uploads.c.id == upload_id).values(**values))


def remove(conn: Connection, upload_id: str) -> bool:
    """False when the row was gone already (another request removed it)."""
    return conn.execute(delete(uploads).where(uploads.c.id == upload_id)).rowcount == 1


def acquire(
    conn: Connection, upload_id: str, token: str, now: dt.datetime, until: dt.datetime
) -> bool:
    """Take the upload's lock unless someone else holds an unexpired one."""
    result = conn.execute(
        update(uploads)
        .where(
            and_(
                uploads.c.id == upload_id,
                or_(uploads.c.locked_until.is_(None), uploads.c.locked_until < now),
            )
        )
        .values(lock_token=token, locked_until=until)
    )
    return result.rowcount == 1


def extend(conn: Connection, upload_id: str, token: str, until: dt.datetime) -> bool:
    """Renew our lock; False when another request has taken it since (ours had lapsed)."""
    result = conn.execute(
        update(uploads)
        .where(and_(uploads.c.id == upload_id, uploads.c.lock_token == token))
        .values(locked_until=until)
    )
    return result.rowcount == 1


def update_locked(conn: Connection, upload_id: str, token: str, **values: Any) -> bool:
    """Store ``values`` if we still hold the lock."""
    result = conn.execute(
        update(uploads)
        .where(and_(uploads.c.id == upload_id, uploads.c.lock_token == token))
        .values(**values)
    )
    return result.rowcount == 1


def shrink_offset(
    conn: Connection, upload_id: str, expected: int, offset: int, now: dt.datetime,
    token: str | None = None,
) -> bool:  # fmt: skip
    """Lower the offset of an unfinished upload still at ``expected`` that nobody else holds."""
    result = conn.execute(
        update(uploads)
        .where(
            and_(
                uploads.c.id == upload_id,
                uploads.c.offset == expected,
                uploads.c.file_id.is_(None),
                or_(
                    uploads.c.locked_until.is_(None),
                    uploads.c.locked_until < now,
                    uploads.c.lock_token == token,
                ),
            )
        )
        .values(offset=offset, sha256_state=None)  # the hash no longer matches the offset
    )
    return result.rowcount == 1


def is_locked(conn: Connection, upload_id: str, now: dt.datetime) -> bool:
    """Whether a request holds an unexpired lock on the upload."""
    row = conn.execute(
        select(uploads.c.locked_until).where(
            and_(uploads.c.id == upload_id, uploads.c.locked_until >= now)
        )
    ).first()
    return row is not None


def release(conn: Connection, upload_id: str, token: str, **values: Any) -> bool:
    """Drop the lock (and store ``values``) if we still hold it."""
    result = conn.execute(
        update(uploads)
        .where(and_(uploads.c.id == upload_id, uploads.c.lock_token == token))
        .values(lock_token=None, locked_until=None, **values)
    )
    return result.rowcount == 1


def expired(conn: Connection, now: dt.datetime, limit: int = 500) -> list[Upload]:
    rows = conn.execute(select(uploads).where(uploads.c.expires_at <= now).limit(limit))
    return [_upload(r) for r in rows]
