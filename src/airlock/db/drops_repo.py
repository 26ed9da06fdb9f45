"""Drop links; the caller owns the transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Row, and_, or_, select, update

from airlock.db.records import Drop
from airlock.db.schema import drops


def _drop(row: Row[Any]) -> Drop:
    return Drop(
        row.id, row.owner_id, row.name, row.token, row.password_hash, row.created_at,
        row.expires_at, row.revoked_at, row.max_files, row.max_bytes, row.files, row.bytes,
    )  # fmt: skip


def add(conn: Connection, **values: Any) -> None:
    conn.execute(drops.insert().values(**values))


def by_hash(conn: Connection, token_hash: str) -> Drop | None:
    row = conn.execute(select(drops).where(drops.c.token_hash == token_hash)).first()
    return _drop(row) if row else None


def by_id(conn: Connection, drop_id: str) -> Drop | None:
    row = conn.execute(select(drops).where(drops.c.id == drop_id)).first()
    return _drop(row) if row else None


def of_owner(conn: Connection, owner_id: int) -> list[Drop]:
    """The owner's drop links, newest first."""
    rows = conn.execute(
        select(drops).where(drops.c.owner_id == owner_id)
        .order_by(drops.c.created_at.desc(), drops.c.id)
    )  # fmt: skip
    return [_drop(r) for r in rows]


def revoke(conn: Connection, drop_id: str, now: dt.datetime) -> None:
    conn.execute(
        update(drops).where(and_(drops.c.id == drop_id, drops.c.revoked_at.is_(None)))
        .values(revoked_at=now)
    )  # fmt: skip


def take(conn: Connection, drop_id: str, size: int, now: dt.datetime) -> bool:
    """Count one File of ``size`` bytes in, atomically: only while the drop is neither
    revoked nor expired and the File fits its limits. False when it does not."""
    result = conn.execute(
        update(drops)
        .where(
            and_(
                drops.c.id == drop_id,
                drops.c.revoked_at.is_(None),
                or_(drops.c.expires_at.is_(None), drops.c.expires_at > now),
                or_(drops.c.max_files.is_(None), drops.c.files < drops.c.max_files),
                or_(drops.c.max_bytes.is_(None), drops.c.bytes + size <= drops.c.max_bytes),
            )
        )
        .values(files=drops.c.files + 1, bytes=drops.c.bytes + size)
    )
    return result.rowcount == 1
