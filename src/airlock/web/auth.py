"""Who is calling: a bearer token (``Authorization: Bearer …``), Airlock's browser session
cookie, or, in a host app that set ``@airlock.user_loader``, the host's signed-in user.

Cookie-authenticated unsafe requests must carry a CSRF token: a browser attaches cookies to
cross-site form posts, but no other site can read the token. Airlock's own session has its
token; a host's session uses Airlock's token for it (``host_csrf_token``, kept in the host's
Flask session) or, with ``csrf="flask-wtf"``, Flask-WTF's. Bearer tokens are never sent by a
browser on its own, so they need no CSRF token.
"""

from __future__ import annotations

import secrets

from flask import g, request, session

from airlock.core.ids import same_secret
from airlock.db.records import Session, User
from airlock.errors import BadRequest, Forbidden, Unauthorized
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
        else:
            user = host_user()
    g.airlock_user = user
    return user


def host_user(check_csrf: bool = True) -> User | None:
    """The host app's signed-in user (``Host.user_loader``), their owner record made on first
    sight; ``Unauthorized`` when Airlock's admin disabled it, ``Forbidden`` for an unsafe
    request without the CSRF token (unless not ``check_csrf``: in the host's own views CSRF
    is the host's to check). A name Airlock cannot take is the host's bug: an error."""
    st = state()
    loader = st.host.user_loader
    name = loader() if loader is not None else None
    if name is None:
        return None
    try:
        user = st.accounts.ensure_user(name)
    except BadRequest:
        raise ValueError(
            f"user_loader returned {name!r}: a user name is 1-64 letters, digits, '.', '_' "
            "or '-', starting with a letter or digit"
        ) from None
    if user.disabled:
        raise Unauthorized("This account is disabled.")
    if check_csrf and request.method not in SAFE_METHODS:
        _require_host_csrf(st.host.csrf)
    return user


_HOST_CSRF = "airlock_csrf"  # key of Airlock's CSRF token in the host's Flask session


def host_csrf_token() -> str:
    """The CSRF token for the host's signed-in user, for the host's pages to send in
    ``X-CSRF-Token``: Airlock's (made on first use and kept in the host's Flask session) or,
    with ``csrf="flask-wtf"``, Flask-WTF's."""
    if state().host.csrf == "flask-wtf":
        from flask_wtf.csrf import generate_csrf

        return str(generate_csrf())
    token = session.get(_HOST_CSRF)
    if not isinstance(token, str):
        token = session[_HOST_CSRF] = secrets.token_urlsafe(32)
    return token


def _require_host_csrf(mode: str) -> None:
    sent = request.headers.get("X-CSRF-Token") or request.headers.get("X-CSRFToken")
    if mode == "flask-wtf":
        from flask_wtf.csrf import validate_csrf
        from wtforms import ValidationError

        try:
            validate_csrf(sent)
        except ValidationError:
            raise Forbidden("This request needs the page's CSRF token in X-CSRFToken.") from None
        return
    expected = session.get(_HOST_CSRF)
    if not (isinstance(expected, str) and sent and same_secret(sent, expected)):
        raise Forbidden("This request needs your session's CSRF token in X-CSRF-Token.")


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
