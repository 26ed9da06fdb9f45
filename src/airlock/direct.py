"""Direct uploads: a browser sends the bytes straight to the object store with a presigned POST
whose policy pins the key, the exact size and an expiry; the completion then inspects the object
(every check, the type from its first bytes, SHA-256 by streaming it) and makes it a File, or
deletes it and answers the rejection. Nothing is trusted that the client said about the bytes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from airlock.config import Settings
from airlock.core.batches import drain
from airlock.core.ids import new_id
from airlock.db import direct_repo as repo
from airlock.db.engine import Database
from airlock.db.records import DirectUpload, FileRecord, User
from airlock.errors import Conflict, EmptyFile, Gone, NotFound, Rejected, TooLarge
from airlock.pipeline.inspect import Inspector
from airlock.pipeline.staging import Staged
from airlock.pipeline.writer import Head, Sha256, measure
from airlock.service import Service, UploadOptions
from airlock.storage.base import PresignedPost, Presigner, Staging, Storage

# How long one completion may take before another request may try again (a 5 GB object is
# read once from the store to hash it).
CLAIM_LEASE = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class Presigned:
    upload_id: str
    post: PresignedPost


class DirectUploads:
    """The direct-upload use cases; only built when the storage can presign."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        storage: Storage,
        presigner: Presigner,
        staging: Staging,
        service: Service,
        inspector: Inspector,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.settings = settings
        self.db = db
        self.storage = storage
        self.presigner = presigner
        self.staging = staging  # where the object sits until it is a File's (in the store)
        self.service = service
        self.inspector = inspector
        self.clock = clock

    def presign(
        self, user: User, name: str, size: int, visibility: str = "private",
        expires_in: int | None = None,
    ) -> Presigned:  # fmt: skip
        """A presigned POST for one file of ``size`` bytes named ``name``, to become a File of
        ``visibility`` expiring ``expires_in`` seconds after it is stored (None: never). What
        can be refused before any byte (too large, empty, a disallowed extension, over quota)
        is refused now."""
        opts = UploadOptions(visibility, expires_in)
        try:
            if size > self.settings.max_file_size:
                raise TooLarge(
                    f"The file exceeds the limit of {self.settings.max_file_size} bytes.",
                    limit=self.settings.max_file_size,
                )
            if size == 0:
                raise EmptyFile()
            self.inspector.check_name(name)
            self.service.check_quota(user, size)
        except Rejected as exc:
            self.service.record_rejection(user, name, exc)
            raise
        upload_id, key = new_id(), new_id()
        lifetime = self.settings.presign_lifetime
        post = self.presigner.presign_post(key, size, lifetime)
        now = self.clock()
        with self.db.write() as conn:
            repo.add(
                conn, id=upload_id, owner_id=user.id, storage_key=key, filename=name, size=size,
                visibility=opts.visibility, file_expires_in=opts.expires_in, created_at=now,
                # Kept a while past the POST's own expiry, for a completion that comes late.
                expires_at=now + dt.timedelta(seconds=2 * lifetime),
            )  # fmt: skip
        return Presigned(upload_id, post)

    def complete(self, user: User, upload_id: str) -> tuple[FileRecord, bool]:
        """Inspect the uploaded object and make it a File: the File, and whether this call made
        it (a second completion answers the File the first one made). A rejection deletes the
        object and the upload; an upload of someone else is ``NotFound``."""
        with self.db.read() as conn:
            upload = repo.get(conn, upload_id)
        if upload is None or upload.owner_id != user.id:
            raise NotFound("No such upload.")
        if upload.file_id is not None:
            return self.service.get_file(user, upload.file_id), False
        now = self.clock()
        if upload.expires_at <= now:
            self._drop(upload.id, upload.storage_key)
            raise Gone("This upload has expired.")
        with self.db.write() as conn:
            if not repo.claim(conn, upload.id, now, now + CLAIM_LEASE):
                raise Conflict("This upload is being completed by another request.")
        try:
            stat = self.storage.stat(upload.storage_key)
            if stat is None:
                raise Conflict("Nothing has been uploaded for this upload yet.")
            staged = self._measure(upload.storage_key)
            opts = UploadOptions(upload.visibility, upload.file_expires_in)
            try:
                record = self.service.store(user, staged, upload.filename, opts)
            except Rejected:
                with self.db.write() as conn:
                    repo.remove(conn, upload.id)
                raise
            with self.db.write() as conn:
                repo.finish(conn, upload.id, record.id)
            return record, True
        except BaseException:
            with self.db.write() as conn:
                repo.release(conn, upload.id)
            raise

    def _measure(self, key: str) -> Staged:
        """Size, SHA-256 and head of the object, in one streamed read of it (which also feeds
        the malware scan, when scanning is on)."""
        head, sha = Head(), Sha256()
        scanning = self.service.scanning
        scan = scanning.start() if scanning is not None else None
        try:
            with self.storage.open(key) as stream:
                size = measure(stream, (head, sha) if scan is None else (head, sha, scan))
        except BaseException:
            if scan is not None:
                scan.cancel()
            raise
        if scan is not None:
            scan.finish()
        return Staged(self.staging, key, size, sha.hexdigest(), head.value, scan)

    def _drop(self, upload_id: str, key: str) -> bool:
        """Remove the upload and its object; False when another request removed it first."""
        with self.db.write() as conn:
            if not repo.remove(conn, upload_id):
                return False
        self.storage.delete(key)
        return True

    def collect(self, now: dt.datetime) -> int:
        """Remove expired direct uploads; the objects of those never completed go too."""

        def expired() -> list[DirectUpload]:
            with self.db.read() as conn:
                return repo.expired(conn, now)

        def remove(upload: DirectUpload) -> bool:
            if upload.file_id is None:
                return self._drop(upload.id, upload.storage_key)
            with self.db.write() as conn:  # the object is the File's now: only the row goes
                return repo.remove(conn, upload.id)

        return drain(expired, remove)
