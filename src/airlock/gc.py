"""``airlock gc``: removes expired Files, expired share links and sessions, stale staging files,
old upload events and bytes that no File refers to."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from airlock.db import repo
from airlock.storage.base import Lister
from airlock.storage.local import LocalStorage
from airlock.runtime import AirlockState

# An object younger than this may belong to an upload whose row is being written right now.
ORPHAN_GRACE_SECONDS = 3600


@dataclass
class GcReport:
    expired_files: int = 0
    expired_links: int = 0
    expired_uploads: int = 0
    expired_sessions: int = 0
    old_events: int = 0
    stale_staging: int = 0
    orphaned_objects: int = 0

    def lines(self) -> list[str]:
        return [
            f"expired files removed: {self.expired_files}",
            f"expired share links removed: {self.expired_links}",
            f"expired resumable uploads removed: {self.expired_uploads}",
            f"expired sign-in sessions removed: {self.expired_sessions}",
            f"upload events older than 90 days removed: {self.old_events}",
            f"stale staging files removed: {self.stale_staging}",
            f"orphaned stored objects removed: {self.orphaned_objects}",
        ]


def collect(st: AirlockState, now: dt.datetime | None = None) -> GcReport:
    """One garbage-collection pass; safe to run while the service serves."""
    now = now or dt.datetime.now(dt.UTC)
    report = GcReport()
    while True:
        with st.db.read() as conn:
            batch = repo.expired_files(conn, now)
        if not batch:
            break
        for record in batch:
            with st.db.write() as conn:
                repo.delete_file(conn, record.id)
            for key in record.storage_keys:
                st.storage.delete(key)
            report.expired_files += 1
    with st.db.write() as conn:
        report.expired_links = repo.delete_expired_links(conn, now)
    report.expired_uploads = st.resumable.collect(now)
    report.expired_sessions = st.sessions.collect(now)
    report.old_events = st.admin.collect(now)
    for path in st.staging.stale(st.settings.staging_max_age, now.timestamp()):
        path.unlink(missing_ok=True)
        report.stale_staging += 1
    if isinstance(st.storage, Lister):
        with st.db.read() as conn:
            known = set(repo.all_storage_keys(conn))
        cutoff = now.timestamp() - ORPHAN_GRACE_SECONDS
        for obj in st.storage.list():
            if obj.key in known or obj.modified > cutoff:
                continue
            if isinstance(st.storage, LocalStorage) and obj.key.endswith(".tmp"):
                st.storage.remove_temp(obj.key)
            else:
                with st.db.read() as conn:  # re-check: a commit may have landed meanwhile
                    if repo.has_storage_key(conn, obj.key):
                        continue
                st.storage.delete(obj.key)
            report.orphaned_objects += 1
    return report
