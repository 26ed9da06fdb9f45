"""Drop links (guest uploads): an address (``/d/TOKEN``) where anyone who has it uploads Files
into its owner's space, without an account, through every check an upload gets: within the
link's expiry and its limits on files and bytes (counted in the transaction that writes each
File's row, so they hold under concurrency), the owner's quota, and a limit on uploads per
client address. The Files are the owner's and private; the uploader sees nothing of theirs.
A drop link may need a password (``airlock.gates``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from airlock.accounts import Accounts
from airlock.attempts import Attempts
from airlock.config import Settings
from airlock.core.ids import new_id, new_secret, secret_digest
from airlock.core.passwords import hash_password
from airlock.core.rules import SetRules
from airlock.core.timefmt import lifetime_end
from airlock.db import drops_repo, repo
from airlock.db.engine import Database
from airlock.db.records import Drop, User
from airlock.errors import DropClosed, NotFound, PasswordRequired
from airlock.gates import Gate, Offered
from airlock.service import UploadOptions
from airlock.shapes import DROP_REQUEST


class Drops:
    """Create, list and revoke drop links; open one for an upload."""

    def __init__(
        self, settings: Settings, db: Database, accounts: Accounts,
        clock: Callable[[], dt.datetime],
    ) -> None:  # fmt: skip
        self.settings = settings
        self.db = db
        self.accounts = accounts
        self.clock = clock
        self.attempts = Attempts(db, clock)
        self.gate = Gate(self.attempts, settings.login_attempts, clock)

    # The owner's side ----------------------------------------------------------------------

    def create(self, user: User, body: dict[str, Any]) -> Drop:
        """A new drop link of ``user``'s from a ``DropRequest`` body: ``name`` (what it is
        for), ``expires_in`` seconds (null: never, where ``AIRLOCK_MAX_LINK_LIFETIME`` is 0),
        at most ``max_files`` Files and ``max_bytes`` bytes (null: no limit but the quota),
        and ``password`` if given."""
        values = DROP_REQUEST.parse(body)
        now = self.clock()
        expires_at = lifetime_end(
            now, values["expires_in"], self.settings.max_link_lifetime, "Drop links"
        )
        token = new_secret("")
        password = values.get("password")
        drop = Drop(
            id=new_id(), owner_id=user.id, name=values["name"].strip(), token=token,
            password_hash=hash_password(password) if password else None, created_at=now,
            expires_at=expires_at, revoked_at=None, max_files=values.get("max_files"),
            max_bytes=values.get("max_bytes"), files=0, bytes=0,
        )  # fmt: skip
        with self.db.write() as conn:
            drops_repo.add(
                conn, id=drop.id, owner_id=user.id, name=drop.name,
                token_hash=secret_digest(token), token=token, password_hash=drop.password_hash,
                created_at=now, expires_at=expires_at, max_files=drop.max_files,
                max_bytes=drop.max_bytes,
            )  # fmt: skip
        return drop

    def of_owner(self, user: User) -> list[Drop]:
        """``user``'s drop links, newest first, revoked and expired ones included."""
        with self.db.read() as conn:
            return drops_repo.of_owner(conn, user.id)

    def revoke(self, user: User, drop_id: str) -> None:
        """Close a drop link of ``user``'s (or any, for an admin): it answers ``410 gone``
        from now on; what arrived through it stays. ``NotFound`` for anyone else's."""
        with self.db.read() as conn:
            drop = drops_repo.by_id(conn, drop_id)
        if drop is None or (drop.owner_id != user.id and not user.is_admin):
            raise NotFound("No such drop link.")
        with self.db.write() as conn:
            drops_repo.revoke(conn, drop_id, self.clock())

    # The uploader's side -------------------------------------------------------------------

    def look(self, token: str) -> tuple[Drop, User]:
        """The drop link behind ``token`` and its owner, asking for no password (for the drop
        page, which shows only that one is needed). ``NotFound`` for a forged token;
        ``DropClosed`` once revoked, expired or full, or while its owner is disabled."""
        if not token or len(token) > 128:
            raise NotFound("No such drop link.")
        with self.db.read() as conn:
            drop = drops_repo.by_hash(conn, secret_digest(token))
            owner = repo.get_user(conn, drop.owner_id) if drop is not None else None
        if drop is None or owner is None:
            raise NotFound("No such drop link.")
        if drop.revoked_at is not None:
            raise DropClosed("This drop link was closed by its owner.")
        if drop.expires_at is not None and drop.expires_at <= self.clock():
            raise DropClosed("This drop link has expired.")
        if drop.full():
            raise DropClosed("This drop link is full.")
        if owner.disabled:
            raise DropClosed("This drop link is closed.")
        return drop, owner

    def unlocked(self, drop: Drop, offered: Offered) -> bool:
        """Whether ``offered`` opens ``drop`` (``gates.Gate.opens``)."""
        return self.gate.opens(f"drop:{drop.id}", drop.password_hash, offered)

    def open(self, token: str, offered: Offered) -> tuple[Drop, User]:
        """``look``, then ``PasswordRequired`` until a drop link's password is offered."""
        drop, owner = self.look(token)
        if not self.unlocked(drop, offered):
            raise PasswordRequired("This drop link needs its password.")
        return drop, owner

    def unlock(self, token: str, offered: Offered) -> tuple[str, str, int]:
        """For the drop page's password form: the unlock cookie (name, value, lifetime) when
        ``offered.password`` is right; ``PasswordRequired`` when wrong."""
        drop, _owner = self.look(token)
        if drop.password_hash is None or not self.unlocked(drop, offered):
            raise PasswordRequired("Wrong password.")
        return self.gate.cookie(token, f"drop:{drop.id}", drop.password_hash)

    def admit(self, drop: Drop, address: str) -> None:
        """Count one upload from ``address`` through ``drop``; ``RateLimited`` past
        ``AIRLOCK_DROP_UPLOADS_PER_ADDRESS`` in 15 minutes."""
        self.attempts.take(
            [(f"drop-up:{drop.id}:{address[:100]}", self.settings.drop_uploads_per_address)],
            "Too many uploads from your address to this drop link; try again later.",
        )

    @staticmethod
    def options(drop: Drop) -> UploadOptions:
        """How a File arriving through ``drop`` is stored: private, kept until its owner
        decides, and no larger than the room the link has left."""
        room = drop.room()
        rules = SetRules("this drop link", None, room) if room is not None else None
        return UploadOptions(rules=rules, drop_id=drop.id)
