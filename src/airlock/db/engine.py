"""The database handle: engine set-up (SQLite WAL + foreign keys, or PostgreSQL), transactions,
and migrations to the newest schema."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event, inspect, text
from sqlalchemy.engine import Engine, make_url

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration. Kept here so that a process whose database is up to date never loads
# Alembic (about 10 MiB per worker); a test holds it equal to Alembic's head.
SCHEMA_HEAD = "0007"
_PG_MIGRATION_LOCK = 0x41495230  # advisory-lock key, any constant


def normalize_url(url: str) -> str:
    """``postgresql://`` URLs use psycopg 3, the driver Airlock installs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class Database:
    """One engine per process. ``read()`` and ``write()`` hand out a connection inside a
    transaction that commits when the block ends and rolls back on error."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        kwargs: dict[str, Any] = {"future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=10)
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            self._sqlite_setup(self.engine)

    @staticmethod
    def _sqlite_setup(engine: Engine) -> None:
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" event below say when a transaction starts.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # A writer takes the write lock up front: a deferred transaction that reads and then
            # writes would fail at once under WAL when another writer got there first.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN")

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.info["write"] = True
            try:
                with conn.begin():
                    yield conn
            finally:
                conn.info.pop("write", None)

    def ping(self) -> None:
        """Raise unless the database answers."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    # Migrations ------------------------------------------------------------------------------

    @staticmethod
    def _alembic_config() -> Any:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        return cfg

    def current_revision(self) -> str | None:
        """The schema revision the database is at (None for an empty database)."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def head_revision(self) -> str | None:
        """The newest revision among the migration scripts (loads Alembic)."""
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    def migrate(self, lock_dir: Path | None = None) -> bool:
        """Bring the schema to the newest revision; True when anything was applied. Safe to call
        from several processes at once (a file lock for SQLite, an advisory lock for
        PostgreSQL)."""
        if self.current_revision() == SCHEMA_HEAD:
            return False
        cfg = self._alembic_config()
        if self.is_sqlite:
            lock_path = (lock_dir or Path(".")) / ".migrate.lock"
            with open(lock_path, "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    return self._upgrade(cfg)
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
        with self.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            conn.commit()
            try:
                return self._upgrade(cfg)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
                conn.commit()

    def _upgrade(self, cfg: Any) -> bool:
        from alembic import command

        if self.current_revision() == SCHEMA_HEAD:
            return False
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        return True

    def dispose(self) -> None:
        self.engine.dispose()
