"""Secrets that may be guessed (account passwords, share-link passwords) are tried a limited
number of times per key (a user name, a link, a client address) in a window of 15 minutes.

Each attempt is counted before the secret is checked, in one transaction that locks the
counters: so many parallel guesses cannot all be checked against a limit meant for a few, on
every worker and every server behind a load balancer (the counters live in the database).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from sqlalchemy import Connection

from airlock.core import throttle
from airlock.db import sessions_repo as srepo
from airlock.db.engine import Database
from airlock.db.room import write_making_room
from airlock.errors import RateLimited

WINDOW = dt.timedelta(minutes=15)

Limits = Sequence[tuple[str, int]]  # (key, attempts allowed per window)


class Attempts:
    """Counted attempts at a secret."""

    def __init__(self, db: Database, clock: Callable[[], dt.datetime]) -> None:
        self.db = db
        self.clock = clock

    def take(self, limits: Limits, message: str) -> None:
        """Count one attempt against every key of ``limits``; ``RateLimited`` (with the
        seconds to wait, and nothing counted) when any key has used up its window."""
        now = self.clock()

        def count(conn: Connection) -> int:
            for key, _limit in limits:
                srepo.ensure_failures(conn, key, now)
            records = {key: srepo.failures(conn, key, lock=True) for key, _limit in limits}
            wait = max(
                throttle.retry_after(records[key], now, limit, WINDOW) for key, limit in limits
            )
            if wait:
                return wait
            for key, _limit in limits:
                tally, start = throttle.after_failure(_counted(records[key]), now, WINDOW)
                srepo.set_failures(conn, key, tally, start)
            return 0

        wait = write_making_room(self.db, count)
        if wait:
            raise RateLimited(message, retry_after=wait)

    def succeeded(
        self, limits: Limits, also: Callable[[Connection], None] | None = None
    ) -> None:
        """The secret was right: the first key's attempts (the account's, the link's) no
        longer count, and this attempt no longer counts against the others (an address), so
        right answers never use up an address's allowance. ``also`` runs in the same
        transaction (a sign-in's new session: one write fewer on a full disk)."""

        def refund(conn: Connection) -> None:
            first, *others = (key for key, _limit in limits)
            srepo.clear_failures(conn, first)
            for key in others:
                record = srepo.failures(conn, key, lock=True)
                if record is not None and record[0] > 0:
                    srepo.set_failures(conn, key, record[0] - 1, record[1])
            if also is not None:
                also(conn)

        write_making_room(self.db, refund)

    def collect(self, now: dt.datetime) -> None:
        """Drop the counters of finished windows (``airlock gc``)."""
        with self.db.write() as conn:
            srepo.remove_stale_failures(conn, now - WINDOW)


def _counted(record: throttle.Record) -> throttle.Record:
    # A row made by ensure_failures (0 attempts) starts a window like no row at all.
    return None if record is not None and record[0] == 0 else record
