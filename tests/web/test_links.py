"""Share links their owners manage (listed with what is left of them, revoked, never
expiring where the settings allow it) and links with a password (asked on the share page or
as HTTP Basic credentials, never in the address, tried a limited number of times)."""

from __future__ import annotations

import base64
import io
import zipfile
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from airlock.db.schema import links
from tests.conftest import Clock, MakeApp, add_user
from tests.support import samples

LINK_FIELDS = {"id", "url", "created_at", "expires_at", "max_downloads", "downloads",
               "has_password", "files"}  # fmt: skip


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


# Links to several Files ---------------------------------------------------------------------


def zip_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_one_link_for_several_files_is_a_zip(
    client: FlaskClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    a = put(client, alice, "notes.txt", b"first\n")
    b = put(client, alice, "picture.png", samples.png(30, 20))
    c = client.post("/api/v1/files", headers=alice, data={
        "file": (io.BytesIO(b"second\n"), "NOTES.txt")}).json["files"][0]  # fmt: skip
    r = client.post("/api/v1/links", headers=alice, json={
        "files": [a["id"], b["id"], c["id"], a["id"]], "expires_in": 600, "max_downloads": 3})
    assert r.status_code == 201, r.json
    link = r.json
    assert link["files"] == [a["id"], b["id"], c["id"]]  # a repeat counts once
    got = client.get(link["url"])
    assert got.status_code == 200 and got.mimetype == "application/zip"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert int(got.headers["Content-Length"]) == len(got.data)
    members = zip_members(got.data)
    assert members == {"notes.txt": b"first\n", "picture.png": samples.png(30, 20),
                       "NOTES (2).txt": b"second\n"}  # fmt: skip
    one = client.get(f"{link['url']}/{b['id']}")
    assert one.status_code == 200 and one.data == samples.png(30, 20)
    assert client.get(f"{link['url']}/{put(client, alice, 'x.txt', b'x')['id']}").status_code == 404
    # The zip and the one File were a download each: one left.
    listed = client.get(f"/api/v1/files/{c['id']}/links", headers=alice).json["links"]
    assert [(x["id"], x["downloads"]) for x in listed] == [(link["id"], 2)]
    assert client.head(link["url"]).status_code == 200  # a look spends nothing
    assert client.get(link["url"]).status_code == 200
    assert client.get(link["url"]).status_code == 410
    # Only one's own Files go into a link.
    r = client.post("/api/v1/links", headers=bob, json={"files": [a["id"]], "expires_in": 60})
    assert r.status_code == 404 and r.json["error"]["details"]["file"] == a["id"]


def test_a_deleted_file_leaves_the_link_to_several(
    client: FlaskClient, alice: dict[str, str]
) -> None:
    a = put(client, alice, "a.txt", b"a\n")
    b = put(client, alice, "b.txt", b"b\n")
    link = client.post("/api/v1/links", headers=alice,
                       json={"files": [a["id"], b["id"]], "expires_in": 600}).json  # fmt: skip
    assert client.delete(f"/api/v1/files/{a['id']}", headers=alice).status_code == 204
    assert zip_members(client.get(link["url"]).data) == {"b.txt": b"b\n"}
    page = client.get("/share/" + link["url"].removeprefix("/s/"))
    assert page.status_code == 200 and b"b.txt" in page.data and b"a.txt" not in page.data
    assert client.delete(f"/api/v1/files/{b['id']}", headers=alice).status_code == 204
    assert client.get(link["url"]).status_code == 410


def test_a_zip_past_4_gib_streams_as_zip64(make_app: MakeApp, tmp_path: Path) -> None:
    """A File of 4.5 GiB (a sparse object put in place) and a small one, zipped while sent:
    the archive is zip64, its members intact, and the body streamed, never held whole."""
    import datetime as dt

    from werkzeug.test import EnvironBuilder, run_wsgi_app

    from airlock.core.ids import new_id
    from airlock.db import repo
    from airlock.db.records import FileRecord

    app = make_app()
    st = app.extensions["airlock"]
    auth = add_user(app, "big")
    client = app.test_client()
    small = put(client, auth, "small.txt", b"small\n")
    size = 4 * 2**30 + 2**29
    key = new_id()
    path = st.storage.path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.truncate(size)  # sparse: no 4.5 GiB written to disk
    user = st.accounts.user("big")
    with st.db.write() as conn:
        repo.add_file_record(conn, FileRecord(
            id=new_id(), owner_id=user.id, owner="big", name="huge.bin", size=size,
            sha256="0" * 64, content_type="application/octet-stream", visibility="private",
            storage_key=key, created_at=dt.datetime.now(dt.UTC), expires_at=None,
        ))  # fmt: skip
        huge = repo.list_files(conn, user.id, 10, None)[0]
    link = client.post("/api/v1/links", headers=auth, json={
        "files": [huge.id, small["id"]], "expires_in": 600}).json  # fmt: skip

    out = tmp_path / "out.zip"
    app_iter, status, headers = run_wsgi_app(
        app, EnvironBuilder(path=link["url"]).get_environ(), buffered=False
    )
    assert status.startswith("200"), status
    written = 0
    with open(out, "wb") as fh:
        for chunk in app_iter:
            if chunk.count(0) == len(chunk):
                fh.seek(len(chunk), io.SEEK_CUR)  # keep the copy sparse too
            else:
                fh.write(chunk)
            written += len(chunk)
        fh.truncate(written)
    getattr(app_iter, "close", lambda: None)()
    assert written == int(dict(headers)["Content-Length"])
    with zipfile.ZipFile(out) as archive:
        infos = {i.filename: i for i in archive.infolist()}
        assert infos["huge.bin"].file_size == size
        assert archive.read("small.txt") == b"small\n"
        with archive.open("huge.bin") as member:  # reads it all, checking its CRC at the end
            total = 0
            while block := member.read(8 * 2**20):
                total += len(block)
        assert total == size
