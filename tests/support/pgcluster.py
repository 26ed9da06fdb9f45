"""A private PostgreSQL cluster for one test: Debian's PostgreSQL 15 binaries run as the
``postgres`` OS user in a temp dir of its own, on a free port of 127.0.0.1 only (its socket in
that dir, trust authentication), so a test may stop and start it without touching the
machine's shared server on 5432.

    with PgCluster.create() as pg:          # initdb and start
        url = pg.url("airlock")             # a new database on it
        pg.restart(down=1.5)                # stop the server process, wait, start it again
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from tests.support.server import free_port

BIN = Path("/usr/lib/postgresql/15/bin")
OS_USER = "postgres"


def _as_postgres(*args: str, timeout: float = 60) -> str:
    """Run a PostgreSQL binary as the ``postgres`` OS user (PostgreSQL refuses to run as root);
    its stdout, raising with its stderr on failure."""
    result = subprocess.run(
        ["runuser", "-u", OS_USER, "--", *args],
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"{Path(args[0]).name} failed ({result.returncode}): "
                           f"{result.stderr or result.stdout}")  # fmt: skip
    return result.stdout


@dataclass
class PgCluster:
    """One private cluster: ``root`` (owned by ``postgres``) holds its data dir, socket and
    log."""

    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @classmethod
    def create(cls) -> PgCluster:
        """initdb a new cluster in a new temp dir and start it (cleaned up again on failure)."""
        # Not below pytest's tmp dirs: those are root's, mode 0700, closed to ``postgres``.
        root = Path(tempfile.mkdtemp(prefix="airlock-pg-"))
        user = pwd.getpwnam(OS_USER)
        os.chown(root, user.pw_uid, user.pw_gid)
        cluster = cls(root, free_port())
        try:
            _as_postgres(str(BIN / "initdb"), "-D", str(cluster.data), "-U", "postgres",
                         "-A", "trust", "-E", "UTF8", "--no-sync", timeout=120)  # fmt: skip
            with open(cluster.data / "postgresql.conf", "a") as conf:
                conf.write(
                    "\n# airlock tests: a private server on loopback only\n"
                    "listen_addresses = '127.0.0.1'\n"
                    f"port = {cluster.port}\n"
                    f"unix_socket_directories = '{root}'\n"
                    "max_connections = 100\n"
                    # The tests restart the server cleanly (a shutdown checkpoint); they do not
                    # crash the machine, so the shared disk is spared the fsyncs.
                    "fsync = off\n"
                )
            cluster.start()
        except BaseException:
            cluster.destroy()
            raise
        return cluster

    def __enter__(self) -> PgCluster:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.destroy()

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        _as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                     "-w", "-t", "60", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: roll back open transactions, close every connection)
        and wait until its process is gone."""
        _as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60",
                     "stop")  # fmt: skip

    def pid(self) -> int:
        """The postmaster's process id (first line of ``postmaster.pid``)."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def restart(self, down: float = 1.0) -> tuple[float, float]:
        """Stop the server process, keep it down ``down`` seconds, start it again. Returns
        ``(stopped_at, accepting_at)``, ``time.monotonic()`` values."""
        self.stop()
        stopped_at = time.monotonic()
        time.sleep(down)
        self.start()
        return stopped_at, time.monotonic()

    def url(self, database: str = "postgres") -> str:
        """An SQLAlchemy URL for ``database`` on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create ``name`` and return its URL."""
        _as_postgres(str(BIN / "psql"), "-h", str(self.root), "-p", str(self.port),
                     "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q",
                     "-c", f'CREATE DATABASE "{name}"')  # fmt: skip
        return self.url(name)

    def destroy(self) -> None:
        """Stop the server if it runs (``immediate`` when a fast stop fails) and delete the
        cluster's directory."""
        try:
            if (self.data / "postmaster.pid").exists():
                try:
                    self.stop()
                except (RuntimeError, subprocess.TimeoutExpired):
                    self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
