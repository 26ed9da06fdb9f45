"""Frozen records handed out by the repositories; nothing outside ``db/`` sees a row object."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class User:
    id: int
    username: str
    password_hash: str | None
    is_admin: bool
    quota_bytes: int | None
    disabled: bool
    created_at: dt.datetime


@dataclass(frozen=True)
class Token:
    id: str
    user_id: int
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None


@dataclass(frozen=True)
class FileRecord:
    id: str
    owner_id: int
    owner: str
    name: str
    size: int
    sha256: str
    content_type: str
    visibility: str
    storage_key: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    thumbnail_key: str | None = None
    quarantined_at: dt.datetime | None = None  # found infected by a rescan
    quarantine_reason: str | None = None  # the scanner's signature name
    attachment_only: bool = False  # never served inline (a PDF with active content)
    store: str | None = None  # the upload set whose own storage holds it; None: the service's
    drop_id: str | None = None  # the drop link it came through, if any
    owner_disabled: bool = False  # its owner's account is disabled (read, not stored)

    def expired(self, now: dt.datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    @property
    def storage_keys(self) -> tuple[str, ...]:
        """Every stored object of this File: its bytes, and its thumbnail if it has one."""
        return (self.storage_key, self.thumbnail_key) if self.thumbnail_key else (self.storage_key,)


@dataclass(frozen=True)
class Link:
    id: str
    file_id: str | None  # None: a link to several Files (``files_of_link``)
    created_at: dt.datetime
    expires_at: dt.datetime | None  # None: never
    max_downloads: int | None
    downloads: int
    token: str | None = None  # the address's secret; None for links made before it was kept
    password_hash: str | None = None  # None: no password
    owner_id: int | None = None  # None only for links made before it was kept

    def expired(self, now: dt.datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def used_up(self) -> bool:
        return self.max_downloads is not None and self.downloads >= self.max_downloads


@dataclass(frozen=True)
class Upload:
    """A tus upload in flight (or completed: ``file_id`` set)."""

    id: str
    owner_id: int
    length: int | None
    offset: int
    metadata: str
    filename: str
    visibility: str
    concat: str
    parts: tuple[str, ...]
    head_checked: bool
    file_id: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    sha256_state: bytes | None = None  # of the first ``offset`` bytes, when known
    drop_id: str | None = None  # made through this drop link: only it may go on with it

    @property
    def complete(self) -> bool:
        return self.length is not None and self.offset == self.length


@dataclass(frozen=True)
class Drop:
    """A drop link: where anyone with the address uploads into ``owner_id``'s space."""

    id: str
    owner_id: int
    name: str
    token: str
    password_hash: str | None
    created_at: dt.datetime
    expires_at: dt.datetime | None  # None: never
    revoked_at: dt.datetime | None
    max_files: int | None
    max_bytes: int | None
    files: int
    bytes: int

    def room(self) -> int | None:
        """Bytes it takes still (None: no limit)."""
        return None if self.max_bytes is None else max(self.max_bytes - self.bytes, 0)

    def full(self) -> bool:
        return (self.max_files is not None and self.files >= self.max_files) or self.room() == 0


@dataclass(frozen=True)
class DirectUpload:
    """A direct (browser-to-store) upload: presigned, and completed once ``file_id`` is set."""

    id: str
    owner_id: int
    storage_key: str
    filename: str
    size: int
    visibility: str
    file_expires_in: int | None
    file_id: str | None
    created_at: dt.datetime
    expires_at: dt.datetime


@dataclass(frozen=True)
class Session:
    """A browser session; its id is the digest of the cookie's secret."""

    id: str
    user_id: int
    csrf_token: str
    created_at: dt.datetime
    expires_at: dt.datetime


@dataclass(frozen=True)
class UploadEvent:
    at: dt.datetime
    username: str
    name: str
    size: int | None
    outcome: str
    code: str
    message: str
