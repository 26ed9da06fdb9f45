"""``airlock gc``: removes expired Files, expired share links and sessions, expired resumable and
direct uploads, old upload events, and what crashed requests left behind: staging files,
unfinished multipart uploads and stored bytes that nothing refers to, as soon as their writer
is provably gone (``airlock.writers``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from airlock.core.batches import drain
from airlock.core.ids import writer_tag
from airlock.db import direct_repo, repo
from airlock.db.records import FileRecord
from airlock.runtime import AirlockState
from airlock.storage.base import Lister

# An object that names no writer and is younger than this may belong to an upload whose row is
# being written right now.
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
    writers: int = 0
    kept_elsewhere: int = 0  # expired, in an upload set's storage this process was not given

    def lines(self) -> list[str]:
        return [
            f"expired files removed: {self.expired_files}",
            f"expired share links removed: {self.expired_links}",
            f"expired resumable and direct uploads removed: {self.expired_uploads}",
            f"expired sign-in sessions removed: {self.expired_sessions}",
            f"upload events older than 90 days removed: {self.old_events}",
            f"stale staging files removed: {self.stale_staging}",
            f"orphaned stored objects removed: {self.orphaned_objects}",
            f"leases of stopped writers removed: {self.writers}",
        ] + [
            f"expired files kept, their upload set's storage not being configured here (run "
            f"`flask airlock gc` in the host app): {self.kept_elsewhere}"
        ] * bool(self.kept_elsewhere)


def collect(st: AirlockState, now: dt.datetime | None = None) -> GcReport:
    """One garbage-collection pass; safe to run while the service serves."""
    now = now or st.service.clock()
    report = GcReport()

    stores = st.service.stores

    def expired_files() -> list[FileRecord]:
        with st.db.read() as conn:
            return repo.expired_files(conn, now, stores)

    def remove(record: FileRecord) -> bool:
        storage = st.service.storage_of(record)
        with st.db.write() as conn:
            if not repo.delete_file(conn, record.id):
                return False  # another gc removed it (and its bytes)
        for key in record.storage_keys:
            storage.delete(key)
        return True

    report.expired_files = drain(expired_files, remove)
    with st.db.read() as conn:
        report.kept_elsewhere = repo.expired_elsewhere(conn, now, stores)
    with st.db.write() as conn:
        report.expired_links = repo.delete_expired_links(conn, now)
    report.expired_uploads = st.resumable.collect(now)
    if st.direct is not None:
        report.expired_uploads += st.direct.collect(now)
    report.expired_sessions = st.sessions.collect(now)
    report.old_events = st.admin.collect(now)
    report.stale_staging, report.orphaned_objects = sweep_leftovers(st, now)
    report.writers = st.writers.collect()
    return report


class Leftovers:
    """Whether bytes that may be in flight can go (``storage.base.Removable``): never while a
    File, a resumable upload or a pending direct upload refers to them; else once their writer
    (``airlock.writers``) is provably gone, however young they are, and in any case once
    untouched since ``before`` (bytes that name no writer, such as a direct upload's, and those
    a live writer could not clean up itself, say while the store was away)."""

    def __init__(self, st: AirlockState, before: float) -> None:
        self.st = st
        self.before = before

    def __call__(self, name: str, modified: float) -> bool:
        if modified >= self.before:
            tag = writer_tag(name)
            if tag is None or not self.st.writers.gone(tag):
                return False
        # Asked last: nothing of a gone writer's can come to be referred to later, so an answer
        # of "unused" stays true; and bytes untouched that long belong to no request under way.
        with self.st.db.read() as conn:
            return not repo.name_in_use(conn, name)


def sweep_leftovers(st: AirlockState, now: dt.datetime | None = None) -> tuple[int, int]:
    """Remove what crashed requests left: bytes in flight (staging files, temp files,
    unfinished multipart uploads) and stored objects no row refers to, as ``Leftovers``
    judges them. Run by gc and when the server starts; how many of each went."""
    now = now or st.service.clock()
    staged = 0
    in_flight = Leftovers(st, now.timestamp() - st.settings.staging_max_age)
    for sweeper in st.sweepers:
        staged += sweeper.sweep(in_flight)
    orphans = 0
    # The service's storage and the upload sets' own, each swept once (sets may share one).
    storages = {id(s): s for s in (st.storage, *st.service.stores.values())}.values()
    listed = [s for s in storages if isinstance(s, Lister)]
    if listed:
        with st.db.read() as conn:  # most objects are Files': no question asked for those
            known = set(repo.all_storage_keys(conn)) | set(direct_repo.pending_keys(conn))
        stored = Leftovers(st, now.timestamp() - ORPHAN_GRACE_SECONDS)
        for storage in listed:
            for obj in storage.list():
                if obj.key not in known and stored(obj.key, obj.modified):
                    storage.delete(obj.key)
                    orphans += 1
    return staged, orphans
