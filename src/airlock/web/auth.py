"""Who is calling: bearer tokens (``Authorization: Bearer …``)."""

from __future__ import annotations

from flask import g, request

from airlock.db.records import User
from airlock.errors import Unauthorized
from airlock.web.state import state


def optional_user() -> User | None:
    """The caller, or None when no credentials were sent; bad credentials are ``Unauthorized``."""
    if "airlock_user" in g:
        return g.airlock_user  # type: ignore[no-any-return]
    header = request.headers.get("Authorization", "")
    user = None
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthorized("Use 'Authorization: Bearer <token>'.")
        user = state().accounts.authenticate(secret.strip())
    g.airlock_user = user
    return user


def current_user() -> User:
    """The authenticated caller; ``Unauthorized`` when there is none."""
    user = optional_user()
    if user is None:
        raise Unauthorized("Authentication is required.")
    return user
