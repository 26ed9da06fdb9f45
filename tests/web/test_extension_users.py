"""The host app's users: a Flask-Login app tells Airlock who is signed in
(``@airlock.user_loader``), and its session then authenticates Airlock's routes, with CSRF
checked by Airlock's own token or, with ``csrf="flask-wtf"``, by Flask-WTF's."""

from __future__ import annotations

import io

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from airlock import Airlock
from airlock.db import admin_repo
from tests.support.hostapp import PREFIX, host_app


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Flask]:
    app, _ = host_app(tmp_path)
    yield app
    app.extensions["airlock"].db.dispose()


def sign_in(app: Flask, name: str) -> tuple[FlaskClient, dict[str, str]]:
    web = app.test_client()
    tokens = web.post(f"/login/{name}").json
    return web, tokens


def test_the_signed_in_user_uploads_and_owns_the_file(host: Flask) -> None:
    web, tokens = sign_in(host, "alice")
    csrf = {"X-CSRF-Token": tokens["airlock"]}
    r = web.put(f"{PREFIX}/files/notes.txt", data=b"alice's notes\n", headers=csrf)
    assert r.status_code == 201, r.json
    assert r.json["owner"] == "alice"
    assert web.get(f"{PREFIX}/me").json["username"] == "alice"
    assert [f["name"] for f in web.get(f"{PREFIX}/files").json["files"]] == ["notes.txt"]
    assert web.get(r.json["links"]["content"]).data == b"alice's notes\n"
    # The owner record has no password: Airlock's own sign-in never lets anyone in as alice.
    r = web.post(f"{PREFIX}/session", json={"username": "alice", "password": ""})
    assert r.status_code in (400, 401)


def test_another_user_gets_404_and_no_one_gets_401(host: Flask) -> None:
    alice, tokens = sign_in(host, "alice")
    made = alice.put(f"{PREFIX}/files/private.txt", data=b"mine\n",
                     headers={"X-CSRF-Token": tokens["airlock"]}).json  # fmt: skip
    bob, _ = sign_in(host, "bob")
    r = bob.get(made["links"]["self"])
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    assert bob.get(f"{PREFIX}/files").json["files"] == []
    anonymous = host.test_client()
    r = anonymous.get(made["links"]["self"])
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    alice.post("/logout")
    assert alice.get(made["links"]["self"]).status_code == 401


def test_unsafe_requests_need_the_csrf_token(host: Flask) -> None:
    web, tokens = sign_in(host, "alice")
    for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": tokens["wtf"]}):
        r = web.put(f"{PREFIX}/files/a.txt", data=b"x\n", headers=headers)
        assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    made = web.put(f"{PREFIX}/files/a.txt", data=b"x\n",
                   headers={"X-CSRF-Token": tokens["airlock"]}).json  # fmt: skip
    r = web.delete(made["links"]["self"])
    assert r.status_code == 403
    assert web.delete(made["links"]["self"], headers={"X-CSRF-Token": tokens["airlock"]}
                      ).status_code == 204  # fmt: skip
    # Another session's token is not this one's.
    _, theirs = sign_in(host, "bob")
    r = web.put(f"{PREFIX}/files/b.txt", data=b"x\n", headers={"X-CSRF-Token": theirs["airlock"]})
    assert r.status_code == 403


def test_quotas_and_disabling_apply_to_host_users(tmp_path: Path) -> None:
    app, _ = host_app(tmp_path, AIRLOCK_DEFAULT_QUOTA="10")
    try:
        web, tokens = sign_in(app, "alice")
        csrf = {"X-CSRF-Token": tokens["airlock"]}
        r = web.put(f"{PREFIX}/files/big.txt", data=b"more than ten bytes\n", headers=csrf)
        assert r.status_code == 507 and r.json["error"]["code"] == "quota_exceeded"
        st = app.extensions["airlock"]
        with st.db.write() as conn:
            admin_repo.update_user(conn, st.accounts.user("alice").id, disabled=True)
        r = web.get(f"{PREFIX}/files")
        assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    finally:
        app.extensions["airlock"].db.dispose()


def test_bearer_tokens_still_work_beside_the_host_session(host: Flask) -> None:
    st = host.extensions["airlock"]
    carol = st.accounts.add_user("carol", None)
    token = st.accounts.create_token(carol, "script").secret
    web, _ = sign_in(host, "alice")  # a host session too: the token decides
    r = web.put(f"{PREFIX}/files/c.txt", data=b"carol's\n",
                headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert r.status_code == 201 and r.json["owner"] == "carol"


def test_a_name_airlock_cannot_take_is_an_error(tmp_path: Path) -> None:
    app, _ = host_app(tmp_path)
    try:
        web = app.test_client()
        web.post("/login/alice")
        app.extensions["airlock"].host.user_loader = lambda: "alice@example.org"
        r = web.get(f"{PREFIX}/files")
        assert r.status_code == 500 and r.json["error"]["code"] == "internal_error"
    finally:
        app.extensions["airlock"].db.dispose()


def test_flask_wtf_protects_the_host_and_airlock_checks_its_token(tmp_path: Path) -> None:
    app, _ = host_app(tmp_path, csrf="flask-wtf", protect=True)

    @app.post("/host-form")
    def host_form() -> str:
        return "host form accepted"

    try:
        web, tokens = sign_in(app, "alice")
        assert web.post("/host-form").status_code == 400  # the host's own CSRF check
        assert web.post("/host-form", headers={"X-CSRFToken": tokens["wtf"]}).status_code == 200
        r = web.put(f"{PREFIX}/files/a.txt", data=b"x\n")
        assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
        r = web.put(f"{PREFIX}/files/a.txt", data=b"x\n", headers={"X-CSRFToken": tokens["wtf"]})
        assert r.status_code == 201 and r.json["owner"] == "alice"
        # A bearer-token client needs no CSRF token, though CSRFProtect guards the host app.
        st = app.extensions["airlock"]
        token = st.accounts.create_token(st.accounts.user("alice"), "script").secret
        r = app.test_client().put(f"{PREFIX}/files/b.txt", data=b"y\n",
                                  headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert r.status_code == 201
        # Strangers uploading through a drop link have no token of anyone's: exempt too.
        drop = web.post(f"{PREFIX}/drops", headers={"X-CSRFToken": tokens["wtf"]},
                        json={"name": "in", "expires_in": 600}).json  # fmt: skip
        stranger = app.test_client()
        r = stranger.post(drop["url"] + "/files", data={"file": (io.BytesIO(b"z\n"), "z.txt")},
                          content_type="multipart/form-data")  # fmt: skip
        assert r.status_code == 201, r.data
        r = stranger.post(drop["url"] + "/tus/", headers={"Tus-Resumable": "1.0.0",
                                                          "Upload-Length": "3"})  # fmt: skip
        assert r.status_code == 201, r.data
    finally:
        app.extensions["airlock"].db.dispose()


def test_flask_wtf_mode_needs_csrfprotect_first(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="CSRFProtect"):
        host_app(tmp_path, csrf="flask-wtf", protect=False)
    with pytest.raises(ValueError, match="csrf"):
        Airlock(csrf="none")
