"""Resumable uploads (tus 1.0.0): creation, appending, concatenation, termination, expiry.

Upload state lives in the database and the staging directory, never in a worker's memory, so
any worker (of any app server sharing the database and storage) can take any request. Two
PATCHes on one upload never interleave: each holds a lease in the upload's row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from airlock.config import Settings
from airlock.core.batches import drain
from airlock.core.sha256_state import AVAILABLE, ResumableSha256
from airlock.core.tus import Checksum, Concat, parse_metadata
from airlock.db import uploads_repo as repo
from airlock.db.engine import Database
from airlock.db.records import Drop, FileRecord, Upload, User
from airlock.errors import (
    AirlockError,
    BadRequest,
    ChecksumMismatch,
    Conflict,
    Forbidden,
    Gone,
    NotFound,
    Rejected,
    TooLarge,
)
from airlock.leases import Lease, Leases
from airlock.pipeline.inspect import Inspector
from airlock.pipeline.staging import Staged
from airlock.pipeline.writer import HEAD_BYTES, Head, Pumped, Sha256, Writer, measure, pump
from airlock.service import Service, UploadOptions
from airlock.storage.base import Staging

DURABLE_EVERY = 8 * 1024 * 1024  # a running PATCH makes its bytes durable this often


@dataclass(frozen=True)
class Outcome:
    """An upload after a request: its state, and the File it became (if it just did)."""

    upload: Upload
    file: FileRecord | None = None


class Resumable:
    """The tus use cases. Errors are Airlock errors; a rejection deletes the upload."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        staging: Staging,
        service: Service,
        inspector: Inspector,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.settings = settings
        self.db = db
        self.staging = staging
        self.service = service
        self.inspector = inspector
        self.clock = clock
        self.leases = Leases(db, clock)

    def _expiry(self) -> dt.datetime:
        return self.clock() + dt.timedelta(seconds=self.settings.staging_max_age)

    # Creation --------------------------------------------------------------------------------

    def create(
        self,
        user: User,
        length: int | None,
        metadata_header: str,
        concat: Concat | None,
        drop: Drop | None = None,
    ) -> Upload:
        """A new, empty upload (``length`` None: deferred), through the drop link ``drop`` if
        given (then private, and only through it may it go on). Refuses at once what could
        never pass: too large (for the drop link too), over quota, a disallowed extension."""
        metadata = parse_metadata(metadata_header)
        opts = UploadOptions.parse(metadata.get("visibility"), metadata.get("expires_in"))
        if drop is not None:
            opts = UploadOptions()
        filename = metadata.get("filename", "")
        if concat is not None and concat.kind == "final":
            raise BadRequest("A final upload is created with its parts.")
        try:
            if length is not None:
                self._check_length(length)
                if drop is not None and drop.room() is not None and length > (drop.room() or 0):
                    raise TooLarge(f"This drop link takes {drop.room()} more bytes.",
                                   limit=drop.room())  # fmt: skip
                if concat is None:
                    self.service.check_quota(user, length)
            if filename and concat is None:
                self.inspector.check_name(filename)
        except Rejected as exc:
            self.service.record_rejection(user, filename or "upload", exc)
            raise
        now = self.clock()
        upload_id = self.staging.create()
        try:
            with self.db.write() as conn:
                repo.add(
                    conn, id=upload_id, owner_id=user.id, length=length, offset=0,
                    metadata=metadata_header or "", filename=filename,
                    visibility=opts.visibility, concat=concat.kind if concat else "", parts="",
                    head_checked=False, created_at=now, expires_at=self._expiry(),
                    drop_id=drop.id if drop is not None else None,
                )  # fmt: skip
                upload = repo.get(conn, upload_id)
        except BaseException:  # no row (the database is full or away): no bytes either
            self.staging.discard(upload_id)
            raise
        assert upload is not None
        return upload

    def _check_length(self, length: int) -> None:
        if length > self.settings.max_file_size:
            raise TooLarge(
                f"The upload exceeds the limit of {self.settings.max_file_size} bytes.",
                limit=self.settings.max_file_size,
            )

    def create_final(
        self, user: User, metadata_header: str, concat: Concat, drop: Drop | None = None
    ) -> Outcome:
        """A final upload joining finished partial uploads of the caller (made through the
        same drop link, if any), in order; its checks run at once. The partial uploads are
        consumed either way."""
        metadata = parse_metadata(metadata_header)
        opts = UploadOptions.parse(metadata.get("visibility"), metadata.get("expires_in"))
        if drop is not None:
            opts = UploadOptions()
        filename = metadata.get("filename", "")
        parts = [self._visible(user, pid, drop) for pid in concat.parts]
        for part in parts:
            if part.concat != "partial":
                raise BadRequest("Upload-Concat: final may only join partial uploads.")
            if not part.complete:
                raise BadRequest("A partial upload named in Upload-Concat is not finished yet.")
        total = sum(p.length or 0 for p in parts)
        self._check_length(total)
        now = self.clock()
        upload_id = self.staging.create()
        try:
            self.staging.concatenate(upload_id, [p.id for p in parts])
        except BaseException:
            self.staging.discard(upload_id)
            raise
        try:
            with self.db.write() as conn:
                repo.add(
                    conn, id=upload_id, owner_id=user.id, length=total, offset=total,
                    metadata=metadata_header or "", filename=filename,
                    visibility=opts.visibility, concat="final",
                    parts=" ".join(p.id for p in parts), head_checked=True, created_at=now,
                    expires_at=self._expiry(), drop_id=drop.id if drop is not None else None,
                )  # fmt: skip
                for part in parts:
                    repo.remove(conn, part.id)
                upload = repo.get(conn, upload_id)
        except BaseException:  # the parts stay as they were; the joined copy goes
            self.staging.discard(upload_id)
            raise
        for part in parts:
            self.staging.discard(part.id)
        assert upload is not None
        return Outcome(upload, self._complete(user, upload))

    # Reading state ---------------------------------------------------------------------------

    def _visible(self, user: User, upload_id: str, drop: Drop | None = None) -> Upload:
        """The caller's upload, made through the drop link ``drop`` (None: not through one);
        others' are ``NotFound``, expired ones ``Gone``."""
        with self.db.read() as conn:
            upload = repo.get(conn, upload_id)
        drop_id = drop.id if drop is not None else None
        if upload is None or upload.owner_id != user.id or upload.drop_id != drop_id:
            raise NotFound("No such upload.")
        if upload.expires_at <= self.clock():
            self._delete(upload.id)
            raise Gone("This upload has expired.")
        return upload

    def _reconcile(self, upload: Upload, token: str | None = None) -> Upload:
        """Trust the shorter of the remembered offset and the staging file: appends are not
        fsynced one by one, so after a machine crash the file may hold less than was
        acknowledged, and the client must send that tail again. Only for an upload nobody is
        working on (its lock held by the caller, or by no one)."""
        if upload.file_id is not None or upload.concat == "final":
            return upload
        size = self.staging.size(upload.id)
        if size >= upload.offset:
            return upload
        with self.db.write() as conn:
            # Only if still untouched: a request may have taken the upload meanwhile.
            if not repo.shrink_offset(
                conn, upload.id, upload.offset, size, self.clock(), token
            ):
                return upload
        return dataclasses.replace(upload, offset=size, sha256_state=None)

    def status(self, user: User, upload_id: str, drop: Drop | None = None) -> Upload:
        """The upload's state for HEAD (a finished one carries ``file_id``), at once: HEAD
        never waits for another request. While a PATCH is running this is the offset it last
        made durable; the offset reaches the length only with the File (the PATCH that brings
        the last byte records it once every check has passed), so no client is told an upload
        is complete that may yet be refused. A client that sends from an offset a running
        PATCH is past meets a ``Conflict`` naming the true one once that PATCH ends."""
        upload = self._visible(user, upload_id, drop)
        if upload.file_id is not None:
            return upload
        with self.db.read() as conn:
            locked = repo.is_locked(conn, upload_id, self.clock())
        return upload if locked else self._reconcile(upload)

    # Appending -------------------------------------------------------------------------------

    def patch(
        self,
        user: User,
        upload_id: str,
        offset: int,
        length: int | None,
        checksum: Checksum | None,
        chunks: Iterable[bytes],
        drop: Drop | None = None,
    ) -> Outcome:
        """Append a body at ``offset``; the request that brings the last byte runs every check
        and makes the File. ``Conflict`` for a wrong offset or a concurrent PATCH."""
        upload = self._visible(user, upload_id, drop)
        if upload.concat == "final":
            raise Forbidden("A final upload cannot be patched.")
        if upload.file_id is not None:
            raise Conflict("This upload is finished.", file_id=upload.file_id)
        file = None
        with self.leases.hold(upload_id) as lease:
            token = lease.token
            upload = self._reconcile(self._visible(user, upload_id, drop), token)
            if offset != upload.offset:
                raise Conflict(
                    "Upload-Offset does not match the upload's offset.",
                    offset=upload.offset,
                )
            if length is not None:
                upload = self._set_length(upload, length)
            result, sha256_state = self._append(user, upload, lease, offset, checksum, chunks)
            reached = offset + result.written
            last = upload.length is not None and reached == upload.length
            if last and upload.concat != "partial":
                # Every byte is in: the checks run now, with the lease kept ours. The offset
                # is recorded with the File; until then HEAD tells the offset this PATCH
                # started from (or last made durable), and if this request dies during the
                # checks the client sends from there again.
                with self.db.write() as conn:
                    if not repo.update_locked(conn, upload_id, token,
                                              expires_at=self._expiry()):  # fmt: skip
                        raise Conflict("Another request took over this upload.")
                lease.pinned = True
                upload = dataclasses.replace(upload, offset=reached, sha256_state=sha256_state)
                file = self._complete(user, upload)
                upload = dataclasses.replace(upload, file_id=file.id)
            else:
                with self.db.write() as conn:
                    if not repo.update_locked(conn, upload_id, token, offset=reached,
                                              sha256_state=sha256_state,
                                              expires_at=self._expiry()):  # fmt: skip
                        raise Conflict("Another request took over this upload.")
                    after = repo.get(conn, upload_id)
                if after is None:
                    raise NotFound("No such upload.")
                upload = after
                if last:
                    self.staging.seal(upload_id)  # a finished partial upload, ready to join
        if result.interrupted is not None:
            raise result.interrupted
        return Outcome(upload, file)

    def _set_length(self, upload: Upload, length: int) -> Upload:
        if upload.length is not None:
            if length != upload.length:
                raise BadRequest("Upload-Length cannot change once set.")
            return upload
        if length < upload.offset:
            raise BadRequest("Upload-Length is smaller than what was already sent.")
        self._check_length(length)
        with self.db.write() as conn:
            repo.set_values(conn, upload.id, length=length)
            updated = repo.get(conn, upload.id)
        assert updated is not None
        return updated

    def _append(
        self, user: User, upload: Upload, lease: Lease, offset: int, checksum: Checksum | None,
        chunks: Iterable[bytes],
    ) -> tuple[Pumped, bytes | None]:  # fmt: skip
        """Write a PATCH body at ``offset``; what was written, and the running SHA-256's state
        after it (None when unknown). Too large, or a checksum that does not match: none
        of this body is kept. Cut short by the client: what arrived is kept, unless a checksum
        was asked for (it can no longer be verified). Lease lost to another request: stop at
        once and touch nothing more, not even to undo.

        Progress is durable while the body is still arriving: every ``DURABLE_EVERY`` bytes
        (unless a checksum covers the whole body) they are synced and the upload's offset
        advances, so a crash of this process costs the client at most that much to resend. The
        running SHA-256's state is saved with every offset, so whichever instance takes the last
        byte need not read the upload again to hash it. The bytes after the last such point
        are not synced: after a machine crash the file may be shorter than the offset
        remembered, and ``_reconcile`` trusts the shorter of the two."""
        limit = upload.length if upload.length is not None else self.settings.max_file_size
        room = limit - offset  # the last byte's offset is recorded only with the File
        needs_head = not upload.head_checked and upload.concat != "partial"
        head_at = min(HEAD_BYTES, upload.length) if upload.length is not None else HEAD_BYTES
        durable = 0
        head = Head()  # this body's first bytes: the staging may not hold them yet

        def after_chunk(written: int) -> None:
            nonlocal needs_head, durable
            if needs_head and offset + written >= head_at:
                needs_head = False
                self._early_check(user, upload, offset, head.value)
            if checksum is None and written - durable >= DURABLE_EVERY and written < room:
                writer.sink.sync()
                with self.db.write() as conn:
                    if not repo.update_locked(conn, upload.id, lease.token,
                                              offset=offset + written,
                                              sha256_state=_state(running)):  # fmt: skip
                        raise Conflict("Another request took over this upload.")
                durable = written

        def before_write() -> None:
            # Bytes arriving are the sign of life that keeps the lease renewed; a client that
            # stalled past it may have lost the upload to another request: stop then.
            lease.alive()
            lease.check()

        def too_large() -> TooLarge:
            return TooLarge("The body goes past the upload's length.", length=limit)

        running = _resumed(upload)
        digest = hashlib.new(checksum.algorithm) if checksum else None
        observers = [o for o in (digest, running, head if needs_head else None) if o is not None]
        writer = Writer(self.staging.writer(upload.id, offset), room, too_large, observers)
        try:
            result = pump(chunks, writer, before_write, after_chunk)
        except Conflict:
            writer.sink.release()  # someone else owns the bytes now: leave them alone
            raise
        except AirlockError:
            writer.abort()
            if durable:  # undo the progress this body had already made durable
                with self.db.write() as conn:
                    repo.update_locked(conn, upload.id, lease.token, offset=offset,
                                       sha256_state=upload.sha256_state)  # fmt: skip
            raise
        except BaseException:
            writer.close()
            raise
        if checksum is not None and digest is not None and (
            result.interrupted is not None or digest.digest() != checksum.digest
        ):
            writer.abort()
            if result.interrupted is None:
                raise ChecksumMismatch(algorithm=checksum.algorithm)
            return Pumped(0, result.interrupted), upload.sha256_state
        writer.close()
        return result, _state(running)

    def _early_check(self, user: User, upload: Upload, offset: int, body_head: bytes) -> None:
        """The first bytes are in: refuse now a type that can never pass, before the rest.
        ``body_head``: the first bytes of the body being appended at ``offset``; what came
        before it is staged already."""
        prefix = b""
        if offset:
            try:
                with self.staging.reader(upload.id) as view:
                    prefix = view.read(min(offset, HEAD_BYTES))
            except ValueError:  # not readable before the seal: the final checks will see
                return
        head = (prefix + body_head)[:HEAD_BYTES]
        try:
            self.inspector.early_check(head, upload.filename)
        except Rejected as exc:
            self._delete(upload.id)
            self.service.record_rejection(user, upload.filename or "upload", exc)
            raise
        with self.db.write() as conn:
            repo.set_values(conn, upload.id, head_checked=True)

    def _complete(self, user: User, upload: Upload) -> FileRecord:
        """Every check of the pipeline; on success the upload remembers its File, on rejection
        it is deleted."""
        self.staging.seal(upload.id)
        running = _resumed(upload) if upload.complete else None
        head = Head()
        with self.staging.reader(upload.id) as view:
            if running is not None and upload.length:
                head.update(view.read(HEAD_BYTES))
                size, sha256 = upload.length, running.hexdigest()
            else:  # no saved running hash: one read of the staged bytes
                sha = Sha256()
                size = measure(view, (head, sha))
                sha256 = sha.hexdigest()
        staged = Staged(self.staging, upload.id, size, sha256, head.value)
        opts = UploadOptions.parse(
            upload.visibility, parse_metadata(upload.metadata).get("expires_in")
        )
        if upload.drop_id is not None:  # private, kept, and counted against the drop link
            opts = UploadOptions(drop_id=upload.drop_id)
        try:
            record = self.service.store(user, staged, upload.filename or "upload", opts)
        except AirlockError:
            self._delete(upload.id)
            raise
        with self.db.write() as conn:  # the offset reaches the length with the File
            repo.set_values(conn, upload.id, file_id=record.id, offset=size,
                            sha256_state=None)  # fmt: skip
        return record

    # Termination and expiry ------------------------------------------------------------------

    def terminate(self, user: User, upload_id: str, drop: Drop | None = None) -> None:
        """Delete the upload and its bytes."""
        upload = self._visible(user, upload_id, drop)
        self._delete(upload.id)

    def _delete(self, upload_id: str) -> bool:
        """Remove the upload and its bytes; False when another request removed it first."""
        with self.db.write() as conn:
            removed = repo.remove(conn, upload_id)
        self.staging.discard(upload_id)
        return removed

    def collect(self, now: dt.datetime) -> int:
        """Remove expired uploads and their bytes (``airlock gc``); how many went."""

        def expired() -> list[Upload]:
            with self.db.read() as conn:
                return repo.expired(conn, now)

        return drain(expired, lambda upload: self._delete(upload.id))


def _resumed(upload: Upload) -> ResumableSha256 | None:
    """The running SHA-256 of the upload's first ``offset`` bytes, when it can be had."""
    if not AVAILABLE:
        return None
    if upload.offset == 0:
        return ResumableSha256()
    return ResumableSha256(upload.sha256_state) if upload.sha256_state else None


def _state(running: ResumableSha256 | None) -> bytes | None:
    return running.state() if running is not None else None
