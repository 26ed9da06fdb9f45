"""Repositories: small functions over a SQLAlchemy ``Connection`` that return frozen records.

The caller (the service) owns the transaction; these never commit.

The statements of the per-request path are built once, at import, and run with a dict of
parameters: a statement built per call is coerced, cache-keyed and looked up in the compiled
cache every time, which cost more than running it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Iterator
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    and_,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import CompileError

from airlock.db.records import FileRecord, Link, Token, User
from airlock.db.schema import (
    direct_uploads,
    drops,
    files,
    link_files,
    links,
    sessions,
    tokens,
    uploads,
    users,
)


def _user(row: Row[Any]) -> User:
    return User(
        row.id, row.username, row.password_hash, bool(row.is_admin), row.quota_bytes,
        bool(row.disabled), row.created_at,
    )  # fmt: skip


_FILE_COLUMNS = (
    *files.c, users.c.username.label("owner"), users.c.disabled.label("owner_disabled")
)


def _file(row: Row[Any]) -> FileRecord:
    return FileRecord(
        row.id, row.owner_id, row.owner, row.name, row.size, row.sha256, row.content_type,
        row.visibility, row.storage_key, row.created_at, row.expires_at, row.thumbnail_key,
        row.quarantined_at, row.quarantine_reason, bool(row.attachment_only), row.store,
        row.drop_id, bool(row.owner_disabled),
    )  # fmt: skip


# Users ---------------------------------------------------------------------------------------


def add_user(
    conn: Connection, username: str, password_hash: str | None, is_admin: bool,
    quota_bytes: int | None, now: dt.datetime,
) -> User:  # fmt: skip
    result = conn.execute(
        users.insert().values(
            username=username, password_hash=password_hash, is_admin=is_admin,
            quota_bytes=quota_bytes, disabled=False, created_at=now,
        )  # fmt: skip
    )
    user = get_user(conn, int(result.inserted_primary_key[0]))  # type: ignore[index]
    assert user is not None
    return user


def get_user(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    return _user(row) if row else None


def user_by_name(conn: Connection, username: str) -> User | None:
    """The user of that name, in any case: names are unique without regard to case."""
    row = conn.execute(
        select(users).where(func.lower(users.c.username) == username.lower())
    ).first()
    return _user(row) if row else None


def list_users(conn: Connection) -> list[User]:
    return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]


def set_password_hash(conn: Connection, user_id: int, password_hash: str) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))


def delete_tokens_of(conn: Connection, user_id: int) -> None:
    conn.execute(delete(tokens).where(tokens.c.user_id == user_id))


def files_of_user(conn: Connection, user_id: int) -> list[FileRecord]:
    rows = conn.execute(
        select(*_FILE_COLUMNS).join(users, users.c.id == files.c.owner_id)
        .where(files.c.owner_id == user_id)
    )  # fmt: skip
    return [_file(r) for r in rows]


def delete_user(conn: Connection, user_id: int) -> None:
    """The user's row and everything of theirs the database keeps (Files, links, drop links,
    tokens, sessions, uploads in flight); their stored bytes are the caller's to delete."""
    owned = select(files.c.id).where(files.c.owner_id == user_id)
    theirs = select(links.c.id).where(or_(links.c.file_id.in_(owned), links.c.owner_id == user_id))
    conn.execute(delete(link_files).where(
        or_(link_files.c.file_id.in_(owned), link_files.c.link_id.in_(theirs))
    ))  # fmt: skip
    conn.execute(delete(links).where(or_(links.c.file_id.in_(owned), links.c.owner_id == user_id)))
    conn.execute(delete(files).where(files.c.owner_id == user_id))
    for table in (tokens, sessions, uploads, direct_uploads, drops):
        column = table.c.user_id if "user_id" in table.c else table.c.owner_id
        conn.execute(delete(table).where(column == user_id))
    conn.execute(delete(users).where(users.c.id == user_id))


def count_users(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(users)).scalar_one())


_USED_BYTES = select(users.c.used_bytes).where(users.c.id == bindparam("p_owner_id"))
_ADD_USED = (
    update(users)
    .where(users.c.id == bindparam("p_owner_id"))
    .values(used_bytes=users.c.used_bytes + bindparam("p_size"))
)


def used_bytes(conn: Connection, user_id: int) -> int:
    """The bytes the user's Files take (0 for no such user)."""
    return int(conn.execute(_USED_BYTES, {"p_owner_id": user_id}).scalar() or 0)


# Tokens --------------------------------------------------------------------------------------


def add_token(
    conn: Connection, token_id: str, user_id: int, name: str, token_hash: str, now: dt.datetime
) -> Token:
    conn.execute(
        tokens.insert().values(
            id=token_id, user_id=user_id, name=name, token_hash=token_hash, created_at=now
        )
    )
    return Token(token_id, user_id, name, now, None)


_USER_FOR_TOKEN = (
    select(users, tokens.c.id.label("token_id"), tokens.c.last_used_at)
    .join(tokens, tokens.c.user_id == users.c.id)
    .where(tokens.c.token_hash == bindparam("p_token_hash"))
)


def user_for_token(
    conn: Connection, token_hash: str
) -> tuple[User, str, dt.datetime | None] | None:
    """The token's user, the token's id and when it was last used."""
    row = conn.execute(_USER_FOR_TOKEN, {"p_token_hash": token_hash}).first()
    return (_user(row), row.token_id, row.last_used_at) if row else None


def touch_token(conn: Connection, token_id: str, now: dt.datetime) -> None:
    conn.execute(update(tokens).where(tokens.c.id == token_id).values(last_used_at=now))


def list_tokens(conn: Connection, user_id: int) -> list[Token]:
    rows = conn.execute(
        select(tokens).where(tokens.c.user_id == user_id).order_by(tokens.c.created_at)
    )
    return [Token(r.id, r.user_id, r.name, r.created_at, r.last_used_at) for r in rows]


def delete_token(conn: Connection, user_id: int, token_id: str) -> bool:
    result = conn.execute(
        delete(tokens).where(and_(tokens.c.id == token_id, tokens.c.user_id == user_id))
    )
    return result.rowcount > 0


# Files ---------------------------------------------------------------------------------------


_INSERT_FILE = files.insert()
_FILE_COLUMN_NAMES = frozenset(files.c.keys())
_GET_FILE = (
    select(*_FILE_COLUMNS)
    .join(users, users.c.id == files.c.owner_id)
    .where(files.c.id == bindparam("p_file_id"))
)


def add_file(conn: Connection, **values: Any) -> None:
    """Insert one File row; ``values`` are column names (an unknown one is an error, which a
    parameter dict alone would silently drop)."""
    unknown = values.keys() - _FILE_COLUMN_NAMES
    if unknown:
        raise CompileError(f"Unconsumed column names: {', '.join(sorted(unknown))}")
    conn.execute(_INSERT_FILE, values)
    conn.execute(_ADD_USED, {"p_owner_id": values["owner_id"], "p_size": values["size"]})


def add_file_record(conn: Connection, record: FileRecord) -> None:
    """Insert ``record`` as a File row (its ``owner`` name is the users table's)."""
    add_file(conn, **{f.name: getattr(record, f.name) for f in dataclasses.fields(record)
                      if f.name not in ("owner", "owner_disabled")})  # fmt: skip


def get_file(conn: Connection, file_id: str) -> FileRecord | None:
    row = conn.execute(_GET_FILE, {"p_file_id": file_id}).first()
    return _file(row) if row else None


def list_files(
    conn: Connection, owner_id: int, limit: int, after: tuple[dt.datetime, str] | None,
    name_contains: str | None = None, drop_id: str | None = None,
) -> list[FileRecord]:  # fmt: skip
    """The owner's Files, newest first, strictly after the ``(created_at, id)`` cursor; only
    those whose name contains ``name_contains`` (case-insensitively), and those that arrived
    through the drop link ``drop_id``, when given."""
    query = (
        select(*_FILE_COLUMNS)
        .join(users, users.c.id == files.c.owner_id)
        .where(files.c.owner_id == owner_id)
    )
    if name_contains:
        query = query.where(
            func.lower(files.c.name).contains(name_contains.lower(), autoescape=True)
        )
    if drop_id:
        query = query.where(files.c.drop_id == drop_id)
    if after is not None:
        created, fid = after
        query = query.where(
            or_(files.c.created_at < created, and_(files.c.created_at == created, files.c.id < fid))
        )
    query = query.order_by(files.c.created_at.desc(), files.c.id.desc()).limit(limit)
    return [_file(r) for r in conn.execute(query)]


def update_file(conn: Connection, file_id: str, **values: Any) -> None:
    conn.execute(update(files).where(files.c.id == file_id).values(**values))


def delete_file(conn: Connection, file_id: str) -> bool:
    """Delete the File's row and its links (and its place in links to several Files);
    False when another request deleted it first."""
    row = conn.execute(
        select(files.c.owner_id, files.c.size).where(files.c.id == file_id)
    ).first()
    if row is None:
        return False
    conn.execute(delete(links).where(links.c.file_id == file_id))
    conn.execute(delete(link_files).where(link_files.c.file_id == file_id))
    if conn.execute(delete(files).where(files.c.id == file_id)).rowcount != 1:
        return False
    conn.execute(_ADD_USED, {"p_owner_id": row.owner_id, "p_size": -row.size})
    return True


def _expired(now: dt.datetime) -> ColumnElement[bool]:
    return and_(
        files.c.expires_at.is_not(None),
        files.c.expires_at <= now,
        files.c.quarantined_at.is_(None),  # kept for an admin to decide
    )


def _in_stores(stores: Collection[str]) -> ColumnElement[bool]:
    return or_(files.c.store.is_(None), files.c.store.in_(list(stores)))


def expired_files(
    conn: Connection, now: dt.datetime, stores: Collection[str] = (), limit: int = 500
) -> list[FileRecord]:
    """Expired Files whose bytes are in the service's storage or one of ``stores``."""
    rows = conn.execute(
        select(*_FILE_COLUMNS)
        .join(users, users.c.id == files.c.owner_id)
        .where(and_(_expired(now), _in_stores(stores)))
        .limit(limit)
    )
    return [_file(r) for r in rows]


def expired_elsewhere(conn: Connection, now: dt.datetime, stores: Collection[str]) -> int:
    """How many expired Files are in a storage that is neither the service's nor one of
    ``stores`` (an upload set's, configured only in the host app)."""
    query = select(func.count()).select_from(files).where(
        and_(_expired(now), ~_in_stores(stores))
    )
    return int(conn.execute(query).scalar_one())


def files_to_rescan(
    conn: Connection, since: dt.datetime | None, after: tuple[dt.datetime, str] | None,
    limit: int,
) -> list[FileRecord]:  # fmt: skip
    """Files not quarantined, stored at or after ``since``, in (created_at, id) order after
    ``after``: one page of a rescan."""
    query = select(*_FILE_COLUMNS).join(users, users.c.id == files.c.owner_id)
    conditions: list[ColumnElement[bool]] = [files.c.quarantined_at.is_(None)]
    if since is not None:
        conditions.append(files.c.created_at >= since)
    if after is not None:
        at, last = after
        conditions.append(
            or_(files.c.created_at > at, and_(files.c.created_at == at, files.c.id > last))
        )
    rows = conn.execute(
        query.where(and_(*conditions)).order_by(files.c.created_at, files.c.id).limit(limit)
    )
    return [_file(r) for r in rows]


def quarantine_file(conn: Connection, file_id: str, at: dt.datetime, reason: str) -> bool:
    return bool(
        conn.execute(
            update(files)
            .where(files.c.id == file_id)
            .values(quarantined_at=at, quarantine_reason=reason[:512])
        ).rowcount
        == 1
    )


def all_storage_keys(conn: Connection) -> Iterator[str]:
    """Every key a File refers to, thumbnails included."""
    for row in conn.execute(select(files.c.storage_key, files.c.thumbnail_key)):
        yield row.storage_key
        if row.thumbnail_key:
            yield row.thumbnail_key


def name_in_use(conn: Connection, name: str) -> bool:
    """Whether a File (its bytes or thumbnail), a resumable upload or an unfinished direct
    upload refers to ``name``. One statement, so one snapshot: a resumable upload becoming a
    File is seen as one or the other, never neither."""
    query = select(
        or_(
            exists().where(or_(files.c.storage_key == name, files.c.thumbnail_key == name)),
            exists().where(uploads.c.id == name),
            exists().where(
                and_(direct_uploads.c.storage_key == name, direct_uploads.c.file_id.is_(None))
            ),
        )
    )
    return bool(conn.execute(query).scalar())


# Share links ---------------------------------------------------------------------------------


def add_link(conn: Connection, **values: Any) -> None:
    conn.execute(links.insert().values(downloads=0, **values))


_LINK_BY_HASH = select(links).where(links.c.token_hash == bindparam("p_token_hash"))


def _link(row: Row[Any]) -> Link:
    return Link(
        row.id, row.file_id, row.created_at, row.expires_at, row.max_downloads, row.downloads,
        row.token, row.password_hash, row.owner_id,
    )  # fmt: skip


def link_by_hash(conn: Connection, token_hash: str) -> Link | None:
    row = conn.execute(_LINK_BY_HASH, {"p_token_hash": token_hash}).first()
    return _link(row) if row else None


def link_by_id(conn: Connection, link_id: str) -> Link | None:
    row = conn.execute(select(links).where(links.c.id == link_id)).first()
    return _link(row) if row else None


def links_of_file(conn: Connection, file_id: str) -> list[Link]:
    """The File's share links, those to several Files it is one of included, oldest first."""
    several = select(link_files.c.link_id).where(link_files.c.file_id == file_id)
    rows = conn.execute(
        select(links)
        .where(or_(links.c.file_id == file_id, links.c.id.in_(several)))
        .order_by(links.c.created_at, links.c.id)
    )
    return [_link(r) for r in rows]


def add_link_files(conn: Connection, link_id: str, file_ids: list[str]) -> None:
    conn.execute(
        link_files.insert(),
        [{"link_id": link_id, "file_id": f, "position": i} for i, f in enumerate(file_ids)],
    )


def files_of_link(conn: Connection, link: Link) -> list[FileRecord]:
    """The Files a link serves, in their order: its one File, or those of a link to several
    (the ones deleted since are gone from it)."""
    if link.file_id is not None:
        record = get_file(conn, link.file_id)
        return [record] if record is not None else []
    rows = conn.execute(
        select(*_FILE_COLUMNS)
        .join(users, users.c.id == files.c.owner_id)
        .join(link_files, link_files.c.file_id == files.c.id)
        .where(link_files.c.link_id == link.id)
        .order_by(link_files.c.position)
    )
    return [_file(r) for r in rows]


def link_file_ids(conn: Connection, link_ids: list[str]) -> dict[str, list[str]]:
    """The File ids of each of several links to several Files, in order."""
    out: dict[str, list[str]] = {}
    if not link_ids:
        return out
    rows = conn.execute(
        select(link_files.c.link_id, link_files.c.file_id)
        .where(link_files.c.link_id.in_(link_ids))
        .order_by(link_files.c.link_id, link_files.c.position)
    )
    for row in rows:
        out.setdefault(row.link_id, []).append(row.file_id)
    return out


def delete_link(conn: Connection, link_id: str) -> bool:
    """Remove a link; False when there was none."""
    return bool(conn.execute(delete(links).where(links.c.id == link_id)).rowcount)


def count_download(conn: Connection, link_id: str, now: dt.datetime) -> bool:
    """Count one download, atomically: only while unexpired and under ``max_downloads``.
    False when the link is used up or expired (another request may have taken the last one)."""
    result = conn.execute(
        update(links)
        .where(
            and_(
                links.c.id == link_id,
                or_(links.c.expires_at.is_(None), links.c.expires_at > now),
                or_(links.c.max_downloads.is_(None), links.c.downloads < links.c.max_downloads),
            )
        )
        .values(downloads=links.c.downloads + 1)
    )
    return result.rowcount == 1


def delete_expired_links(conn: Connection, now: dt.datetime) -> int:
    return conn.execute(delete(links).where(links.c.expires_at <= now)).rowcount

