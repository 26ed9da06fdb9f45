"""The tables. Changes here need a migration in ``migrations/versions``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    TypeDecorator,
    false,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in and out, whatever the database keeps (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        when: dt.datetime = value
        return when.astimezone(dt.UTC).replace(tzinfo=None) if dialect.name == "sqlite" else when

    def process_result_value(self, value: Any, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        when: dt.datetime = value
        if when.tzinfo is None:
            return when.replace(tzinfo=dt.UTC)
        return when.astimezone(dt.UTC)


users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=True),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("quota_bytes", BigInteger, nullable=True),
    # The sum of the user's Files' sizes, kept by repo.add_file and repo.delete_file in the
    # transaction that changes them: a quota check reads one row, not every File.
    Column("used_bytes", BigInteger, nullable=False, server_default="0"),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Index("ix_tokens_user_id", "user_id"),
)

files = Table(
    "files",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(1024), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content_type", String(255), nullable=False),
    Column("visibility", String(16), nullable=False),
    Column("storage_key", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("thumbnail_key", String(64), nullable=True),
    # Set by ``airlock rescan`` when the scanner flags a stored File: never served again, and
    # kept (expiry or not) until an admin deletes it.
    Column("quarantined_at", UTCDateTime, nullable=True),
    Column("quarantine_reason", String(512), nullable=True),
    # Served only as an attachment whatever its type: a PDF with active content, accepted
    # because AIRLOCK_PDF_ACTIVE_CONTENT=attachment.
    Column("attachment_only", Boolean, nullable=False, server_default=false()),
    # Null: the bytes are in the service's storage; else the upload set whose storage of its
    # own holds them (the Flask extension's ``UploadSet(storage=…)``).
    Column("store", String(64), nullable=True),
    Column("drop_id", String(32), nullable=True),  # the drop link it came through, if any
    Index("ix_files_owner_created", "owner_id", "created_at", "id"),
    Index("ix_files_expires_at", "expires_at"),
)

links = Table(
    "links",
    metadata,
    Column("id", String(32), primary_key=True),
    # The File of a link to one; null for a link to several (``link_files``).
    Column("file_id", String(32), ForeignKey("files.id", ondelete="CASCADE"), nullable=True),
    Column("owner_id", Integer, nullable=True),  # null only for links made before it was kept
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),  # null: never
    Column("max_downloads", Integer, nullable=True),
    Column("downloads", Integer, nullable=False, default=0),
    # The address's secret, so that its owner can copy it again (links made before it was
    # kept have none); lookups go by ``token_hash``.
    Column("token", String(64), nullable=True),
    Column("password_hash", String(255), nullable=True),  # as account passwords; null: none
    Index("ix_links_file_id", "file_id"),
    Index("ix_links_owner_id", "owner_id"),
)

# The Files of a link to several, in the order they were given.
link_files = Table(
    "link_files",
    metadata,
    Column("link_id", String(32), ForeignKey("links.id", ondelete="CASCADE"), nullable=False),
    Column("file_id", String(32), ForeignKey("files.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("link_id", "file_id"),
    Index("ix_link_files_file_id", "file_id"),
)

uploads = Table(
    "uploads",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("length", BigInteger, nullable=True),  # None: deferred (creation-defer-length)
    Column("offset", BigInteger, nullable=False, default=0),
    Column("metadata", String(4096), nullable=False, default=""),
    Column("filename", String(1024), nullable=False, default=""),
    Column("visibility", String(16), nullable=False),
    Column("concat", String(16), nullable=False, default=""),
    Column("parts", String(4096), nullable=False, default=""),
    Column("head_checked", Boolean, nullable=False, default=False),
    # The running SHA-256 (``core.sha256_state``) of exactly the first ``offset`` bytes, or
    # None when unknown (then the bytes are hashed again at the end).
    Column("sha256_state", LargeBinary, nullable=True),
    Column("lock_token", String(64), nullable=True),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("file_id", String(32), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("drop_id", String(32), nullable=True),  # made through a drop link: only it resumes it
    Index("ix_uploads_expires_at", "expires_at"),
)

# Drop links: anyone with the address uploads into the owner's space, within the limits.
drops = Table(
    "drops",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("token", String(64), nullable=False),  # kept so that its owner can copy it again
    Column("password_hash", String(255), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),  # null: never
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("max_files", Integer, nullable=True),
    Column("max_bytes", BigInteger, nullable=True),
    # What arrived so far, counted in the transaction that writes each File's row.
    Column("files", Integer, nullable=False, server_default="0"),
    Column("bytes", BigInteger, nullable=False, server_default="0"),
    Index("ix_drops_owner_id", "owner_id"),
)

direct_uploads = Table(
    "direct_uploads",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("storage_key", String(64), nullable=False),
    Column("filename", String(1024), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("visibility", String(16), nullable=False),
    Column("file_expires_in", BigInteger, nullable=True),  # the File's expiry, once it is one
    Column("claimed_until", UTCDateTime, nullable=True),  # a completion under way
    Column("file_id", String(32), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_direct_uploads_expires_at", "expires_at"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 of the cookie's secret
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_sessions_user_id", "user_id"),
    Index("ix_sessions_expires_at", "expires_at"),
)

# Failed sign-ins per key ("user:NAME" or "addr:IP") in the current fixed window.
login_failures = Table(
    "login_failures",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_start", UTCDateTime, nullable=False),
)

# One row per upload decision, for the admin page's chart and recent rejections.
upload_events = Table(
    "upload_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("username", String(64), nullable=False),
    Column("name", String(1024), nullable=False),
    Column("size", BigInteger, nullable=True),
    Column("outcome", String(16), nullable=False),  # "stored" | "rejected"
    Column("code", String(64), nullable=False, default=""),
    Column("message", String(1024), nullable=False, default=""),
    Index("ix_upload_events_at", "at"),
)

# Every process that writes bytes (``airlock.writers``): its tag, where it runs and how long
# its lease lasts. Keys and staging ids carry the tag of the process that made them.
writers = Table(
    "writers",
    metadata,
    Column("tag", String(16), primary_key=True),
    Column("host", String(255), nullable=False),  # hostname/boot id/pid namespace
    Column("pid", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)
