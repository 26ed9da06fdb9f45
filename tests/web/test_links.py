"""Share links their owners manage (listed with what is left of them, revoked, never
expiring where the settings allow it) and links with a password (asked on the share page or
as HTTP Basic credentials, never in the address, tried a limited number of times)."""

from __future__ import annotations

import base64
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from airlock.db.schema import links
from tests.conftest import Clock, MakeApp, add_user
from tests.support import samples

LINK_FIELDS = {"id", "url", "created_at", "expires_at", "max_downloads", "downloads",
               "has_password"}  # fmt: skip


def put(client: FlaskClient, auth: dict[str, str], name: str, data: bytes) -> dict[str, Any]:
    r = client.put(f"/api/v1/files/{name}", data=data, headers=auth)
    assert r.status_code == 201, r.json
    return dict(r.json)


def new_link(client: FlaskClient, auth: dict[str, str], file_id: str, **body: Any) -> Any:
    r = client.post(f"/api/v1/files/{file_id}/links", headers=auth,
                    json={"expires_in": 3600, **body})  # fmt: skip
    assert r.status_code == 201, r.json
    return r.json


def basic(password: str, user: str = "") -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def test_a_files_links_are_listed_with_what_is_left(
    client: FlaskClient, alice: dict[str, str]
) -> None:
    f = put(client, alice, "a.png", samples.png())
    made = new_link(client, alice, f["id"], max_downloads=3)
    assert set(made) == LINK_FIELDS and made["has_password"] is False
    assert client.get(made["url"]).status_code == 200
    new_link(client, alice, f["id"], password="open sesame")
    r = client.get(f"/api/v1/files/{f['id']}/links", headers=alice)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    first, second = r.json["links"]
    assert first["id"] == made["id"] and first["url"] == made["url"]
    assert (first["downloads"], first["max_downloads"]) == (1, 3)
    assert second["has_password"] is True and second["max_downloads"] is None


def test_a_revoked_link_dies(client: FlaskClient, alice: dict[str, str]) -> None:
    f = put(client, alice, "a.txt", b"revocable\n")
    link = new_link(client, alice, f["id"])
    assert client.get(link["url"]).status_code == 200
    r = client.delete(f"/api/v1/links/{link['id']}", headers=alice)
    assert r.status_code == 204
    gone = client.get(link["url"])
    assert gone.status_code == 404 and gone.json["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/files/{f['id']}/links", headers=alice).json == {"links": []}
    again = client.delete(f"/api/v1/links/{link['id']}", headers=alice)
    assert again.status_code == 404
    assert client.get(f"/api/v1/files/{f['id']}").status_code == 401  # the File itself stays
    assert client.get(f"/api/v1/files/{f['id']}", headers=alice).status_code == 200


def test_nobody_else_sees_or_revokes_a_link(
    client: FlaskClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    f = put(client, alice, "a.txt", b"mine\n")
    link = new_link(client, alice, f["id"])
    assert client.get(f"/api/v1/files/{f['id']}/links", headers=bob).status_code == 404
    r = client.delete(f"/api/v1/links/{link['id']}", headers=bob)
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    assert client.get(link["url"]).status_code == 200


def test_never_is_only_where_the_settings_allow_it(make_app: MakeApp) -> None:
    strict = make_app()
    client = strict.test_client()
    alice = add_user(strict, "alice")
    f = put(client, alice, "a.txt", b"x\n")
    r = client.post(f"/api/v1/files/{f['id']}/links", headers=alice, json={"expires_in": None})
    assert r.status_code == 400 and r.json["error"]["details"]["field"] == "expires_in"

    clock = Clock()
    open_ended = make_app(clock=clock, max_link_lifetime=0)
    client = open_ended.test_client()
    alice = add_user(open_ended, "alice")
    f = put(client, alice, "a.txt", b"x\n")
    link = new_link(client, alice, f["id"], expires_in=None)
    assert link["expires_at"] is None
    clock.advance(20 * 365 * 24 * 3600)
    assert client.get(link["url"]).status_code == 200


def test_a_password_link_asks_and_never_in_the_address(
    app: Flask, client: FlaskClient, alice: dict[str, str]
) -> None:
    f = put(client, alice, "secret.txt", b"behind a password\n")
    link = new_link(client, alice, f["id"], password="open sesame")
    r = client.get(link["url"])
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    assert r.headers["WWW-Authenticate"].startswith("Basic ")
    assert client.get(link["url"], headers=basic("wrong")).status_code == 401
    r = client.get(link["url"], headers=basic("open sesame", "anyone"))
    assert r.status_code == 200 and r.data == b"behind a password\n"
    # Kept hashed, like account passwords.
    with app.extensions["airlock"].db.read() as conn:
        row = conn.execute(links.select().where(links.c.id == link["id"])).one()
    assert "open sesame" not in row.password_hash and row.password_hash.startswith("scrypt$")


def test_the_share_page_asks_for_the_password_first(
    client: FlaskClient, alice: dict[str, str]
) -> None:
    f = put(client, alice, "plans.txt", b"the plans\n")
    link = new_link(client, alice, f["id"], password="open sesame")
    page = "/share/" + link["url"].removeprefix("/s/")
    r = client.get(page)
    assert r.status_code == 200
    assert b"needs a password" in r.data and b"plans.txt" not in r.data
    wrong = client.post(page, data={"password": "guess"})
    assert wrong.status_code == 401 and b"not the password" in wrong.data
    assert client.get(link["url"]).status_code == 401  # a wrong try unlocks nothing
    right = client.post(page, data={"password": "open sesame"})
    assert right.status_code == 303 and right.headers["Location"].endswith(page)
    cookie = right.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "open sesame" not in cookie
    shown = client.get(page)
    assert shown.status_code == 200 and b"plans.txt" in shown.data
    assert client.get(link["url"]).data == b"the plans\n"  # the cookie opens the bytes too


def test_wrong_passwords_are_limited_per_link(make_app: MakeApp) -> None:
    app = make_app(login_attempts=3)
    client = app.test_client()
    alice = add_user(app, "alice")
    f = put(client, alice, "a.txt", b"x\n")
    link = new_link(client, alice, f["id"], password="right one")
    other = new_link(client, alice, f["id"], password="right one")
    for _ in range(3):
        assert client.get(link["url"], headers=basic("wrong")).status_code == 401
    limited = client.get(link["url"], headers=basic("right one"))
    assert limited.status_code == 429 and limited.json["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0
    # Another link of the same owner, from the same address, is not locked by it.
    assert client.get(other["url"], headers=basic("right one")).status_code == 200


def test_the_qr_code_is_the_owners(
    client: FlaskClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    f = put(client, alice, "a.txt", b"x\n")
    link = new_link(client, alice, f["id"])
    qr = f"/links/{link['id']}/qr.svg"
    assert client.get(qr).status_code == 401
    signed = client.post("/api/v1/session",
                         json={"username": "alice", "password": "correct horse battery"})  # fmt: skip
    assert signed.status_code == 200
    r = client.get(qr)
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
    assert b"<svg" in r.data and b"<script" not in r.data
    assert r.headers["Content-Security-Policy"] == "default-src 'none'"
    client.delete("/api/v1/session", headers={"X-CSRF-Token": signed.json["csrf_token"]})
    client.post("/api/v1/session", json={"username": "bob", "password": "correct horse battery"})
    assert client.get(qr).status_code == 404
