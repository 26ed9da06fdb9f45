"""Leases on resumable uploads, kept alive by a heartbeat.

A request that writes to an upload holds a lease in the upload's database row, so two PATCHes
never interleave on any worker of any server sharing the database. The lease is short; one
heartbeat thread per process renews every lease its requests hold, as long as each shows signs
of life (bytes arriving, or checks running). So a lease whose process died lapses within
``LEASE`` and another request takes over within seconds, while a live request keeps its lease
however long it runs; a client that stalls lets its lease lapse after ``STALL``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from airlock.core.ids import new_id
from airlock.db import uploads_repo as repo
from airlock.db.engine import Database
from airlock.errors import Conflict

log = logging.getLogger("airlock.leases")

LEASE = dt.timedelta(seconds=10)  # how long a lease lasts without renewal
BEAT_SECONDS = 2.0  # how often the heartbeat renews
STALL_SECONDS = 20.0  # a holder without a sign of life for this long is not renewed


@dataclass
class Lease:
    """One held lease. ``alive()`` is the holder's sign of life; ``pinned`` keeps it renewed
    while the holder works without bytes arriving (running the checks); ``lost`` is set when
    someone else holds the row now (ours had lapsed)."""

    upload_id: str
    token: str = field(default_factory=new_id)
    seen: float = field(default_factory=time.monotonic)
    pinned: bool = False
    lost: bool = False

    def alive(self) -> None:
        self.seen = time.monotonic()

    def check(self) -> None:
        """``Conflict`` once another request has taken the upload over."""
        if self.lost:
            raise Conflict("Another request took over this upload.")


class Leases:
    """The leases this process holds, and their heartbeat (a thread that runs only while any
    lease is held)."""

    def __init__(self, db: Database, clock: Callable[[], dt.datetime]) -> None:
        self.db = db
        self.clock = clock
        self._held: dict[str, Lease] = {}
        self._lock = threading.Lock()
        self._beating = False

    @contextmanager
    def hold(self, upload_id: str) -> Iterator[Lease]:
        """Take the upload's lease for the duration (``Conflict`` when another live request
        holds it), keep it alive, and release it afterwards."""
        lease = Lease(upload_id)
        now = self.clock()
        with self.db.write() as conn:
            if not repo.acquire(conn, upload_id, lease.token, now, now + LEASE):
                raise Conflict("Another request is writing to this upload.")
        with self._lock:
            self._held[lease.token] = lease
            if not self._beating:
                self._beating = True
                threading.Thread(target=self._beat, name="airlock-leases", daemon=True).start()
        try:
            yield lease
        finally:
            with self._lock:
                self._held.pop(lease.token, None)
            with self.db.write() as conn:
                repo.release(conn, upload_id, lease.token)

    def _beat(self) -> None:
        while True:
            time.sleep(BEAT_SECONDS)
            with self._lock:
                held = list(self._held.values())
                if not held:
                    self._beating = False
                    return
            now, mono = self.clock(), time.monotonic()
            for lease in held:
                if lease.lost or not (lease.pinned or mono - lease.seen < STALL_SECONDS):
                    continue
                try:
                    with self.db.write() as conn:
                        if not repo.extend(conn, lease.upload_id, lease.token, now + LEASE):
                            lease.lost = True
                except Exception:  # a missed beat is retried; the lease has slack for it
                    log.warning("could not renew the lease of upload %s", lease.upload_id,
                                exc_info=True)  # fmt: skip
