"""The database handle: engine set-up (SQLite WAL + foreign keys, or PostgreSQL), transactions,
and migrations to the newest schema."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event, inspect, text
from sqlalchemy.engine import Engine, ExceptionContext, make_url
from sqlalchemy.pool import QueuePool

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration. Kept here so that a process whose database is up to date never loads
# Alembic (about 10 MiB per worker); a test holds it equal to Alembic's head.
SCHEMA_HEAD = "0013"
_PG_MIGRATION_LOCK = 0x41495230  # advisory-lock key, any constant
# How long an SQLite writer waits for the write lock (another process's, or a thread's of this
# one) before it gives up with "database is locked".
BUSY_TIMEOUT = 30
_SQLITE_READONLY = 8  # SQLite's primary result code (the low byte of an extended one)
_WRITE = "airlock_write"  # execution option of a connection opened by ``Database.write``
_READ_ONLY = "airlock_read_only"  # connection info: SQLite opened it read-only


def _sqlite_file(url: str) -> str | None:
    """The database file of an SQLite URL (None for an in-memory database)."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def _writable(path: str) -> bool:
    """Whether ``path`` could be opened for writing now (or does not exist yet), as SQLite tries
    first: when it cannot, SQLite opens the database read-only instead.

    Asked without opening the database file. Closing any descriptor of a file drops every POSIX
    lock the process holds on it, SQLite's own included: another process could then take itself
    for the database's last user, checkpoint and delete the WAL that this process goes on
    writing its commits to, unseen by anyone else. So the file's permissions are asked with
    ``access(2)``, and the filesystem with a probe file created and removed beside it (a
    read-only filesystem refuses that, whatever the permissions say)."""
    if not os.path.lexists(path):
        return True
    if not os.access(path, os.W_OK):
        return False
    probe = f"{path}.probe-{os.getpid()}-{threading.get_ident()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        # Out of space or inodes, say: SQLite's own open would still succeed.
        return exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM)
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return True


def normalize_url(url: str) -> str:
    """``postgresql://`` URLs use psycopg 3, the driver Airlock installs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pool_class(url: str) -> type[Any]:
    """The pool SQLAlchemy picks for this SQLite URL (a QueuePool for a file, a
    SingletonThreadPool for ``:memory:``); any deprecation notice is create_engine's to give."""
    parsed = make_url(url)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dialect: Any = parsed.get_dialect()  # typed as Dialect, which lacks get_pool_class
        cls: type[Any] = dialect.get_pool_class(parsed)
    return cls


class Database:
    """One engine per process. ``read()`` and ``write()`` hand out a connection inside a
    transaction that commits when the block ends and rolls back on error.

    On SQLite a committed transaction is durable (WAL with ``synchronous=FULL``: the WAL is
    fsynced at every commit), and the write transactions of one ``Database`` run one at a time,
    queued on a lock in this process (between processes SQLite's busy handler still decides)."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        # Threads of this process queue here for SQLite's single writer slot instead of polling
        # for it in SQLite's busy handler (sleeps of up to 100 ms, unfair under load). Re-entrant
        # so that a write opened inside another on the same thread behaves as it did without
        # the lock (SQLite's busy handler refuses it after the timeout) rather than hang.
        self._write_lock: threading.RLock | None = threading.RLock() if self.is_sqlite else None
        self._file = _sqlite_file(self.url) if self.is_sqlite else None
        kwargs: dict[str, Any] = {"future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": BUSY_TIMEOUT}
            if _sqlite_pool_class(self.url) is QueuePool:
                # The connection used last is handed out next: its page cache is warm, where
                # round-robin checkouts read pages again that another connection changed.
                kwargs["pool_use_lifo"] = True
        else:
            kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=10)
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            self._sqlite_setup(self.engine)

    def _file_writable(self) -> bool:
        return self._file is not None and _writable(self._file)

    def _sqlite_setup(self, engine: Engine) -> None:
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, record: Any) -> None:
            # A connection SQLite opens while its file cannot be written stays read-only for
            # life; noted so that ``write`` does not use it once the file can be (the check
            # comes just before SQLite's own open: a change in between is ``_on_error``'s).
            record.info[_READ_ONLY] = self._file is not None and not self._file_writable()
            # Let SQLAlchemy's "begin" event below say when a transaction starts.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            # FULL, not NORMAL: with WAL, NORMAL syncs the WAL only at checkpoints, so a
            # transaction committed (a File whose 201 was sent) could vanish on power loss or
            # an OS crash. FULL adds one fsync of the WAL per commit.
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT * 1000}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # A writer takes the write lock up front: a deferred transaction that reads and then
            # writes would fail at once under WAL when another writer got there first.
            write = conn.get_execution_options().get(_WRITE)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        @event.listens_for(engine, "handle_error")
        def _on_error(ctx: ExceptionContext) -> None:
            # A connection that refuses to write as read-only although its file can be written
            # now was opened while it could not (see ``_on_connect``): it is dropped, lest the
            # pool keep it. Only it, and not while the file is read-only: the pool's others
            # may be writable, and the last of a process's connections to go would take
            # SQLite's shared-memory index with it, which the next one would open read-only.
            code = getattr(ctx.original_exception, "sqlite_errorcode", None)
            if (isinstance(code, int) and code & 0xFF == _SQLITE_READONLY
                    and self._file_writable()):  # fmt: skip
                ctx.is_disconnect = True
                ctx.invalidate_pool_on_disconnect = False

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        lock = self._write_lock
        # A writer that cannot get the lock in time goes on without it, and SQLite's busy
        # handler answers as it would have without the lock.
        locked = lock is not None and lock.acquire(timeout=BUSY_TIMEOUT)
        try:
            conn, transaction = self._begin_write()
            with conn, transaction:
                yield conn
        finally:
            if locked:
                assert lock is not None
                lock.release()

    def _begin_write(self) -> tuple[Connection, Any]:
        """A connection and its write transaction, begun. A pooled SQLite connection that was
        opened read-only is dropped for a new one (each pooled one at most once, so this
        ends): writable if the file is now, and if not, its writes fail as they must."""
        while True:
            conn = self.engine.connect().execution_options(**{_WRITE: True})
            if self.is_sqlite and conn.info.get(_READ_ONLY) and self._file_writable():
                conn.invalidate()
                conn.close()
                continue
            try:
                return conn, conn.begin()
            except BaseException:
                conn.close()
                raise

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
