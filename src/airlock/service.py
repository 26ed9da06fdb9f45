"""Use cases: what a caller may do with Files and share links. Authorization and quota are
decided here; bytes move through the pipeline and storage protocols; the service owns every
database transaction."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from airlock.config import Settings
from airlock.core import filetypes
from airlock.core.ids import new_id
from airlock.core.names import extension, sanitize_name, with_extension
from airlock.core.pagination import decode_cursor, encode_cursor
from airlock.core.ranges import Span
from airlock.core.rules import SetRules
from airlock.core.timefmt import parse_seconds
from airlock.db import admin_repo, drops_repo, repo
from airlock.db.engine import Database
from airlock.db.records import FileRecord, UploadEvent, User
from airlock.db.room import write_making_room
from airlock.errors import (
    AirlockError,
    BadRequest,
    DropClosed,
    Forbidden,
    Gone,
    NoFile,
    NotFound,
    QuotaExceeded,
    Rejected,
    Unavailable,
)
from airlock.metrics import Metrics
from airlock.pipeline.commit import commit, undo
from airlock.pipeline.inspect import Inspected, Inspector
from airlock.pipeline.receive import Form
from airlock.pipeline.reencode import Reencoder
from airlock.pipeline.staging import Staged
from airlock.scan.scanning import Scanning
from airlock.shapes import FILE_UPDATE, MAX_EXPIRES_IN, VISIBILITIES
from airlock.storage.base import Storage
from airlock.writers import Writers

log = logging.getLogger("airlock.upload")



def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class UploadOptions:
    """What the uploader chose besides the bytes."""

    visibility: str = "private"
    expires_in: int | None = None
    rules: SetRules | None = None  # an upload set's own limits (the Flask extension's)
    store: str | None = None  # the upload set whose own storage takes the bytes (registered)
    drop_id: str | None = None  # the drop link it comes through: counted against its limits

    @classmethod
    def parse(cls, visibility: Any, expires_in: Any) -> UploadOptions:
        """Validate the raw form/query values; ``BadRequest`` when malformed."""
        vis = visibility if visibility not in (None, "") else "private"
        if vis not in VISIBILITIES:
            raise BadRequest("visibility must be 'private' or 'public'.")
        exp = None
        if expires_in not in (None, ""):
            exp = parse_seconds(expires_in, "expires_in", MAX_EXPIRES_IN)
        return cls(vis, exp)


def _discard(*staged: Staged) -> None:
    """Delete staged bytes, each once (an upload and its re-encoded rewrite)."""
    for one in dict.fromkeys(staged):
        one.discard()


@dataclass(frozen=True)
class Outcome:
    """One upload decision: the File stored, or the error it was refused with."""

    user: User
    name: str
    record: FileRecord | None
    error: AirlockError | None


Listener = Callable[[Outcome], None]


@dataclass(frozen=True)
class RejectedUpload:
    name: str
    error: AirlockError


class Service:
    """Everything the web layer and the CLI may ask of Airlock."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        storage: Storage,
        inspector: Inspector,
        metrics: Metrics,
        writers: Writers,
        clock: Callable[[], dt.datetime] = utcnow,
        scanning: Scanning | None = None,
        reencoder: Reencoder | None = None,
    ) -> None:
        self.scanning = scanning
        self.writers = writers
        self.reencoder = reencoder
        self.settings = settings
        self.db = db
        self.storage = storage
        self.inspector = inspector
        self.metrics = metrics
        self.clock = clock
        # Told of every upload decision, after it is made (the Flask extension's signals).
        self.listeners: list[Listener] = []
        # The storages of their own that upload sets registered, by set name (the extension's
        # ``Airlock(app, upload_sets=…)``); Files record the name of theirs.
        self.stores: dict[str, Storage] = {}

    def storage_of(self, record: FileRecord) -> Storage:
        """The storage holding ``record``'s bytes; ``Unavailable`` when it is an upload set's
        that this process was not given (the set is configured in the host app only)."""
        return self.storage_named(record.store)

    def storage_named(self, store: str | None) -> Storage:
        """The service's storage (``store`` None) or the one upload set ``store`` registered;
        ``Unavailable`` when there is no such registration here."""
        if store is None:
            return self.storage
        try:
            return self.stores[store]
        except KeyError:
            log.error("no storage registered for upload set %r in this process", store)
            raise Unavailable(
                "This file is kept in a storage that is not configured here."
            ) from None

    # Uploads ---------------------------------------------------------------------------------

    def store(
        self, user: User, staged: Staged, client_name: str, opts: UploadOptions
    ) -> FileRecord:
        """Inspect a staged upload and make it a File, or raise its rejection. The staged bytes
        (or, with image re-encoding on, their clean rewrite) are the File's afterwards, or
        gone: on failure no bytes and no row remain."""
        original = staged
        try:
            if opts.rules is not None:
                opts.rules.check_size(staged.size)
            inspected = self.inspector.inspect(staged, client_name)
            if opts.rules is not None:
                opts.rules.check_name(inspected.name)
            if self.scanning is not None:
                self.scanning.check(staged, client_name)
            if self.reencoder is not None and self.reencoder.applies(inspected.file_type.mime):
                staged = self.reencoder.apply(staged, inspected.file_type.mime)
                inspected = dataclasses.replace(inspected, staged=staged)
            self._check_quota(user, staged.size, locked=None)
            record = self._commit(user, inspected, opts)
        except Rejected as exc:
            _discard(original, staged)
            self.record_rejection(user, client_name, exc, staged)
            raise
        except BaseException:
            _discard(original, staged)
            raise
        if staged is not original:
            original.discard()
        self._observe("stored", "", user, staged, record.name, record)
        self._tell(Outcome(user, record.name, record, None))
        return record

    def store_form(
        self, user: User, form: Form, forced: UploadOptions | None = None
    ) -> tuple[list[FileRecord], list[RejectedUpload]]:
        """Store every file part of a multipart form, with ``forced`` options if given (a drop
        link's, whatever the form says); per-file rejections are collected, and if none was
        stored the first rejection is raised (with the whole list attached)."""
        stored: list[FileRecord] = []
        rejected: list[RejectedUpload] = []
        pending = list(form.files)  # parts not yet handed to store(), which cleans up itself
        try:
            opts = forced or UploadOptions.parse(
                form.fields.get("visibility"), form.fields.get("expires_in")
            )
            if not form.files:
                raise NoFile("No part named 'file' with a file name was sent.")
            for part in form.files:
                pending.remove(part)
                name = sanitize_name(part.filename)
                if part.error is not None:
                    self.record_rejection(user, part.filename, part.error)
                    rejected.append(RejectedUpload(name, part.error))
                    continue
                assert part.staged is not None
                try:
                    stored.append(self.store(user, part.staged, part.filename, opts))
                except (Rejected, DropClosed) as exc:
                    rejected.append(RejectedUpload(name, exc))
        finally:
            for part in pending:
                if part.staged is not None:
                    part.staged.discard()
        return stored, rejected

    def check_quota(self, user: User, size: int) -> None:
        """``QuotaExceeded`` when ``size`` more bytes would not fit the user's quota."""
        self._check_quota(user, size, locked=None)

    def _check_quota(self, user: User, size: int, locked: Any) -> None:
        quota = user.quota_bytes if user.quota_bytes is not None else self.settings.default_quota
        if not quota:
            return
        conn = locked
        if conn is None:
            with self.db.read() as conn:
                used = repo.used_bytes(conn, user.id)
        else:
            used = repo.used_bytes(conn, user.id)
        if used + size > quota:
            raise QuotaExceeded(quota_bytes=quota, used_bytes=used, size=size)

    def _commit(self, user: User, inspected: Inspected, opts: UploadOptions) -> FileRecord:
        """Hand the bytes to storage (``pipeline.commit``), then write the row and its upload
        event in one transaction; on any failure nothing stored remains."""
        staged = inspected.staged
        storage = self.storage_named(opts.store)
        copy_to = None if opts.store is None else self.writers.new_key()
        committed = commit(staged, inspected.file_type.mime, storage, copy_to)
        try:
            now = self.clock()
            if now.tzinfo is not None:  # in UTC, as the row reads back (naive: the insert fails)
                now = now.astimezone(dt.UTC)
            # The record is built from what is written, not read back. The owner's name is the
            # user's (the row's foreign key refuses an owner that no longer exists); nothing is
            # quarantined yet.
            record = FileRecord(
                id=new_id(),
                owner_id=user.id,
                owner=user.username,
                name=inspected.name,
                size=staged.size,
                sha256=staged.sha256,
                content_type=inspected.file_type.mime,
                visibility=opts.visibility,
                storage_key=committed.key,
                created_at=now,
                expires_at=now + dt.timedelta(seconds=opts.expires_in)
                if opts.expires_in
                else None,
                thumbnail_key=committed.thumbnail_key,
                quarantined_at=None,
                quarantine_reason=None,
                attachment_only=bool(inspected.attachment_only),
                store=opts.store,
                drop_id=opts.drop_id,
            )
            with self.db.write() as conn:
                self.writers.confirm(conn, committed.key)  # gc has not taken the bytes
                if opts.drop_id is not None and not drops_repo.take(
                    conn, opts.drop_id, staged.size, now
                ):
                    raise DropClosed()
                self._check_quota(user, staged.size, locked=conn)
                repo.add_file_record(conn, record)
                admin_repo.add_event(conn, self._event(user, inspected.name, staged, None))
        except BaseException:
            undo(committed, storage)
            raise
        return record

    def record_rejection(
        self, user: User, name: str, error: AirlockError, staged: Staged | None = None
    ) -> None:
        """Count, log and remember (for the admin page) one refused upload."""
        self._observe("rejected", error.code, user, staged, name)
        self._tell(Outcome(user, sanitize_name(name), None, error))
        try:
            with self.db.write() as conn:
                admin_repo.add_event(conn, self._event(user, name, staged, error))
        except Exception:  # the refusal stands even if its statistics cannot be written
            log.exception("could not record an upload event")

    def _event(
        self, user: User, name: str, staged: Staged | None, error: AirlockError | None
    ) -> UploadEvent:
        return UploadEvent(
            at=self.clock(), username=user.username, name=sanitize_name(name)[:1024] or "-",
            size=staged.size if staged else None, outcome="rejected" if error else "stored",
            code=error.code if error else "", message=error.message[:1024] if error else "",
        )  # fmt: skip

    def _tell(self, outcome: Outcome) -> None:
        # A listener's failure is logged, never the upload's: the decision is made already.
        for listener in list(self.listeners):
            try:
                listener(outcome)
            except Exception:
                log.exception("an upload listener failed")

    def _observe(
        self,
        outcome: str,
        code: str,
        user: User,
        staged: Staged | None,
        name: str,
        record: FileRecord | None = None,
    ) -> None:
        """Count and log one upload decision, as one structured line."""
        self.metrics.uploads.labels(outcome=outcome, code=code or "none").inc()
        if record is not None:
            self.metrics.bytes_in.inc(record.size)
        entry = {
            "event": "upload",
            "outcome": outcome,
            "code": code or None,
            "owner": user.username,
            "name": name,
            "size": staged.size if staged else None,
            "sha256": staged.sha256 if staged else None,
            "file_id": record.id if record else None,
            "content_type": record.content_type if record else None,
        }
        log.info(json.dumps(entry, ensure_ascii=False))

    # Files -----------------------------------------------------------------------------------

    def list_files(
        self, user: User, limit: int, cursor: str | None, query: str | None = None,
        drop_id: str | None = None,
    ) -> tuple[list[FileRecord], str | None]:
        """The caller's Files, newest first, and the cursor of the next page (None at the end);
        only those whose name contains ``query`` (any case), and those that arrived through
        the drop link ``drop_id``, when given."""
        after = decode_cursor(cursor) if cursor else None
        if query is not None and len(query) > 255:
            raise BadRequest("q is at most 255 characters.")
        if drop_id is not None and len(drop_id) > 64:
            raise BadRequest("drop is at most 64 characters.")
        with self.db.read() as conn:
            page = repo.list_files(conn, user.id, limit + 1, after, query or None,
                                   drop_id or None)  # fmt: skip
        more = len(page) > limit
        page = page[:limit]
        nxt = encode_cursor(page[-1].created_at, page[-1].id) if more and page else None
        return page, nxt

    def get_file(self, user: User | None, file_id: str) -> FileRecord:
        """A File the caller may see: their own, any if admin, or a public one. Others' private
        Files are ``NotFound`` (never ``Forbidden``), expired ones ``Gone``."""
        with self.db.read() as conn:
            record = repo.get_file(conn, file_id)
        if record is None or not self._can_see(user, record):
            raise NotFound("No such file.")
        return self._unexpired(record)

    def file_for_host(self, file_id: str) -> FileRecord:
        """Any File, whoever owns it, for the host app's own code (``UploadSet``): ``NotFound``
        when there is none, ``Gone`` when it expired."""
        with self.db.read() as conn:
            record = repo.get_file(conn, file_id)
        if record is None:
            raise NotFound("No such file.")
        return self._unexpired(record)

    def _unexpired(self, record: FileRecord) -> FileRecord:
        if record.expired(self.clock()):
            raise Gone("This file has expired.")
        return record

    @staticmethod
    def _can_see(user: User | None, record: FileRecord) -> bool:
        if record.visibility == "public":
            return True
        return user is not None and (user.id == record.owner_id or user.is_admin)

    def owned(self, user: User, file_id: str) -> FileRecord:
        """A File ``user`` may change (theirs, or any for an admin): ``NotFound`` when they
        cannot see it, ``Forbidden`` when they see it (public) but do not own it."""
        record = self.get_file(user, file_id)
        if record.owner_id != user.id and not user.is_admin:
            raise Forbidden("Only the owner may change this file.")
        return record

    def update_file(self, user: User, file_id: str, body: dict[str, Any]) -> FileRecord:
        """Apply a ``FileUpdate`` body (any of ``name``, which must still fit the File's type,
        ``visibility``, ``expires_at``: null for never) to a File of ``user``'s: ``NotFound``
        for a File they do not own, whatever the body, then ``BadRequest`` for a bad body."""
        current = self.owned(user, file_id)
        values = FILE_UPDATE.parse(body)
        if "name" in values:
            values["name"] = self._rename(current, values["name"])
        with self.db.write() as conn:
            repo.update_file(conn, file_id, **values)
            record = repo.get_file(conn, file_id)
        if record is None:
            raise NotFound("No such file.")
        return record

    def _rename(self, record: FileRecord, raw: str) -> str:
        """A new display name keeps the File's type: its extension must still fit the bytes."""
        name = sanitize_name(raw)
        ftype = filetypes.lookup(record.content_type)
        ext = extension(name)
        if not ext:
            return with_extension(name, ftype.extensions[0] if ftype.extensions else "bin")
        filetypes.check_allowed(ftype, ext, self.settings.allowed_types + ftype.extensions[:1])
        return name

    def delete_file(self, user: User, file_id: str) -> None:
        """Remove the row and then the bytes; when this returns the bytes are gone."""
        with self.db.read() as conn:
            record = repo.get_file(conn, file_id)
        if record is None or not self._can_see(user, record):
            raise NotFound("No such file.")
        if record.owner_id != user.id and not user.is_admin:
            raise Forbidden("Only the owner may delete this file.")
        # Deleting is how room is made: it must work on a full disk too.
        storage = self.storage_of(record)  # before the row goes: its bytes must go too
        write_making_room(self.db, lambda conn: repo.delete_file(conn, file_id))
        for key in record.storage_keys:
            storage.delete(key)

    def public_file(self, file_id: str) -> FileRecord:
        """A public File for ``/f/``; anything else is ``NotFound``, a quarantined one, or
        one whose owner is disabled, ``Gone``."""
        return self.shareable(self.get_file(None, file_id))

    def shareable(self, record: FileRecord) -> FileRecord:
        """``record``, unless it may not be served to people without an account: no longer
        servable, or its owner disabled (``Gone``)."""
        if record.owner_disabled:
            raise Gone("This file is no longer shared: its owner's account is disabled.")
        return self.servable(record)

    @staticmethod
    def servable(record: FileRecord) -> FileRecord:
        """``record``, unless its bytes may no longer be served (quarantined: ``Gone``)."""
        if record.quarantined_at is not None:
            raise Gone(
                "This file was quarantined: the malware scanner flagged it.",
                signature=record.quarantine_reason,
            )
        return record

    def open_content(
        self, record: FileRecord, span: Span | None, thumbnail: bool = False
    ) -> BinaryIO:
        """A stream of the File's bytes (``span`` only, when given), or of its thumbnail."""
        key = record.storage_key
        if thumbnail:
            if not record.thumbnail_key:
                raise NotFound("This file has no thumbnail.")
            key = record.thumbnail_key
        storage = self.storage_of(record)
        try:
            if span is None:
                return storage.open(key)
            return storage.open(key, span.start, span.stop)
        except FileNotFoundError:
            logging.getLogger("airlock").error("bytes missing for file %s", record.id)
            raise NotFound("The file's content is missing.") from None

