"""Accounts: your own password change (with the current one), an admin's reset and delete,
user names unique in any case, what disabling does to public Files, links and tokens, and a
browser's earlier session ended by signing in again."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import MakeApp, add_user

PASSWORD = "correct horse battery"


def sign_in(client: FlaskClient, name: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/v1/session", json={"username": name, "password": password})
    assert r.status_code == 200, r.json
    return {"X-CSRF-Token": r.json["csrf_token"]}


def test_changing_your_password_needs_the_current_one(app: Flask) -> None:
    add_user(app, "alice")
    here, elsewhere = app.test_client(), app.test_client()
    csrf = sign_in(here, "alice")
    sign_in(elsewhere, "alice")
    wrong = here.post("/api/v1/me/password", headers=csrf,
                      json={"current": "not it", "new": "a new password"})  # fmt: skip
    assert wrong.status_code == 403 and wrong.json["error"]["code"] == "forbidden"
    short = here.post("/api/v1/me/password", headers=csrf,
                      json={"current": PASSWORD, "new": "short"})  # fmt: skip
    assert short.status_code == 400 and short.json["error"]["details"]["field"] == "new"
    r = here.post("/api/v1/me/password", headers=csrf,
                  json={"current": PASSWORD, "new": "a new password"})  # fmt: skip
    assert r.status_code == 204
    assert here.get("/api/v1/me").status_code == 200  # this session stays
    assert elsewhere.get("/api/v1/me").status_code == 401  # the others end
    fresh = app.test_client()
    assert fresh.post("/api/v1/session",
                      json={"username": "alice", "password": PASSWORD}).status_code == 401
    sign_in(fresh, "alice", "a new password")


def test_wrong_current_passwords_are_limited(make_app: MakeApp) -> None:
    app = make_app(login_attempts=2)
    add_user(app, "alice")
    client = app.test_client()
    csrf = sign_in(client, "alice")
    for _ in range(2):
        r = client.post("/api/v1/me/password", headers=csrf,
                        json={"current": "guess", "new": "a new password"})  # fmt: skip
        assert r.status_code == 403
    r = client.post("/api/v1/me/password", headers=csrf,
                    json={"current": PASSWORD, "new": "a new password"})  # fmt: skip
    assert r.status_code == 429


def test_an_admin_resets_and_deletes(app: Flask, client: FlaskClient) -> None:
    root = add_user(app, "root", admin=True)
    bob = add_user(app, "bob")
    r = client.put("/api/v1/files/b.txt", data=b"bob's\n", headers=bob)
    assert r.status_code == 201
    reset = client.patch("/api/v1/admin/users/bob", headers=root,
                         json={"password": "set by the admin"})  # fmt: skip
    assert reset.status_code == 200, reset.json
    sign_in(app.test_client(), "bob", "set by the admin")
    assert client.delete("/api/v1/admin/users/root", headers=root).status_code == 400
    assert client.delete("/api/v1/admin/users/bob", headers=bob).status_code == 403
    files = app.extensions["airlock"].settings.data_dir / "files"
    assert [p for p in Path(files).rglob("*") if p.is_file()]
    assert client.delete("/api/v1/admin/users/bob", headers=root).status_code == 204
    assert [p for p in Path(files).rglob("*") if p.is_file()] == []
    assert client.get("/api/v1/me", headers=bob).status_code == 401
    names = [u["username"] for u in client.get("/api/v1/admin/users", headers=root).json["users"]]
    assert names == ["root"]
    assert client.delete("/api/v1/admin/users/bob", headers=root).status_code == 404


def test_user_names_are_unique_in_any_case(app: Flask, client: FlaskClient) -> None:
    root = add_user(app, "root", admin=True)
    r = client.post("/api/v1/admin/users", headers=root,
                    json={"username": "alice", "password": PASSWORD})  # fmt: skip
    assert r.status_code == 201
    r = client.post("/api/v1/admin/users", headers=root,
                    json={"username": "Alice", "password": PASSWORD})  # fmt: skip
    assert r.status_code == 409 and r.json["error"]["code"] == "conflict"
    sign_in(app.test_client(), "ALICE")  # and found in any case


def test_disabling_stops_sharing_and_revokes_tokens_for_good(
    app: Flask, client: FlaskClient
) -> None:
    root = add_user(app, "root", admin=True)
    carol = add_user(app, "carol")
    public = client.put("/api/v1/files/p.txt?visibility=public", data=b"hi\n", headers=carol).json
    private = client.put("/api/v1/files/s.txt", data=b"secret\n", headers=carol).json
    link = client.post(f"/api/v1/files/{private['id']}/links", headers=carol,
                       json={"expires_in": 600}).json  # fmt: skip
    assert client.get(public["links"]["public"]).status_code == 200
    assert client.get(link["url"]).status_code == 200
    assert client.patch("/api/v1/admin/users/carol", headers=root,
                        json={"disabled": True}).status_code == 200  # fmt: skip
    assert client.get(public["links"]["public"]).status_code == 410
    assert client.get(link["url"]).status_code == 410
    assert client.get("/api/v1/me", headers=carol).status_code == 401
    assert client.patch("/api/v1/admin/users/carol", headers=root,
                        json={"disabled": False}).status_code == 200  # fmt: skip
    assert client.get("/api/v1/me", headers=carol).status_code == 401  # not revived
    assert client.get(public["links"]["public"]).status_code == 200  # sharing again


def test_signing_in_again_ends_the_earlier_session(app: Flask) -> None:
    add_user(app, "dave")
    add_user(app, "erin")
    client = app.test_client()
    sign_in(client, "dave")
    first = client.get_cookie("airlock_session")
    assert first is not None
    sign_in(client, "erin")
    assert client.get("/api/v1/me").json["username"] == "erin"
    other = app.test_client()
    other.set_cookie("airlock_session", first.value)
    assert other.get("/api/v1/me").status_code == 401  # dave's session of this browser ended
