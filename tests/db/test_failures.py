"""``db.failures.translate`` on failures really raised: SQLite on a full 4 MiB tmpfs (mounted
by the test, root only) and on a read-only file, PostgreSQL unreachable, and PostgreSQL
refusing a bad statement (a bug: no translation); and a pool of SQLite connections across its
files turning read-only and back (through ``tests.support.rofs``, root only)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from airlock.db.engine import Database
from airlock.db.failures import translate
from airlock.errors import StorageFull, Unavailable
from tests.support.rofs import ReadOnlySwitch


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs, unmounted afterwards."""
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_sqlite_out_of_space_is_storage_full(small_fs: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{small_fs / 'full.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (b BLOB)"))
    with pytest.raises(sa.exc.DBAPIError) as info, engine.begin() as conn:
        for _ in range(100):
            conn.execute(sa.text("INSERT INTO t VALUES (:b)"), {"b": os.urandom(256 * 1024)})
    engine.dispose()
    assert "full" in str(info.value.orig)
    assert isinstance(translate(info.value), StorageFull)


def test_sqlite_read_only_is_an_outage(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
    engine.dispose()
    ro = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(sa.exc.DBAPIError) as info, ro.begin() as conn:
        conn.execute(sa.text("INSERT INTO t VALUES (1)"))
    ro.dispose()
    assert "readonly" in str(info.value.orig)
    translated = translate(info.value)
    assert isinstance(translated, Unavailable) and translated.status == 503


def test_postgres_unreachable_is_an_outage() -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused.
    engine = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:9/test")
    with pytest.raises(sa.exc.DBAPIError) as info, engine.connect():
        pass
    assert isinstance(translate(info.value), Unavailable)


@pytest.mark.postgres
def test_postgres_bad_statement_is_a_bug(pg_url: str) -> None:
    engine = sa.create_engine(pg_url)
    with pytest.raises(sa.exc.DBAPIError) as info, engine.connect() as conn:
        conn.execute(sa.text("SELECT * FROM no_such_table"))
    engine.dispose()
    assert translate(info.value) is None


def test_sqlite_bad_statement_is_a_bug(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(sa.exc.DBAPIError) as info, engine.connect() as conn:
        conn.execute(sa.text("SELECT * FROM no_such_table"))
    engine.dispose()
    assert translate(info.value) is None


@pytest.fixture
def switch(tmp_path: Path) -> Iterator[tuple[ReadOnlySwitch, Path]]:
    """A directory that turns read-only under open files (``tests.support.rofs``, root only)."""
    backing, mount = tmp_path / "backing", tmp_path / "db"
    backing.mkdir()
    mount.mkdir()
    with ReadOnlySwitch(backing, mount) as fs:
        yield fs, mount


def test_sqlite_connections_opened_read_only_are_not_kept_for_writes(
    switch: tuple[ReadOnlySwitch, Path],
) -> None:
    fs, mount = switch
    db = Database(f"sqlite:///{mount / 'x.db'}")
    try:
        with db.write() as conn:
            conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
        fs.set_read_only(True)
        # Three at once: the pool opens new connections, which SQLite opens read-only.
        held = [db.read() for _ in range(3)]
        counts = [cm.__enter__().execute(sa.text("SELECT count(*) FROM t")).scalar()
                  for cm in held]  # fmt: skip
        for cm in held:
            cm.__exit__(None, None, None)
        assert counts == [0, 0, 0]
        with pytest.raises(sa.exc.DBAPIError) as info, db.write() as conn:
            conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        assert isinstance(translate(info.value), Unavailable)
        fs.set_read_only(False)
        # Writable again: every write works, whichever pooled connection it is handed.
        for i in range(6):
            with db.write() as conn:
                conn.execute(sa.text("INSERT INTO t VALUES (:i)"), {"i": i})
        with db.read() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar() == 6
    finally:
        db.dispose()
