"""``airlock rescan``: scan stored Files again, after a signature update, and quarantine what
the scanner now flags. Files are read from storage one at a time in 1 MiB chunks (memory does
not grow with their number or size), in the order they were stored, at no more than a given
rate, so a rescan of a large store does not starve the live uploads of the disk or of clamd.

A quarantined File keeps its row and bytes: its owner and admins see why (the File's
``quarantine``), every route that would serve its bytes answers ``410 gone``, and gc's expiry
passes it by until an admin deletes it or releases it (``airlock quarantine release``,
``POST /api/v1/admin/files/{id}/release``). A released File is scanned again by the next
rescan like any other.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from airlock.db import repo
from airlock.errors import ConfigError
from airlock.runtime import AirlockState
from airlock.scan.clamd import ClamdError

log = logging.getLogger("airlock.rescan")
PAGE = 100


@dataclass
class RescanReport:
    """What a rescan did."""

    scanned: int = 0
    bytes: int = 0
    quarantined: list[tuple[str, str, str]] = field(default_factory=list)  # id, name, signature
    failed: list[tuple[str, str]] = field(default_factory=list)  # id, why

    def lines(self) -> list[str]:
        out = [f"quarantined {fid} {name!r}: {sig}" for fid, name, sig in self.quarantined]
        out += [f"not scanned {fid}: {why}" for fid, why in self.failed]
        out.append(
            f"rescanned {self.scanned} files ({self.bytes} bytes): {len(self.quarantined)} "
            f"quarantined, {len(self.failed)} could not be scanned"
        )
        return out


def rescan(
    st: AirlockState, since: dt.datetime | None, rate: int,
    clock: Callable[[], dt.datetime], sleep: Callable[[float], None] = time.sleep,
) -> RescanReport:  # fmt: skip
    """Scan every File stored at or after ``since`` (all when None), reading at most ``rate``
    bytes per second (0: as fast as clamd takes them)."""
    scanning = st.service.scanning
    if scanning is None:
        raise ConfigError("airlock rescan needs scanning: set AIRLOCK_SCAN and AIRLOCK_CLAMD.")
    report = RescanReport()
    started = time.monotonic()
    after: tuple[dt.datetime, str] | None = None
    while True:
        with st.db.read() as conn:
            page = repo.files_to_rescan(conn, since, after, PAGE)
        if not page:
            return report
        for record in page:
            after = (record.created_at, record.id)
            if record.store is not None and record.store not in st.service.stores:
                report.failed.append((record.id, f"in upload set {record.store!r}'s storage, "
                                      "not configured here: run `flask airlock rescan`"))
                continue
            try:
                storage = st.service.storage_of(record)
                verdict = scanning.scan(storage.open(record.storage_key))
            except (ClamdError, FileNotFoundError) as exc:
                report.failed.append((record.id, str(exc) or type(exc).__name__))
                continue
            report.scanned += 1
            report.bytes += record.size
            if verdict.signature is not None:
                with st.db.write() as conn:
                    repo.quarantine_file(conn, record.id, clock(), verdict.signature)
                log.warning("file %s quarantined: %s", record.id, verdict.signature)
                report.quarantined.append((record.id, record.name, verdict.signature))
            if rate:  # pace: never ahead of ``rate`` bytes per second
                ahead = report.bytes / rate - (time.monotonic() - started)
                if ahead > 0:
                    sleep(ahead)
