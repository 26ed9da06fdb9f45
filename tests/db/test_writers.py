"""Writer leases (``airlock.writers``): whose bytes are a crash's leftovers, on SQLite and on
PostgreSQL, with real processes that live and die."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from airlock.accounts import Accounts
from airlock.core.ids import tagged_id, writer_tag
from airlock.db import uploads_repo, writers_repo
from airlock.db.engine import Database
from airlock.errors import Unavailable
from airlock.writers import LEASE, SKEW, Writers


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def db(database_url: str, tmp_path: Path) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate(lock_dir=tmp_path)
    yield database
    database.dispose()


def test_keys_carry_the_tag_of_the_process_that_made_them(db: Database) -> None:
    writers = Writers(db, Clock())
    key, other = writers.new_key(), writers.new_key()
    assert key != other and len(key) == 32
    assert writer_tag(key) == writer_tag(other) == writers.tag()
    assert writer_tag(key + "_t") == writers.tag()  # a thumbnail's key names the same writer
    judge = Writers(db, Clock())
    assert not judge.gone(writers.tag())  # alive: its bytes may be an upload under way


def test_a_writer_whose_process_died_is_gone_at_once(db: Database, database_url: str) -> None:
    # A real process registers, makes a key and is killed; its lease has not lapsed.
    script = textwrap.dedent(f"""
        import os, sys
        from airlock.db.engine import Database
        from airlock.writers import Writers
        from airlock.service import utcnow
        print(Writers(Database({database_url!r}), utcnow).new_key(), flush=True)
        os.kill(os.getpid(), 9)
    """)
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           timeout=60, env={**os.environ})  # fmt: skip
    assert child.returncode == -9, child.stderr
    tag = writer_tag(child.stdout.strip())
    assert tag is not None
    judge = Writers(db, lambda: dt.datetime.now(dt.UTC))
    assert judge.gone(tag)
    with db.read() as conn:
        assert writers_repo.get(conn, tag) is None  # retired: it can never renew


def test_a_writer_elsewhere_is_gone_only_once_its_lease_lapsed(db: Database) -> None:
    clock = Clock()
    with db.write() as conn:  # a writer on another host: its pid tells us nothing
        writers_repo.add(conn, "elsewhr1", "other-host/boot/1", os.getpid(), clock.now,
                         clock.now + LEASE)  # fmt: skip
    judge = Writers(db, clock)
    clock.now += LEASE + SKEW - dt.timedelta(seconds=1)
    assert not judge.gone("elsewhr1")  # within the lease and the clock skew allowed
    clock.now += dt.timedelta(seconds=2)
    assert judge.gone("elsewhr1")
    assert judge.gone("never-registered")  # no row: no writer ever had it, or it was retired


def test_a_writer_that_lost_its_lease_cannot_commit_under_it(db: Database) -> None:
    clock = Clock()
    writer = Writers(db, clock)
    key = writer.new_key()
    old = writer.tag()
    with db.write() as conn:  # its own key, its lease live: the File row may be written
        writer.confirm(conn, key)
    with db.write() as conn:  # it moves the writer to another host, as gc would see it
        conn.execute(writers_repo.t.update().values(host="other-host/boot/1"))
    clock.now += LEASE + SKEW + dt.timedelta(seconds=1)  # the database was away that long
    judge = Writers(db, clock)
    assert judge.gone(old)
    writer.renew()  # the heartbeat finds the lease gone and gives it up
    with pytest.raises(Unavailable), db.write() as conn:
        writer.confirm(conn, key)  # gc may have removed these bytes: no File for them
    resumable = tagged_id(old)  # a tus upload's id under the lost tag: its row holds the bytes
    user = Accounts(db, clock).add_user("ann", None)
    with db.write() as conn:
        uploads_repo.add(conn, id=resumable, owner_id=user.id, length=5, offset=5, metadata="",
                         filename="a.txt", visibility="private", concat="", parts="",
                         head_checked=True, created_at=clock.now, expires_at=clock.now + LEASE)
    with db.write() as conn:
        writer.confirm(conn, resumable)
    assert writer.tag() != old  # new keys go under a new, live tag
    assert not judge.gone(writer.tag())
    with db.write() as conn:  # keys of other writers are a resumable upload's: not refused
        writer.confirm(conn, tagged_id("someone1"))


def test_collect_retires_only_lapsed_leases(db: Database) -> None:
    clock = Clock()
    live = Writers(db, clock)
    live.tag()
    with db.write() as conn:
        writers_repo.add(conn, "lapsed01", "other-host/boot/1", 1, clock.now - 3 * LEASE,
                         clock.now - 2 * LEASE)  # fmt: skip
    assert Writers(db, clock).collect() == 1
    with db.read() as conn:
        assert writers_repo.get(conn, live.tag()) is not None
