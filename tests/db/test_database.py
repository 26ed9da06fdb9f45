"""The metadata layer on SQLite and on PostgreSQL: migrations, records, atomic counting."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from airlock.config import Settings
from airlock.errors import Conflict, Gone
from airlock.gates import Offered
from airlock.runtime import AirlockState, build_state
from airlock.service import UploadOptions
from tests.support import samples


@pytest.fixture
def state(database_url: str, tmp_path: Path) -> AirlockState:
    st = build_state(Settings.load({}, data_dir=tmp_path / "data", database_url=database_url))
    yield st
    st.db.dispose()


def stage(st: AirlockState, body: bytes):
    with st.stager.begin(10**6) as out:
        out.write(body)
        return out.finish()


def test_migrations_reach_head_and_are_idempotent(state: AirlockState) -> None:
    from airlock.db.engine import SCHEMA_HEAD

    assert state.db.head_revision() == SCHEMA_HEAD
    assert state.db.current_revision() == SCHEMA_HEAD
    assert state.db.migrate() is False


def test_users_and_tokens(state: AirlockState) -> None:
    user = state.accounts.add_user("alice", "correct horse battery", True, 1000)
    assert user.is_admin and user.quota_bytes == 1000
    assert user.created_at.tzinfo is not None
    with pytest.raises(Conflict):
        state.accounts.add_user("alice", None)
    new = state.accounts.create_token(user, "ci")
    assert state.accounts.authenticate(new.secret).id == user.id
    (token,) = state.accounts.list_tokens(user)
    assert token.last_used_at is not None
    assert state.accounts.check_password("alice", "correct horse battery").id == user.id


def test_files_round_trip_with_aware_times(state: AirlockState) -> None:
    user = state.accounts.add_user("bob", None)
    record = state.service.store(user, stage(state, samples.png()), "a.png",
                                 UploadOptions("public", 60))  # fmt: skip
    again = state.service.get_file(user, record.id)
    assert again == record
    assert again.created_at.tzinfo == dt.UTC
    assert again.expires_at is not None and again.expires_at > again.created_at
    page, nxt = state.service.list_files(user, 10, None)
    assert [f.id for f in page] == [record.id] and nxt is None


def test_pagination_is_stable_for_equal_timestamps(state: AirlockState) -> None:
    fixed = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    user = state.accounts.add_user("carol", None)
    svc = state.service
    svc.clock = lambda: fixed  # every File gets the same created_at
    ids = [svc.store(user, stage(state, b"n%d\n" % i), f"{i}.txt", UploadOptions()).id
           for i in range(7)]  # fmt: skip
    seen, cursor = [], None
    while True:
        page, cursor = svc.list_files(user, 3, cursor)
        seen += [f.id for f in page]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 7


def test_share_link_downloads_are_counted_atomically(state: AirlockState) -> None:
    user = state.accounts.add_user("dave", None)
    record = state.service.store(user, stage(state, samples.png()), "a.png", UploadOptions())
    token = state.links.create(user, record.id, {"expires_in": 60, "max_downloads": 5}).token
    assert token is not None

    def take(_: int) -> bool:
        try:
            state.links.open(token, Offered())
            return True
        except Gone:
            return False

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(take, range(40)))
    assert results.count(True) == 5


def test_resumable_uploads_and_their_leases(state: AirlockState) -> None:
    """The tus state machine on each database: create, lease, append, finish, expire."""
    import base64
    import datetime as dt

    from airlock.db import uploads_repo
    from airlock.errors import Conflict

    user = state.accounts.add_user("tess", None)
    body = samples.png()
    meta = "filename " + base64.b64encode(b"t.png").decode()
    upload = state.resumable.create(user, len(body), meta, None)
    assert upload.offset == 0 and upload.length == len(body)
    now = dt.datetime.now(dt.UTC)
    with state.db.write() as conn:
        assert uploads_repo.acquire(conn, upload.id, "held", now, now + dt.timedelta(seconds=60))
    with pytest.raises(Conflict):
        state.resumable.patch(user, upload.id, 0, None, None, [body])
    with state.db.write() as conn:
        assert uploads_repo.release(conn, upload.id, "held")
    half = len(body) // 2
    assert state.resumable.patch(user, upload.id, 0, None, None, [body[:half]]).upload.offset == half
    done = state.resumable.patch(user, upload.id, half, None, None, [body[half:]])
    assert done.file is not None and done.file.size == len(body)
    assert state.resumable.status(user, upload.id).file_id == done.file.id
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    assert state.resumable.collect(later) == 1


def test_migrations_build_exactly_the_declared_schema(state: AirlockState) -> None:
    """The hand-written migrations and ``db/schema.py`` describe the same tables, columns and
    indexes (types are left to the dialects)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from airlock.db.schema import metadata

    with state.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_used_bytes_follows_every_store_and_delete(state: AirlockState) -> None:
    """The counter a quota check reads is what the user's Files add up to, through uploads,
    deletes (twice: the second changes nothing), concurrent uploads and gc's expiry."""
    from sqlalchemy import func, select

    from airlock.db import repo
    from airlock.db.schema import files
    from airlock.gc import collect

    user = state.accounts.add_user("dave", None, False, 10**6)
    other = state.accounts.add_user("erin", None)

    def summed(user_id: int) -> int:
        with state.db.read() as conn:
            return int(conn.execute(select(func.coalesce(func.sum(files.c.size), 0))
                                    .where(files.c.owner_id == user_id)).scalar_one())

    def counted(user_id: int) -> int:
        with state.db.read() as conn:
            return repo.used_bytes(conn, user_id)

    a = state.service.store(user, stage(state, b"a" * 100 + b"\n"), "a.txt", UploadOptions())
    state.service.store(other, stage(state, b"o" * 50 + b"\n"), "o.txt", UploadOptions())
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: state.service.store(
            user, stage(state, b"%d\n" % i * 10), f"{i}.txt", UploadOptions()), range(8)))
    assert counted(user.id) == summed(user.id) > 101 and counted(other.id) == 51
    state.service.delete_file(user, a.id)
    with state.db.write() as conn:
        assert repo.delete_file(conn, a.id) is False
    assert counted(user.id) == summed(user.id)
    state.service.store(user, stage(state, b"brief\n"), "brief.txt", UploadOptions(expires_in=1))
    before = counted(user.id)
    state.service.clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    collect(state, state.service.clock())
    assert counted(user.id) == summed(user.id) == before - 6
    assert counted(other.id) == summed(other.id) == 51
