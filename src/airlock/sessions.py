"""Browser sign-in: server-side sessions with a CSRF token each, and sign-in rate limiting.

The cookie carries a 256-bit secret; the database keeps only its digest, the user and the CSRF
token. Signing out deletes the row, so a copied cookie stops working at once. Sign-in attempts
are limited per user name and per client address (``airlock.attempts``).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from airlock.accounts import Accounts
from airlock.attempts import Attempts
from airlock.config import Settings
from airlock.core.ids import new_secret, same_secret, secret_digest
from airlock.db import repo
from airlock.db import sessions_repo as srepo
from airlock.db.engine import Database
from airlock.db.records import Session, User
from airlock.db.room import write_making_room
from airlock.errors import Forbidden, Unauthorized

# An address may fail this many times the per-name limit: enough for a shared office NAT,
# too few to try many passwords against many names.
ADDRESS_FACTOR = 5
SESSION_PREFIX = "als_"


@dataclass(frozen=True)
class SignedIn:
    """A new session: ``secret`` goes into the cookie and is not kept anywhere."""

    user: User
    secret: str
    session: Session


class Sessions:
    """Sign in, resolve a cookie, sign out."""

    def __init__(
        self, settings: Settings, db: Database, accounts: Accounts, clock: Callable[[], dt.datetime]
    ) -> None:
        self.settings = settings
        self.db = db
        self.accounts = accounts
        self.clock = clock
        self.attempts = Attempts(db, clock)

    def _limits(self, username: str, address: str) -> list[tuple[str, int]]:
        per_name = self.settings.login_attempts
        return [
            (f"user:{username.lower()[:100]}", per_name),
            (f"addr:{address[:100]}", per_name * ADDRESS_FACTOR),
        ]

    def sign_in(self, username: str, password: str, address: str) -> SignedIn:
        """A new session for the right password. ``RateLimited`` (with the seconds to wait)
        while the name or the address has used up its attempts, even for the right password;
        ``Unauthorized`` otherwise. A wrong password counts against both; a right one clears
        the name's count and does not count against the address."""
        now = self.clock()
        limits = self._limits(username, address)
        self.attempts.take(limits, "Too many failed sign-ins; try again later.")
        user = self.accounts.check_password(username, password)
        secret = new_secret(SESSION_PREFIX)
        session = Session(
            id=secret_digest(secret),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + dt.timedelta(seconds=self.settings.session_lifetime),
        )

        self.attempts.succeeded(limits, also=lambda conn: srepo.add(conn, session))
        return SignedIn(user, secret, session)

    def resolve(self, secret: str) -> tuple[User, Session] | None:
        """The enabled user and live session behind a cookie's secret, or None."""
        if not secret.startswith(SESSION_PREFIX) or len(secret) > 128:
            return None
        with self.db.read() as conn:
            session = srepo.get(conn, secret_digest(secret), self.clock())
            user = repo.get_user(conn, session.user_id) if session else None
        if session is None or user is None or user.disabled:
            return None
        return user, session

    def change_password(
        self, user: User, current: str, new: str, session: Session | None = None
    ) -> None:
        """``user``'s own password change: ``current`` must be right (tried a limited number
        of times, as sign-ins; ``Forbidden`` when wrong). Every other browser session of
        theirs ends; ``session`` (the one asking) stays."""
        limits = [(f"passwd:{user.id}", self.settings.login_attempts)]
        self.attempts.take(limits, "Too many wrong passwords; try again later.")
        try:
            self.accounts.check_password(user.username, current)
        except Unauthorized:
            raise Forbidden("That is not your current password.") from None
        self.attempts.succeeded(limits)
        self.accounts.set_password(user, new, keep_session=session.id if session else None)

    @staticmethod
    def csrf_ok(session: Session, sent: str | None) -> bool:
        """Whether ``sent`` is this session's CSRF token (constant-time)."""
        return bool(sent) and same_secret(session.csrf_token, sent or "")

    def sign_out(self, session: Session) -> None:
        write_making_room(self.db, lambda conn: srepo.remove(conn, session.id))

    def collect(self, now: dt.datetime) -> int:
        """Remove expired sessions and finished failure windows (``airlock gc``)."""
        self.attempts.collect(now)
        with self.db.write() as conn:
            return srepo.remove_expired(conn, now)
