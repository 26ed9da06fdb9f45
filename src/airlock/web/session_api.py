"""``/api/v1/session``: browser sign-in and sign-out."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from airlock import shapes
from airlock.errors import Unauthorized
from airlock.web.auth import COOKIE, browser_session, require_csrf
from airlock.web.body import json_body
from airlock.web.errors import translate_within
from airlock.web.state import state

session_bp = translate_within(Blueprint("airlock_session", __name__))


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@session_bp.post("/session")
def sign_in() -> Response:
    # A JSON body is required: a cross-site HTML form cannot send one, so nobody can sign a
    # visitor into an account of theirs (login CSRF).
    body = json_body(shapes.SIGN_IN)
    username, password = body["username"], body["password"]
    st = state()
    earlier = browser_session()
    if earlier is not None:  # signing in again ends this browser's session before it
        st.sessions.sign_out(earlier[1])
    signed = st.sessions.sign_in(username, password, request.remote_addr or "unknown")
    response = jsonify({"username": signed.user.username, "csrf_token": signed.session.csrf_token})
    response.set_cookie(
        COOKIE,
        signed.secret,
        max_age=st.settings.session_lifetime,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=st.settings.cookie_secure or request.is_secure,
    )
    return _no_store(response)


@session_bp.get("/session")
def current_session() -> Response:
    found = browser_session()
    if found is None:
        raise Unauthorized("Not signed in.")
    user, session = found
    return _no_store(jsonify({"username": user.username, "csrf_token": session.csrf_token}))


@session_bp.delete("/session")
def sign_out() -> Response:
    found = browser_session()
    if found is not None:
        require_csrf(found[1])
        state().sessions.sign_out(found[1])
    response = Response(status=204)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Lax")
    return _no_store(response)
