"""Users and their API tokens: creation, sign-in checks, bearer-token authentication."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from airlock.core.ids import new_id, new_secret, secret_digest
from airlock.core.passwords import hash_password, verify_password
from airlock.db import repo
from airlock.db import sessions_repo as srepo
from airlock.db.engine import Database
from airlock.db.records import Token, User
from airlock.errors import BadRequest, Conflict, NotFound, Unauthorized

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Refresh a token's last_used_at at most this often, so reads do not all become writes.
_TOUCH_EVERY = dt.timedelta(minutes=5)


@functools.cache
def _dummy_hash() -> str:
    return hash_password(new_secret())


def _checked(password: str | None) -> str:
    if password is None or len(password) < 8:
        raise BadRequest("A password needs at least 8 characters.")
    return password


@dataclass(frozen=True)
class NewToken:
    """A token just made; ``secret`` is shown this once and never stored."""

    token: Token
    secret: str


class Accounts:
    """User and token use cases."""

    def __init__(self, db: Database, clock: Callable[[], dt.datetime]) -> None:
        self.db = db
        self.clock = clock

    def add_user(
        self, username: str, password: str | None, is_admin: bool = False,
        quota_bytes: int | None = None,
    ) -> User:  # fmt: skip
        """Create a user; ``BadRequest`` for a bad name, ``Conflict`` when it exists in any
        case (``Alice`` beside ``alice``)."""
        if not USERNAME_RE.match(username):
            raise BadRequest(
                "A user name is 1-64 letters, digits, '.', '_' or '-', starting with a letter "
                "or digit."
            )
        hashed = hash_password(_checked(password)) if password else None
        try:
            with self.db.write() as conn:
                if repo.user_by_name(conn, username) is not None:
                    raise Conflict(f"User {username!r} exists already.")
                return repo.add_user(conn, username, hashed, is_admin, quota_bytes, self.clock())
        except IntegrityError:
            raise Conflict(f"User {username!r} exists already.") from None

    def ensure_user(self, username: str) -> User:
        """The user named ``username``, made on first sight without a password (a user the
        host app signs in: it has no Airlock password to sign in with); ``BadRequest`` for a
        name Airlock does not accept."""
        with self.db.read() as conn:
            user = repo.user_by_name(conn, username)
        if user is not None:
            return user
        try:
            return self.add_user(username, None)
        except Conflict:  # made by a request of the same user's that got there first
            return self.user(username)

    def user(self, username: str) -> User:
        with self.db.read() as conn:
            user = repo.user_by_name(conn, username)
        if user is None:
            raise NotFound(f"No user {username!r}.")
        return user

    def users(self) -> list[User]:
        with self.db.read() as conn:
            return repo.list_users(conn)

    def set_password(self, user: User, password: str, keep_session: str | None = None) -> None:
        """Give ``user`` a new password (at least 8 characters); every browser session of
        theirs ends but ``keep_session`` (the one that asked, when they changed it
        themselves). API tokens stay."""
        hashed = hash_password(_checked(password))
        with self.db.write() as conn:
            repo.set_password_hash(conn, user.id, hashed)
            srepo.remove_for_user(conn, user.id, keep=keep_session)

    def count_users(self) -> int:
        with self.db.read() as conn:
            return repo.count_users(conn)

    def check_password(self, username: str, password: str) -> User:
        """The user, if the password is right and the account enabled; ``Unauthorized``."""
        with self.db.read() as conn:
            user = repo.user_by_name(conn, username)
        # An unknown name costs one hash too, so timing does not tell which names exist.
        stored = user.password_hash if user is not None else _dummy_hash()
        if not verify_password(password, stored) or user is None or user.disabled:
            raise Unauthorized("Wrong user name or password.")
        return user

    def create_token(self, user: User, name: str) -> NewToken:
        """A new API token of ``user`` named ``name`` (as ``shapes.TOKEN_REQUEST`` accepts it,
        kept without surrounding spaces), with its secret; ``Conflict`` for a disabled user
        (whose tokens would not work)."""
        if user.disabled:
            raise Conflict(f"User {user.username!r} is disabled: enable it before making a token.")
        secret = new_secret()
        with self.db.write() as conn:
            token = repo.add_token(
                conn, new_id(), user.id, name.strip(), secret_digest(secret), self.clock()
            )
        return NewToken(token, secret)

    def list_tokens(self, user: User) -> list[Token]:
        with self.db.read() as conn:
            return repo.list_tokens(conn, user.id)

    def delete_token(self, user: User, token_id: str) -> None:
        with self.db.write() as conn:
            if not repo.delete_token(conn, user.id, token_id):
                raise NotFound("No such token.")

    def authenticate(self, secret: str) -> User:
        """The user a bearer token belongs to; ``Unauthorized`` for unknown tokens and disabled
        users."""
        if not secret or len(secret) > 256:
            raise Unauthorized()
        digest = secret_digest(secret)
        with self.db.read() as conn:
            found = repo.user_for_token(conn, digest)
        if found is None or found[0].disabled:
            raise Unauthorized("The token is not valid.")
        user, token_id, last_used = found
        now = self.clock()
        if last_used is None or now - last_used > _TOUCH_EVERY:
            with self.db.write() as conn:
                repo.touch_token(conn, token_id, now)
        return user

    def usage(self, user: User, default_quota: int) -> dict[str, Any]:
        """``GET /me``: who the caller is and how much they store."""
        with self.db.read() as conn:
            used = repo.used_bytes(conn, user.id)
        quota = user.quota_bytes if user.quota_bytes is not None else (default_quota or None)
        return {
            "username": user.username,
            "is_admin": user.is_admin,
            "quota_bytes": quota,
            "used_bytes": used,
        }
