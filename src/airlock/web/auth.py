"""Who is calling: a bearer token (``Authorization: Bearer …``) or the browser session cookie.

Cookie-authenticated unsafe requests must carry the session's CSRF token in ``X-CSRF-Token``:
a browser attaches cookies to cross-site form posts, but no other site can read the token.
Bearer tokens are never sent by a browser on its own, so they need no CSRF token.
"""

from __future__ import annotations

from flask import g, request

from airlock.db.records import Session, User
from airlock.errors import Forbidden, Unauthorized
from airlock.sessions import Sessions
from airlock.web.state import state

COOKIE = "airlock_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def browser_session() -> tuple[User, Session] | None:
    """The signed-in user and session of the request's cookie, or None (no CSRF check)."""
    if "airlock_session" not in g:
        secret = request.cookies.get(COOKIE)
        g.airlock_session = state().sessions.resolve(secret) if secret else None
    return g.airlock_session  # type: ignore[no-any-return]


def require_csrf(session: Session) -> None:
    """``Forbidden`` unless an unsafe request carries the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    if not Sessions.csrf_ok(session, request.headers.get("X-CSRF-Token")):
        raise Forbidden("This request needs your session's CSRF token in X-CSRF-Token.")


def optional_user() -> User | None:
    """The caller, or None when no credentials were sent; a bad bearer token is
    ``Unauthorized``, a cookie-authenticated unsafe request without its CSRF token
    ``Forbidden``."""
    if "airlock_user" in g:
        return g.airlock_user  # type: ignore[no-any-return]
    header = request.headers.get("Authorization", "")
    user = None
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthorized("Use 'Authorization: Bearer <token>'.")
        user = state().accounts.authenticate(secret.strip())
    else:
        found = browser_session()
        if found is not None:
            require_csrf(found[1])
            user = found[0]
    g.airlock_user = user
    return user


def current_user() -> User:
    """The authenticated caller; ``Unauthorized`` when there is none."""
    user = optional_user()
    if user is None:
        raise Unauthorized("Authentication is required.")
    return user


def session_user() -> User | None:
    """The signed-in browser user, for pages (which are safe requests)."""
    found = browser_session()
    return found[0] if found else None


def csrf_token() -> str | None:
    """The CSRF token of the request's session, for pages to hand to their scripts."""
    found = browser_session()
    return found[1].csrf_token if found else None
