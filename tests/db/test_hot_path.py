"""The per-upload database path: prebuilt statements answer as the ad-hoc ones did, the stored
File's record is what its row holds, SQLite commits durably, and a process's SQLite writers
queue one at a time."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import CompileError

from airlock.config import Settings
from airlock.core.ids import new_id, secret_digest
from airlock.db import admin_repo, repo
from airlock.db.engine import Database
from airlock.db.records import FileRecord, UploadEvent
from airlock.pipeline.staging import Staged
from airlock.runtime import AirlockState, build_state
from airlock.service import UploadOptions
from airlock.web.present import file_json
from tests.core.test_deep_content import _PAGES, _pdf
from tests.support import samples

# A clock away from UTC, with microseconds: what a File's row reads back is in UTC.
PLUS_FIVE = dt.timezone(dt.timedelta(hours=5))
FIXED = dt.datetime(2031, 3, 4, 10, 11, 12, 345678, tzinfo=PLUS_FIVE)


@pytest.fixture
def state(database_url: str, tmp_path: Path) -> Iterator[AirlockState]:
    settings = Settings.load(
        {}, data_dir=tmp_path / "data", database_url=database_url,
        pdf_active_content="attachment",
    )  # fmt: skip
    st = build_state(settings, clock=lambda: FIXED)
    yield st
    st.db.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'airlock.db'}")
    db.migrate(lock_dir=tmp_path)
    yield db
    db.dispose()


def stage(st: AirlockState, body: bytes) -> Staged:
    with st.stager.begin(10**6) as out:
        out.write(body)
        return out.finish()


def reread(st: AirlockState, file_id: str) -> FileRecord | None:
    with st.db.read() as conn:
        return repo.get_file(conn, file_id)


@pytest.mark.parametrize(
    ("name", "body", "opts"),
    [
        ("a.png", samples.png(8, 8), UploadOptions("public", 3600)),  # with a thumbnail
        ("n.txt", b"just text\n", UploadOptions()),
        (
            "active.pdf",  # accepted as attachment-only
            _pdf(b"<< /Type /Catalog /OpenAction 3 0 R >>", _PAGES, b"<< >>"),
            UploadOptions("private", 60),
        ),
    ],
)
def test_the_stored_record_is_what_the_row_holds(
    state: AirlockState, name: str, body: bytes, opts: UploadOptions
) -> None:
    user = state.accounts.add_user("rita", None)
    record = state.service.store(user, stage(state, body), name, opts)
    again = reread(state, record.id)
    assert again is not None
    assert record == again
    # Field by field, time zones included (dataclass equality compares instants only).
    for field in ("created_at", "expires_at"):
        mine, theirs = getattr(record, field), getattr(again, field)
        assert (mine is None) == (theirs is None)
        if mine is not None:
            assert mine.tzinfo == theirs.tzinfo == dt.UTC
            assert mine.isoformat() == theirs.isoformat()
    assert record.created_at == FIXED
    assert file_json(record) == file_json(again)
    assert record.owner == "rita" and record.quarantined_at is None
    assert record.attachment_only is (name == "active.pdf")
    assert (record.thumbnail_key is not None) is (name == "a.png")


def test_prebuilt_lookups_answer_as_before(state: AirlockState) -> None:
    alice = state.accounts.add_user("alice", None)
    bob = state.accounts.add_user("bob", None)
    secret = state.accounts.create_token(alice, "ci").secret
    sizes = [
        state.service.store(alice, stage(state, b"a" * n), f"{n}.txt", UploadOptions()).size
        for n in (3, 5)
    ]
    state.service.store(bob, stage(state, b"b" * 7), "b.txt", UploadOptions())
    mine = state.service.store(alice, stage(state, samples.png()), "l.png", UploadOptions())
    token = state.links.create(alice, mine.id, {"expires_in": 60}).token
    assert token is not None
    with state.db.read() as conn:
        found = repo.user_for_token(conn, secret_digest(secret))
        assert found is not None and found[0] == alice and found[2] is None
        assert repo.user_for_token(conn, secret_digest("al_forged")) is None
        assert repo.used_bytes(conn, alice.id) == sum(sizes) + mine.size
        assert repo.used_bytes(conn, bob.id) == 7
        assert repo.used_bytes(conn, 10**6) == 0
        assert repo.get_file(conn, "no-such-file") is None
        link = repo.link_by_hash(conn, secret_digest(token))
        assert link is not None and link.file_id == mine.id and link.downloads == 0
        assert repo.link_by_hash(conn, secret_digest("forged")) is None


def test_add_file_refuses_a_column_it_does_not_know(state: AirlockState) -> None:
    user = state.accounts.add_user("carl", None)
    with pytest.raises(CompileError, match="sizee"), state.db.write() as conn:
        repo.add_file(
            conn, id=new_id(), owner_id=user.id, name="x.txt", sizee=1, sha256="0" * 64,
            content_type="text/plain", visibility="private", storage_key=new_id(),
            created_at=FIXED,
        )  # fmt: skip


def test_sqlite_commits_are_durable_and_the_pool_is_lifo(sqlite_db: Database) -> None:
    """Every pooled connection syncs the WAL at each commit (``synchronous=FULL``, 2), and the
    connection returned last is handed out next (its page cache is the warm one)."""
    with sqlite_db.engine.connect() as a, sqlite_db.engine.connect() as b:
        for conn in (a, b):
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        last_returned = a.connection.dbapi_connection  # ``a`` is closed after ``b``
    with sqlite_db.write() as conn:
        assert conn.connection.dbapi_connection is last_returned


def _event(i: int) -> UploadEvent:
    now = dt.datetime.now(dt.UTC)
    return UploadEvent(now, "w", f"{i}.txt", i, "stored", "", "")


def test_sqlite_writers_of_a_process_take_turns(sqlite_db: Database) -> None:
    inside = 0
    most = 0
    guard = threading.Lock()
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        nonlocal inside, most
        try:
            for i in range(15):
                with sqlite_db.write() as conn:
                    with guard:
                        inside += 1
                        most = max(most, inside)
                    admin_repo.add_event(conn, _event(k * 100 + i))
                    time.sleep(0.0005)
                    with guard:
                        inside -= 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and most == 1
    with sqlite_db.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM upload_events").scalar() == 8 * 15


def test_a_write_under_way_blocks_neither_readers_nor_fails_the_next_writer(
    database_url: str, tmp_path: Path
) -> None:
    db = Database(database_url)
    db.migrate(lock_dir=tmp_path)
    try:
        holding, release = threading.Event(), threading.Event()
        order: list[str] = []

        def first() -> None:
            with db.write() as conn:
                admin_repo.add_event(conn, _event(1))
                holding.set()
                release.wait(10)
                order.append("first")

        def second() -> None:
            holding.wait(10)
            with db.write() as conn:
                admin_repo.add_event(conn, _event(2))
            order.append("second")

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for t in threads:
            t.start()
        try:
            assert holding.wait(10)
            with db.read() as conn:  # a reader goes on, and sees nothing uncommitted
                seen = conn.exec_driver_sql("SELECT count(*) FROM upload_events").scalar()
            # SQLite: the second writer waits for the first; PostgreSQL: it need not.
            assert seen == 0 if db.is_sqlite else seen in (0, 1)
        finally:
            release.set()
            for t in threads:
                t.join(20)
        assert sorted(order) == ["first", "second"]
        if db.is_sqlite:
            assert order == ["first", "second"]
        with db.read() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM upload_events").scalar() == 2
    finally:
        db.dispose()


def test_sqlite_writers_wait_on_a_lock_not_in_the_busy_handler(sqlite_db: Database) -> None:
    """A writer waiting for another thread's write starts as soon as that one commits; SQLite's
    busy handler alone (as between processes) would have it sleep and poll, ~30 ms here."""

    def handoff() -> float:
        holding = threading.Event()
        stamps: dict[str, float] = {}

        def first() -> None:
            with sqlite_db.write() as conn:
                admin_repo.add_event(conn, _event(1))
                holding.set()
                time.sleep(0.2)  # long enough for SQLite's busy back-off to reach long sleeps
            stamps["committed"] = time.perf_counter()

        def second() -> None:
            holding.wait(10)
            with sqlite_db.write():
                stamps["began"] = time.perf_counter()

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        return stamps["began"] - stamps["committed"]

    waits = sorted(handoff() for _ in range(5))
    assert waits[2] < 0.010, waits  # the median, in seconds
