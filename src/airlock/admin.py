"""Administration use cases: users (add, disable, quota), quarantined Files (list, release)
and what happened to uploads lately. Every call that takes an ``actor`` is for admins only
(``Forbidden`` for anyone else); those without one are the command line's, whose operator has
the data directory and so every right already."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Any

from airlock.accounts import Accounts
from airlock.config import Settings
from airlock.core.pagination import decode_cursor, encode_cursor, parse_limit
from airlock.core.timefmt import rfc3339
from airlock.db import admin_repo, repo
from airlock.db import sessions_repo as srepo
from airlock.db.engine import Database
from airlock.db.records import FileRecord, User
from airlock.errors import BadRequest, Conflict, Forbidden, NotFound
from airlock.shapes import NEW_USER, USER_UPDATE
from airlock.storage.base import Storage

log = logging.getLogger("airlock.admin")
MAX_DAYS = 90
RECENT_REJECTIONS = 20


def _require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise Forbidden("Only administrators may do this.")


class Admin:
    def __init__(
        self, settings: Settings, db: Database, accounts: Accounts,
        clock: Callable[[], dt.datetime], storage_of: Callable[[FileRecord], Storage],
    ) -> None:  # fmt: skip
        self.settings = settings
        self.db = db
        self.accounts = accounts
        self.clock = clock
        self.storage_of = storage_of  # where a File's bytes are (``Service.storage_of``)

    def _user_json(self, user: User, used: int, count: int) -> dict[str, Any]:
        quota = user.quota_bytes if user.quota_bytes is not None else (
            self.settings.default_quota or None
        )
        return {
            "username": user.username,
            "is_admin": user.is_admin,
            "disabled": user.disabled,
            "quota_bytes": quota,
            "used_bytes": used,
            "files": count,
            "created_at": rfc3339(user.created_at),
        }

    def _one(self, username: str) -> dict[str, Any]:
        with self.db.read() as conn:
            found = admin_repo.users_with_usage(conn, username)
        if not found:
            raise NotFound(f"No user {username!r}.")
        return self._user_json(*found[0])

    def users(self, actor: User) -> list[dict[str, Any]]:
        """Every user with usage, by name."""
        _require_admin(actor)
        return self.users_listed()

    def users_listed(self) -> list[dict[str, Any]]:
        """``users`` for the command line."""
        with self.db.read() as conn:
            rows = admin_repo.users_with_usage(conn)
        return [self._user_json(*row) for row in rows]

    def add_user(self, actor: User, body: dict[str, Any]) -> dict[str, Any]:
        """Create a user from a ``NewUser`` body (``quota_bytes`` null or left out: the default
        quota) and answer it with usage; ``Forbidden`` for a non-admin, whatever the body."""
        _require_admin(actor)
        new = NEW_USER.parse(body)
        user = self.accounts.add_user(
            new["username"], new["password"], new.get("is_admin", False), new.get("quota_bytes")
        )
        return self._one(user.username)

    def update_user(self, actor: User, username: str, body: dict[str, Any]) -> dict[str, Any]:
        """Apply a ``UserUpdate`` body (any of ``disabled``, ``is_admin``, ``quota_bytes``:
        null for the default quota, and ``password``: a reset, which ends the user's browser
        sessions). Disabling ends the user's sessions and revokes their API tokens for good
        (enabling them again revives none). Admins cannot disable or demote themselves, so
        there is always one left."""
        _require_admin(actor)
        values = USER_UPDATE.parse(body)
        password = values.pop("password", None)
        target = self.accounts.user(username)
        if target.id == actor.id and (values.get("disabled") or values.get("is_admin") is False):
            raise BadRequest("You cannot disable or demote your own account.")
        if password is not None:
            self.accounts.set_password(target, password)
        if values:
            with self.db.write() as conn:
                admin_repo.update_user(conn, target.id, **values)
                if values.get("disabled"):
                    srepo.remove_for_user(conn, target.id)
                    repo.delete_tokens_of(conn, target.id)
        return self._one(target.username)

    def delete_user(self, actor: User, username: str) -> int:
        """Delete a user with everything of theirs: Files (and their bytes), links, drop
        links, tokens, sessions, uploads in flight. How many Files went. Admins cannot delete
        themselves."""
        _require_admin(actor)
        target = self.accounts.user(username)
        if target.id == actor.id:
            raise BadRequest("You cannot delete your own account.")
        return self.remove_user(target)

    def remove_user(self, target: User) -> int:
        """``delete_user`` for the command line."""
        with self.db.write() as conn:
            records = repo.files_of_user(conn, target.id)
            repo.delete_user(conn, target.id)
        for record in records:  # the rows are gone: what fails here, gc finds orphaned
            try:
                storage = self.storage_of(record)
                for key in record.storage_keys:
                    storage.delete(key)
            except Exception:
                log.warning("bytes of file %s stay for gc", record.id, exc_info=True)
        log.info(json.dumps({"event": "user_deleted", "username": target.username,
                             "files": len(records)}))  # fmt: skip
        return len(records)

    # Quarantine ------------------------------------------------------------------------------

    def quarantine(
        self, actor: User, limit: str | None, cursor: str | None
    ) -> tuple[list[FileRecord], str | None]:
        """One page (``limit``: 1 to 500, default 50) of the quarantined Files, most recently
        quarantined first, and the cursor of the next page (None at the end)."""
        _require_admin(actor)
        return self.quarantined(parse_limit(limit), cursor)

    def quarantined(self, limit: int, cursor: str | None) -> tuple[list[FileRecord], str | None]:
        """``quarantine`` for the command line."""
        after = decode_cursor(cursor) if cursor else None
        with self.db.read() as conn:
            page = admin_repo.quarantined_files(conn, limit + 1, after)
        more = len(page) > limit
        page = page[:limit]
        last = page[-1] if page else None
        nxt = None
        if more and last is not None and last.quarantined_at is not None:
            nxt = encode_cursor(last.quarantined_at, last.id)
        return page, nxt

    def release(self, actor: User, file_id: str) -> FileRecord:
        """Clear a File's quarantine (the scanner was wrong): its bytes are served again. The
        File as it is now; ``NotFound`` when there is no such File, ``Conflict`` when it is not
        quarantined."""
        _require_admin(actor)
        return self.release_by(actor.username, file_id, via="api")[0]

    def release_by(self, admin: str, file_id: str, via: str) -> tuple[FileRecord, str]:
        """``release`` on behalf of ``admin`` (for the command line: the operator's login):
        the File as it is now and the signature it was released from. Logged as one
        structured line naming who released which File from which signature. A later
        ``airlock rescan`` scans the File again like any other."""
        with self.db.write() as conn:
            record = repo.get_file(conn, file_id)
            if record is None:
                raise NotFound("No such file.")
            if record.quarantined_at is None or not admin_repo.release_file(conn, file_id):
                raise Conflict("This file is not quarantined.")
            released = repo.get_file(conn, file_id)
        if released is None:  # pragma: no cover - the row was just updated in this transaction
            raise NotFound("No such file.")
        signature = record.quarantine_reason or ""
        log.warning(json.dumps({
            "event": "quarantine_release",
            "admin": admin,
            "via": via,
            "file_id": record.id,
            "signature": signature,
            "quarantined_at": rfc3339(record.quarantined_at),
            "owner": record.owner,
            "name": record.name,
        }, ensure_ascii=False))  # fmt: skip
        return released, signature

    # Statistics ------------------------------------------------------------------------------

    def stats(self, actor: User, days: Any) -> dict[str, Any]:
        """Storage in use, uploads and rejections per UTC day (oldest first), recent
        rejections."""
        _require_admin(actor)
        try:
            n = 14 if days in (None, "") else int(days)
        except (TypeError, ValueError):
            raise BadRequest("days must be a whole number.") from None
        if not 1 <= n <= MAX_DAYS:
            raise BadRequest(f"days must be between 1 and {MAX_DAYS}.")
        today = self.clock().astimezone(dt.UTC).date()
        first = today - dt.timedelta(days=n - 1)
        since = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
        with self.db.read() as conn:
            counts = admin_repo.daily_counts(conn, since)
            files, size = admin_repo.storage_totals(conn)
            recent = admin_repo.recent_rejections(conn, RECENT_REJECTIONS)
            users = repo.count_users(conn)
        series = []
        for i in range(n):
            day = (first + dt.timedelta(days=i)).isoformat()
            series.append({
                "date": day,
                "uploads": counts.get((day, "stored"), 0),
                "rejections": counts.get((day, "rejected"), 0),
            })  # fmt: skip
        return {
            "storage": {"files": files, "bytes": size, "users": users},
            "days": series,
            "recent_rejections": [
                {"at": rfc3339(e.at), "username": e.username, "name": e.name, "code": e.code,
                 "message": e.message}  # fmt: skip
                for e in recent
            ],
        }

    def collect(self, now: dt.datetime, keep_days: int = MAX_DAYS) -> int:
        """Forget upload events older than the longest chart (``airlock gc``)."""
        with self.db.write() as conn:
            return admin_repo.remove_events_before(conn, now - dt.timedelta(days=keep_days))
