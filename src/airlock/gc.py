"""``airlock gc``: removes expired Files, expired share links and sessions, expired resumable and
direct uploads, stale staging files and unfinished multipart uploads, old upload events and
bytes that no File (nor a direct upload still waiting for its completion) refers to."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from airlock.core.batches import drain
from airlock.db import direct_repo, repo
from airlock.db.records import FileRecord
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
            f"expired resumable and direct uploads removed: {self.expired_uploads}",
            f"expired sign-in sessions removed: {self.expired_sessions}",
            f"upload events older than 90 days removed: {self.old_events}",
            f"stale staging files removed: {self.stale_staging}",
            f"orphaned stored objects removed: {self.orphaned_objects}",
        ]


def collect(st: AirlockState, now: dt.datetime | None = None) -> GcReport:
    """One garbage-collection pass; safe to run while the service serves."""
    now = now or st.service.clock()
    report = GcReport()

    def expired_files() -> list[FileRecord]:
        with st.db.read() as conn:
            return repo.expired_files(conn, now)

    def remove(record: FileRecord) -> bool:
        with st.db.write() as conn:
            if not repo.delete_file(conn, record.id):
                return False  # another gc removed it (and its bytes)
        for key in record.storage_keys:
            st.storage.delete(key)
        return True

    report.expired_files = drain(expired_files, remove)
    with st.db.write() as conn:
        report.expired_links = repo.delete_expired_links(conn, now)
    report.expired_uploads = st.resumable.collect(now)
    if st.direct is not None:
        report.expired_uploads += st.direct.collect(now)
    report.expired_sessions = st.sessions.collect(now)
    report.old_events = st.admin.collect(now)
    stale_before = now.timestamp() - st.settings.staging_max_age
    for sweeper in st.sweepers:
        report.stale_staging += sweeper.sweep(stale_before)
    if st.caps.lister is not None:
        with st.db.read() as conn:
            known = set(repo.all_storage_keys(conn)) | set(direct_repo.pending_keys(conn))
        cutoff = now.timestamp() - ORPHAN_GRACE_SECONDS
        for obj in st.caps.lister.list():
            if obj.key in known or obj.modified > cutoff:
                continue
            with st.db.read() as conn:  # re-check: a commit may have landed meanwhile
                if repo.has_storage_key(conn, obj.key) or direct_repo.is_pending_key(conn, obj.key):
                    continue
            st.storage.delete(obj.key)
            report.orphaned_objects += 1
    return report

