"""Resumable uploads (tus 1.0.0): creation, appending, concatenation, termination, expiry.

Upload state lives in the database and the staging directory, never in a worker's memory, so
any worker (of any app server sharing the database and storage) can take any request. Two
PATCHes on one upload never interleave: each holds a lease in the upload's row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from airlock.config import Settings
from airlock.core.batches import drain
from airlock.core.tus import Checksum, Concat, parse_metadata
from airlock.db import uploads_repo as repo
from airlock.db.engine import Database
from airlock.db.records import FileRecord, Upload, User
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

_WAIT_STEP = 0.05
_HEAD_PATIENCE_SECONDS = 10.0  # how long HEAD waits for a PATCH still taking bytes in
_FINISH_PATIENCE_SECONDS = 60.0  # how long HEAD waits for the checks of a finished upload
DURABLE_EVERY = 8 * 1024 * 1024  # a running PATCH makes its bytes durable this often


@dataclass(frozen=True)
class Outcome:
    """An upload after a request: its state, and the File it became (if it just did)."""

    upload: Upload
    file: FileRecord | None = None


class RunningHashes:
    """SHA-256 states of uploads this process has been appending to, keyed by upload and
    offset. Only a shortcut: consecutive PATCHes of one client usually reach the same worker
    (one connection), and then the last one need not read the whole file again to hash it; any
    miss (another worker, a restart, eviction) falls back to that read."""

    def __init__(self, capacity: int = 256) -> None:
        self._entries: OrderedDict[str, tuple[int, Any]] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def take(self, upload_id: str, offset: int) -> Any:
        """The state of the first ``offset`` bytes (removed from the cache), or None."""
        with self._lock:
            entry = self._entries.pop(upload_id, None)
        if entry is not None and entry[0] == offset:
            return entry[1]
        return hashlib.sha256() if offset == 0 else None

    def put(self, upload_id: str, offset: int, state: Any) -> None:
        with self._lock:
            self._entries[upload_id] = (offset, state)
            self._entries.move_to_end(upload_id)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)


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
        self.hashes = RunningHashes()
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
    ) -> Upload:
        """A new, empty upload (``length`` None: deferred). Refuses at once what could never
        pass: too large, over quota, a disallowed extension."""
        metadata = parse_metadata(metadata_header)
        opts = UploadOptions.parse(metadata.get("visibility"), metadata.get("expires_in"))
        filename = metadata.get("filename", "")
        if concat is not None and concat.kind == "final":
            raise BadRequest("A final upload is created with its parts.")
        try:
            if length is not None:
                self._check_length(length)
                if concat is None:
                    self.service.check_quota(user, length)
            if filename and concat is None:
                self.inspector.check_name(filename)
        except Rejected as exc:
            self.service.record_rejection(user, filename or "upload", exc)
            raise
        now = self.clock()
        upload_id = self.staging.create()
        with self.db.write() as conn:
            repo.add(
                conn, id=upload_id, owner_id=user.id, length=length, offset=0,
                metadata=metadata_header or "", filename=filename, visibility=opts.visibility,
                concat=concat.kind if concat else "", parts="", head_checked=False,
                created_at=now, expires_at=self._expiry(),
            )  # fmt: skip
            upload = repo.get(conn, upload_id)
        assert upload is not None
        return upload

    def _check_length(self, length: int) -> None:
        if length > self.settings.max_file_size:
            raise TooLarge(
                f"The upload exceeds the limit of {self.settings.max_file_size} bytes.",
                limit=self.settings.max_file_size,
            )

    def create_final(self, user: User, metadata_header: str, concat: Concat) -> Outcome:
        """A final upload joining finished partial uploads of the caller, in order; its checks
        run at once. The partial uploads are consumed either way."""
        metadata = parse_metadata(metadata_header)
        opts = UploadOptions.parse(metadata.get("visibility"), metadata.get("expires_in"))
        filename = metadata.get("filename", "")
        parts = [self._visible(user, pid) for pid in concat.parts]
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
        with self.db.write() as conn:
            repo.add(
                conn, id=upload_id, owner_id=user.id, length=total, offset=total,
                metadata=metadata_header or "", filename=filename, visibility=opts.visibility,
                concat="final", parts=" ".join(p.id for p in parts), head_checked=True,
                created_at=now, expires_at=self._expiry(),
            )  # fmt: skip
            for part in parts:
                repo.remove(conn, part.id)
            upload = repo.get(conn, upload_id)
        for part in parts:
            self.staging.discard(part.id)
        assert upload is not None
        return Outcome(upload, self._complete(user, upload))

    # Reading state ---------------------------------------------------------------------------

    def _visible(self, user: User, upload_id: str) -> Upload:
        """The caller's upload; others' are ``NotFound``, expired ones ``Gone``."""
        with self.db.read() as conn:
            upload = repo.get(conn, upload_id)
        if upload is None or upload.owner_id != user.id:
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
        self.hashes.take(upload.id, -1)  # the running hash no longer matches any offset
        return dataclasses.replace(upload, offset=size)

    def status(self, user: User, upload_id: str) -> Upload:
        """The upload's state for HEAD (a finished one carries ``file_id``).

        While a PATCH is still being taken in, this waits a little for it, so a client that
        lost that PATCH's answer learns its outcome rather than an offset about to change; once
        the last byte is in, it waits for the checks (a rejected upload is then ``NotFound``),
        and if the request running them died, it runs them itself."""
        upload = self._visible(user, upload_id)
        started = time.monotonic()
        while True:
            finishing = upload.complete and upload.file_id is None and upload.concat != "partial"
            with self.db.read() as conn:
                locked = repo.is_locked(conn, upload_id, self.clock())
            patience = _FINISH_PATIENCE_SECONDS if finishing else _HEAD_PATIENCE_SECONDS
            if not locked:
                return self._finish_orphan(user, upload) if finishing else self._reconcile(upload)
            if time.monotonic() - started > patience:
                return self._finish_orphan(user, upload) if finishing else upload
            time.sleep(_WAIT_STEP)
            upload = self._visible(user, upload_id)

    def _finish_orphan(self, user: User, upload: Upload) -> Upload:
        """Run the checks of an upload whose last byte arrived but whose request died."""
        try:
            with self.leases.hold(upload.id) as lease:
                current = self._reconcile(self._visible(user, upload.id), lease.token)
                if current.file_id is not None or not current.complete:
                    return current
                lease.pinned = True
                file = self._complete(user, current)
                return dataclasses.replace(current, file_id=file.id)
        except Conflict:
            return upload  # someone else holds it: they finish it

    # Appending -------------------------------------------------------------------------------

    def patch(
        self,
        user: User,
        upload_id: str,
        offset: int,
        length: int | None,
        checksum: Checksum | None,
        chunks: Iterable[bytes],
    ) -> Outcome:
        """Append a body at ``offset``; the request that brings the last byte runs every check
        and makes the File. ``Conflict`` for a wrong offset or a concurrent PATCH."""
        upload = self._visible(user, upload_id)
        if upload.concat == "final":
            raise Forbidden("A final upload cannot be patched.")
        if upload.file_id is not None:
            raise Conflict("This upload is finished.", file_id=upload.file_id)
        file = None
        with self.leases.hold(upload_id) as lease:
            token = lease.token
            upload = self._reconcile(self._visible(user, upload_id), token)
            if offset != upload.offset:
                raise Conflict(
                    "Upload-Offset does not match the upload's offset.",
                    offset=upload.offset,
                )
            if length is not None:
                upload = self._set_length(upload, length)
            result = self._append(user, upload, lease, offset, checksum, chunks)
            with self.db.write() as conn:
                if not repo.update_locked(conn, upload_id, token, offset=offset + result.written,
                                          expires_at=self._expiry()):  # fmt: skip
                    raise Conflict("Another request took over this upload.")
                after = repo.get(conn, upload_id)
            if after is None:
                raise NotFound("No such upload.")
            upload = after
            if result.interrupted is None and upload.complete and upload.concat != "partial":
                # The lease stays ours while the checks run: a HEAD meanwhile waits for their
                # outcome instead of calling finished an upload that may yet be refused.
                lease.pinned = True
                file = self._complete(user, upload)
                upload = dataclasses.replace(upload, file_id=file.id)
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
    ) -> Pumped:  # fmt: skip
        """Write a PATCH body at ``offset``. Too large, or a checksum that does not match: none
        of this body is kept. Cut short by the client: what arrived is kept, unless a checksum
        was asked for (it can no longer be verified). Lease lost to another request: stop at
        once and touch nothing more, not even to undo.

        Progress is durable while the body is still arriving: every ``DURABLE_EVERY`` bytes
        (unless a checksum covers the whole body) they are synced and the upload's offset
        advances, so a crash of this process costs the client at most that much to resend. The
        bytes after the last such point are not synced: after a machine crash the file may be
        shorter than the offset remembered, and ``_reconcile`` trusts the shorter of the two."""
        limit = upload.length if upload.length is not None else self.settings.max_file_size
        needs_head = not upload.head_checked and upload.concat != "partial"
        head_at = min(HEAD_BYTES, upload.length) if upload.length is not None else HEAD_BYTES
        durable = 0
        head = Head()  # this body's first bytes: the staging may not hold them yet

        def after_chunk(written: int) -> None:
            nonlocal needs_head, durable
            if needs_head and offset + written >= head_at:
                needs_head = False
                self._early_check(user, upload, offset, head.value)
            if checksum is None and written - durable >= DURABLE_EVERY:
                writer.sink.sync()
                with self.db.write() as conn:
                    if not repo.update_locked(conn, upload.id, lease.token,
                                              offset=offset + written):  # fmt: skip
                        raise Conflict("Another request took over this upload.")
                durable = written

        def before_write() -> None:
            # Bytes arriving are the sign of life that keeps the lease renewed; a client that
            # stalled past it may have lost the upload to another request: stop then.
            lease.alive()
            lease.check()

        def too_large() -> TooLarge:
            return TooLarge("The body goes past the upload's length.", length=limit)

        running = self.hashes.take(upload.id, offset)
        digest = hashlib.new(checksum.algorithm) if checksum else None
        observers = [o for o in (digest, running, head if needs_head else None) if o is not None]
        writer = Writer(self.staging.writer(upload.id, offset), limit - offset, too_large,
                        observers)  # fmt: skip
        try:
            result = pump(chunks, writer, before_write, after_chunk)
        except Conflict:
            writer.close()  # someone else owns the bytes now: leave them alone
            raise
        except AirlockError:
            writer.abort()
            if durable:  # undo the progress this body had already made durable
                with self.db.write() as conn:
                    repo.update_locked(conn, upload.id, lease.token, offset=offset)
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
            return Pumped(0, result.interrupted)
        writer.close()
        if running is not None and (result.written or result.interrupted is None):
            self.hashes.put(upload.id, offset + result.written, running)
        return result

    def _early_check(self, user: User, upload: Upload, offset: int, body_head: bytes) -> None:
        """The first bytes are in: refuse now a type that can never pass, before the rest.
        ``body_head``: the first bytes of the body being appended at ``offset``; what came
        before it is staged already."""
        prefix = b""
        if offset:
            with self.staging.reader(upload.id) as view:
                prefix = view.read(min(offset, HEAD_BYTES))
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
        running = self.hashes.take(upload.id, upload.length or 0)
        head = Head()
        with self.staging.reader(upload.id) as view:
            if running is not None and upload.length:
                head.update(view.read(HEAD_BYTES))
                size, sha256 = upload.length, running.hexdigest()
            else:  # no running hash in this worker: one read of the staged bytes
                sha = Sha256()
                size = measure(view, (head, sha))
                sha256 = sha.hexdigest()
        staged = Staged(self.staging, upload.id, size, sha256, head.value)
        opts = UploadOptions.parse(
            upload.visibility, parse_metadata(upload.metadata).get("expires_in")
        )
        try:
            record = self.service.store(user, staged, upload.filename or "upload", opts)
        except AirlockError:
            self._delete(upload.id)
            raise
        with self.db.write() as conn:
            repo.set_values(conn, upload.id, file_id=record.id)
        return record

    # Termination and expiry ------------------------------------------------------------------

    def terminate(self, user: User, upload_id: str) -> None:
        """Delete the upload and its bytes."""
        upload = self._visible(user, upload_id)
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
