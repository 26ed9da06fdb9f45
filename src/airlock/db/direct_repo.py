"""Repository of direct (browser-to-store) uploads. A completion holds a lease in the row, so
two completions of one upload, on any workers or servers, never both make a File."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, or_, select, update

from airlock.db.records import DirectUpload
from airlock.db.schema import direct_uploads as t


def _record(row: Row[Any]) -> DirectUpload:
    return DirectUpload(
        row.id, row.owner_id, row.storage_key, row.filename, row.size, row.visibility,
        row.file_expires_in, row.file_id, row.created_at, row.expires_at,
    )  # fmt: skip


def add(conn: Connection, **values: Any) -> None:
    conn.execute(t.insert().values(**values))


def get(conn: Connection, upload_id: str) -> DirectUpload | None:
    row = conn.execute(select(t).where(t.c.id == upload_id)).first()
    return _record(row) if row else None


def claim(conn: Connection, upload_id: str, now: dt.datetime, until: dt.datetime) -> bool:
    """Take the completion lease unless another completion holds an unexpired one."""
    result = conn.execute(
        update(t)
        .where(and_(t.c.id == upload_id, t.c.file_id.is_(None),
                    or_(t.c.claimed_until.is_(None), t.c.claimed_until < now)))
        .values(claimed_until=until)
    )  # fmt: skip
    return result.rowcount == 1


def finish(conn: Connection, upload_id: str, file_id: str) -> None:
    conn.execute(update(t).where(t.c.id == upload_id).values(file_id=file_id, claimed_until=None))


def release(conn: Connection, upload_id: str) -> None:
    conn.execute(update(t).where(t.c.id == upload_id).values(claimed_until=None))


def remove(conn: Connection, upload_id: str) -> bool:
    """False when the row was gone already (another request removed it)."""
    return conn.execute(delete(t).where(t.c.id == upload_id)).rowcount == 1


def expired(conn: Connection, now: dt.datetime, limit: int = 500) -> list[DirectUpload]:
    query = select(t).where(t.c.expires_at <= now).limit(limit)
    return [_record(r) for r in conn.execute(query)]


def pending_keys(conn: Connection) -> Iterator[str]:
    """Keys of direct uploads not completed yet: their objects belong to no File but are not
    orphans while the upload may still be completed."""
    for row in conn.execute(select(t.c.storage_key).where(t.c.file_id.is_(None))):
        yield row.storage_key


