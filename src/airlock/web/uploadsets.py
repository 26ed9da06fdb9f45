"""Upload sets: the Python face of the pipeline for a host app's own views.

    avatars = UploadSet("avatars", types={"png", "jpg", "webp"}, max_size=2_000_000)

    @app.post("/me/avatar")
    def set_avatar():
        file = avatars.receive()       # the request's body, through every check
        return redirect(avatars.url(file))

A set's limits come on top of the global ones (``AIRLOCK_ALLOWED_TYPES``,
``AIRLOCK_MAX_FILE_SIZE``): it can only take less. Rejections raise the ``AirlockError`` of
API.md's table (``TypeNotAllowed``, ``ContentMismatch``, ``TooLarge``, …), which Airlock's
routes would have answered with; a host view may catch them or let them propagate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import BinaryIO

from flask import request
from werkzeug.datastructures import FileStorage
from werkzeug.http import parse_options_header

from airlock.core.names import sanitize_name
from airlock.core.rules import SetRules
from airlock.db.records import FileRecord, User
from airlock.errors import BadRequest, NoFile, Rejected
from airlock.pipeline.receive import body_chunks, boundary_of, receive_multipart, receive_raw
from airlock.service import UploadOptions
from airlock.shapes import VISIBILITIES
from airlock.storage.base import Storage
from airlock.web.auth import current_user, host_user
from airlock.web.body import body_chunks_for, check_declared_length
from airlock.web.present import file_url
from airlock.web.state import state

MAX_STORE_NAME = 64  # the width of the column Files record it in


class UploadSet:
    """A named kind of upload: which types (extensions) it takes, how large, and how its
    Files are stored (``visibility``, ``expires_in`` seconds, and ``storage``: a ``Storage``
    of its own, such as ``LocalStorage(path)`` or ``S3Storage(bucket, …)``, instead of the
    service's). Needs an app with Airlock initialised, and a set with a storage of its own
    registered with it (``Airlock(app, upload_sets=[…])``, so that every process of the app
    can serve and delete its Files); ``url()`` also needs Airlock's routes (``api=True``)."""

    def __init__(
        self, name: str, types: Iterable[str] | None = None, max_size: int | None = None,
        visibility: str = "private", expires_in: int | None = None,
        storage: Storage | None = None,
    ) -> None:  # fmt: skip
        if visibility not in VISIBILITIES:
            raise ValueError(f"visibility must be 'private' or 'public': {visibility!r}")
        if storage is not None and not 1 <= len(name) <= MAX_STORE_NAME:
            raise ValueError(f"a set with a storage of its own needs a name of 1 to "
                             f"{MAX_STORE_NAME} characters: {name!r}")  # fmt: skip
        self.name = name
        self.storage = storage
        self.rules = SetRules.of(name, types, max_size)
        store = None if storage is None else name
        self.options = UploadOptions(visibility, expires_in, self.rules, store)

    def register(self, stores: dict[str, Storage]) -> None:
        """Enter this set's own storage (if it has one) in ``stores``, the service's registry;
        ``ValueError`` when another storage is registered under its name."""
        if self.storage is None:
            return
        if stores.setdefault(self.name, self.storage) is not self.storage:
            raise ValueError(f"another storage is registered for upload set {self.name!r}")

    def _check_registered(self) -> None:
        if self.storage is not None and state().service.stores.get(self.name) is not self.storage:
            raise RuntimeError(
                f"Upload set {self.name!r} has a storage of its own: register it with "
                "Airlock(app, upload_sets=[...])."
            )

    def receive(self, name: str | None = None, field: str = "file",
                owner: str | None = None) -> FileRecord:  # fmt: skip
        """Store the current request's upload, streamed from the request body through the
        whole pipeline (``request.files`` is never touched): the one file part ``field`` of a
        multipart body, or the whole body of any other request, named ``name``. The owner is
        ``owner``, else the host's signed-in user (``user_loader``; CSRF in the host's views is
        the host's to check), else a bearer token's or Airlock session's user. Returns
        the File; raises the rejection, with nothing stored."""
        st = state()
        self._check_registered()
        user = self._owner(owner)
        mimetype, params = parse_options_header(request.headers.get("Content-Type", ""))
        limit = self._limit()
        if mimetype == "multipart/form-data":
            boundary = boundary_of(params)
            check_declared_length(st.limits.request)
            limits = dataclasses.replace(st.limits, file=limit)
            form = receive_multipart(body_chunks_for(limits.request), boundary, st.stager,
                                     limits, file_field=field)  # fmt: skip
            pending = list(form.files)
            try:
                if not pending:
                    raise NoFile(f"No part named {field!r} with a file name was sent.")
                if len(pending) > 1:
                    raise BadRequest(f"Send one file in {field!r}, not {len(pending)}.")
                part = pending.pop()
                if part.error is not None:
                    st.service.record_rejection(user, part.filename, part.error)
                    raise part.error
                assert part.staged is not None
                return st.service.store(user, part.staged, part.filename, self.options)
            finally:
                for left in pending:
                    if left.staged is not None:
                        left.staged.discard()
        if not name:
            raise BadRequest("Name the file: receive(name=...) for a body that is not a form.")
        try:
            self.rules.check_name(sanitize_name(name))  # before any byte is read
            check_declared_length(limit)
        except Rejected as exc:
            st.service.record_rejection(user, name, exc)
            raise
        staged = receive_raw(body_chunks_for(st.settings.request_limit), st.stager, limit)
        return st.service.store(user, staged, name, self.options)

    def save(self, storage: FileStorage, name: str | None = None,
             owner: str | None = None) -> FileRecord:  # fmt: skip
        """Store a ``FileStorage`` the host has already (a form library's field, say) through
        the whole pipeline, named ``name`` or its own file name; as ``receive`` otherwise."""
        st = state()
        self._check_registered()
        user = self._owner(owner)
        client_name = name or storage.filename
        if not client_name:
            raise NoFile("The file has no name: pass save(storage, name=...).")
        limit = self._limit()
        staged = receive_raw(body_chunks(storage.stream, limit, None), st.stager, limit)
        return st.service.store(user, staged, client_name, self.options)

    def url(self, file: FileRecord) -> str:
        """Where the File is served on this app (``present.file_url``)."""
        return file_url(file)

    def open(self, file: FileRecord | str) -> BinaryIO:
        """The File's bytes, as it is now (a File quarantined since is ``Gone``, a deleted one
        ``NotFound``); close the stream when done."""
        st = state()
        record = self._fresh(file)
        return st.service.open_content(st.service.servable(record), None)

    def delete(self, file: FileRecord | str) -> None:
        """Delete the File, row and bytes (as its owner would)."""
        st = state()
        record = self._fresh(file)
        st.service.delete_file(st.accounts.user(record.owner), record.id)

    def _limit(self) -> int:
        """The largest file this set takes: its own limit, within the global one."""
        most = state().settings.max_file_size
        return min(most, self.rules.max_size) if self.rules.max_size is not None else most

    @staticmethod
    def _owner(owner: str | None) -> User:
        # In the host's own view, the host's signed-in user, its CSRF the host's to check
        # (as for any of its forms); else a bearer token or Airlock's session, as on its routes.
        if owner is not None:
            return state().accounts.ensure_user(owner)
        return host_user(check_csrf=False) or current_user()

    @staticmethod
    def _fresh(file: FileRecord | str) -> FileRecord:
        return state().service.file_for_host(file if isinstance(file, str) else file.id)
