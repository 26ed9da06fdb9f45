"""Writers: who made the bytes that no row refers to yet, and whether it is gone.

Every process that writes bytes registers under a random tag, with a lease in the database that
a heartbeat renews, and every key and staging id it makes carries that tag
(``core.ids.tagged_id``). Bytes that no File, upload or direct upload refers to are then judged
by their writer: while it lives they may be an upload under way and stay; once it is provably
gone they are a crash's leftovers and gc (or the start-up sweep) removes them at once, however
young. A writer is gone when its row is gone, when its lease lapsed (it would have renewed it),
or, seen from the same host, when its process has died.

A writer whose lease lapsed while it still ran (the database was away too long) and was retired
by gc can never renew it: it takes a new tag, and ``confirm`` refuses to write a File row for
bytes under the old one, since gc may have removed them meanwhile.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from airlock.core.ids import new_tag, tagged_id, writer_tag
from airlock.db import repo as files_repo
from airlock.db import writers_repo as repo
from airlock.db.engine import Database
from airlock.errors import Unavailable
from airlock.procs import alive

log = logging.getLogger("airlock.writers")

LEASE = dt.timedelta(seconds=60)  # how long a writer's lease lasts without renewal
BEAT_SECONDS = 10.0  # how often a live writer renews it
SKEW = dt.timedelta(seconds=30)  # how far another host's clock may be off ours


def host_identity() -> str:
    """Where this process runs, such that two processes with the same answer see each other's
    pids: the host name, the boot and the pid namespace. Ends in ``/?`` where that cannot be
    told (then pids are never compared)."""
    name = socket.gethostname()[:120]
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        pid_ns = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return f"{name}/?"
    return f"{name}/{boot}/{pid_ns}"


class Writers:
    """This process's writer tag and lease, and the judge of other writers' tags."""

    def __init__(self, db: Database, clock: Callable[[], dt.datetime]) -> None:
        self.db = db
        self.clock = clock
        self.host = host_identity()
        self._lock = threading.Lock()
        self._tag: str | None = None
        self._pid = 0  # the process ``_tag`` belongs to (a forked child needs its own)
        self._lost: set[str] = set()  # tags of ours whose row gc retired
        self._gone: set[str] = set()  # others' tags known gone: a tag never comes back
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _forked(ref))

    def new_key(self) -> str:
        """A new key or staging id under this process's tag (registering it first)."""
        return tagged_id(self.tag())

    def tag(self) -> str:
        """This process's tag, registered with a live lease."""
        pid = os.getpid()
        with self._lock:
            if self._tag is not None and self._pid == pid:
                return self._tag
            tag = self._register(pid)
            if self._pid != pid:  # the first tag of this process: it needs a heartbeat
                threading.Thread(target=_beat, args=(weakref.ref(self), pid),
                                 name="airlock-writer", daemon=True).start()  # fmt: skip
            self._tag, self._pid = tag, pid
            return tag

    def _register(self, pid: int) -> str:
        while True:
            tag, now = new_tag(), self.clock()
            try:
                with self.db.write() as conn:
                    repo.add(conn, tag, self.host, pid, now, now + LEASE)
                return tag
            except IntegrityError:  # 48 random bits met an earlier tag: draw again
                continue

    def renew(self) -> None:
        """Extend this process's lease (the heartbeat's work); a lease whose row gc retired is
        given up for a new tag at the next key."""
        with self._lock:
            tag = self._tag if self._pid == os.getpid() else None
        if tag is None:
            return
        now = self.clock()
        with self.db.write() as conn:
            if repo.renew(conn, tag, now + LEASE):
                return
        self._give_up(tag)

    def _give_up(self, tag: str) -> None:
        log.warning("writer %s lost its lease (the database was away too long); uploads under "
                    "it are refused and it goes on under a new tag", tag)  # fmt: skip
        with self._lock:
            self._lost.add(tag)
            if self._tag == tag:
                self._tag = None

    def confirm(self, conn: Connection, key: str) -> None:
        """In the transaction that writes a File row for ``key``: ``Unavailable`` when the key
        is this process's, its lease is gone (gc may have taken the bytes) and no upload's row
        holds it. Other writers' keys are a resumable upload's, which its row protects."""
        tag = writer_tag(key)
        if tag is None or (tag != self._tag and tag not in self._lost):
            return
        if tag == self._tag:
            if repo.renew(conn, tag, self.clock() + LEASE):
                return
            self._give_up(tag)
        if not files_repo.name_in_use(conn, key):
            raise Unavailable("This server lost its hold on the upload's bytes; try again.")

    def gone(self, tag: str) -> bool:
        """Whether the writer of ``tag`` is provably gone. A gone writer's row is removed
        first, so that it can never renew its lease afterwards."""
        if tag in self._gone:
            return True
        if tag == self._tag:
            return False
        now = self.clock()
        with self.db.read() as conn:
            row = repo.get(conn, tag)
        if row is not None:
            host, pid, until = row
            lapsed_before: dt.datetime | None
            if host == self.host and not host.endswith("/?") and not alive(pid):
                lapsed_before = None  # its process has died: gone whatever its lease says
            elif until < now - SKEW:
                lapsed_before = now - SKEW
            else:
                return False
            with self.db.write() as conn:
                if not repo.retire(conn, tag, lapsed_before):
                    return False  # it renewed just now
        self._gone.add(tag)
        return True

    def collect(self) -> int:
        """Remove the rows of writers whose lease lapsed; how many."""
        with self.db.write() as conn:
            return repo.retire_lapsed(conn, self.clock() - SKEW)


def _forked(ref: weakref.ref[Writers]) -> None:
    writers = ref()
    if writers is not None:
        writers._lock = threading.Lock()  # a thread of the parent may have held it


def _beat(ref: weakref.ref[Writers], pid: int) -> None:
    """Renew the lease of ``ref``'s writer until it is dropped or the process forks away."""
    while True:
        time.sleep(BEAT_SECONDS)
        writers = ref()
        if writers is None or os.getpid() != pid:
            return
        try:
            writers.renew()
        except Exception:  # a missed beat is retried; the lease has slack for several
            log.warning("could not renew the writer lease", exc_info=True)
        del writers
