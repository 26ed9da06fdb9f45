"""Drop links (guest uploads): anyone with the address uploads into its owner's space, by
multipart or tus, through every check; within the link's expiry and limits on files and
bytes; never seeing the owner's other Files or uploads; limited per client address."""

from __future__ import annotations

import base64
import io
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import Clock, MakeApp, add_user, multipart
from tests.support import samples

TUS = {"Tus-Resumable": "1.0.0"}


def new_drop(client: FlaskClient, auth: dict[str, str], **body: Any) -> Any:
    r = client.post("/api/v1/drops", headers=auth,
                    json={"name": "Wedding photos", "expires_in": 3600, **body})  # fmt: skip
    assert r.status_code == 201, r.json
    return r.json


def send(client: FlaskClient, drop: dict[str, Any], *files: tuple[bytes, str], **kw: Any) -> Any:
    parts = [(io.BytesIO(data), name) for data, name in files]
    return client.post(drop["url"] + "/files", **multipart({"file": parts}), **kw)


def test_a_stranger_uploads_into_the_owners_space(
    client: FlaskClient, alice: dict[str, str]
) -> None:
    drop = new_drop(client, alice)
    assert drop["url"].startswith("/d/") and drop["files"] == 0 and drop["revoked"] is False
    r = send(client, drop, (samples.png(20, 20), "beach.png"), (b"MZ\x90\x00" + bytes(300), "x.png"))
    assert r.status_code == 201, r.json
    [stored] = r.json["files"]
    assert stored["owner"] == "alice" and stored["visibility"] == "private"
    assert stored["drop_id"] == drop["id"]
    assert [x["name"] for x in r.json["rejected"]] == ["x.png"]
    # The uploader cannot read it back; the owner sees it, and through which link it came.
    assert client.get(stored["links"]["content"]).status_code == 401
    mine = client.get("/api/v1/files", headers=alice).json["files"]
    assert [(f["name"], f["drop_id"]) for f in mine] == [("beach.png", drop["id"])]
    [listed] = client.get("/api/v1/drops", headers=alice).json["drops"]
    assert (listed["files"], listed["bytes"]) == (1, stored["size"])


def test_limits_on_files_and_bytes(client: FlaskClient, alice: dict[str, str]) -> None:
    drop = new_drop(client, alice, max_files=2, max_bytes=1000)
    too_big = send(client, drop, (b"x" * 1001 + b"\n", "big.txt"))
    assert too_big.status_code == 413 and too_big.json["error"]["code"] == "too_large"
    assert send(client, drop, (b"one\n", "1.txt")).status_code == 201
    assert send(client, drop, (b"two\n", "2.txt")).status_code == 201
    full = send(client, drop, (b"three\n", "3.txt"))
    assert full.status_code == 410 and full.json["error"]["code"] == "gone"
    page = client.get(drop["url"])
    assert page.status_code == 410
    assert len(client.get("/api/v1/files", headers=alice).json["files"]) == 2


def test_revoked_expired_and_forged(make_app: MakeApp) -> None:
    clock = Clock()
    app = make_app(clock=clock)
    client = app.test_client()
    alice = add_user(app, "alice")
    revoked = new_drop(client, alice)
    assert client.delete(f"/api/v1/drops/{revoked['id']}", headers=alice).status_code == 204
    r = send(client, revoked, (b"late\n", "late.txt"))
    assert r.status_code == 410 and r.json["error"]["code"] == "gone"
    expiring = new_drop(client, alice, expires_in=60)
    clock.advance(61)
    assert send(client, expiring, (b"late\n", "late.txt")).status_code == 410
    forged = client.post("/d/" + "A" * 43 + "/files",
                         **multipart({"file": (io.BytesIO(b"x\n"), "x.txt")}))  # fmt: skip
    assert forged.status_code == 404 and forged.json["error"]["code"] == "not_found"
    bob = add_user(app, "bob")
    other = new_drop(client, alice)
    assert client.delete(f"/api/v1/drops/{other['id']}", headers=bob).status_code == 404
    assert client.get("/api/v1/drops", headers=bob).json == {"drops": []}


def test_a_drop_link_with_a_password(client: FlaskClient, alice: dict[str, str]) -> None:
    drop = new_drop(client, alice, password="let me in")
    assert drop["has_password"] is True
    r = send(client, drop, (b"hello\n", "a.txt"))
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic ")
    page = client.get(drop["url"])
    assert page.status_code == 200 and b"needs a password" in page.data
    basic = base64.b64encode(b":let me in").decode()
    r = send(client, drop, (b"hello\n", "a.txt"), headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 201, r.json
    unlocked = client.post(drop["url"], data={"password": "let me in"})
    assert unlocked.status_code == 303
    assert send(client, drop, (b"again\n", "b.txt")).status_code == 201  # the cookie opens it


def test_tus_through_a_drop_link(
    app: Flask, client: FlaskClient, alice: dict[str, str]
) -> None:
    drop = new_drop(client, alice)
    body = b"resumable through a drop link\n" * 100
    meta = "filename " + base64.b64encode(b"notes.txt").decode()
    r = client.post(drop["url"] + "/tus/", headers={
        **TUS, "Upload-Length": str(len(body)), "Upload-Metadata": meta})  # fmt: skip
    assert r.status_code == 201, r.json
    url = r.headers["Location"]
    assert url.startswith(drop["url"] + "/tus/")
    # The owner's own tus routes do not reach it, nor the drop link the owner's uploads.
    upload_id = url.rsplit("/", 1)[1]
    assert client.head(f"/api/v1/tus/{upload_id}", headers={**TUS, **alice}).status_code == 404
    own = client.post("/api/v1/tus/", headers={**TUS, **alice, "Upload-Length": "5"})
    own_id = own.headers["Location"].rsplit("/", 1)[1]
    assert client.head(f"{drop['url']}/tus/{own_id}", headers=TUS).status_code == 404
    half = len(body) // 2
    for offset, part in ((0, body[:half]), (half, body[half:])):
        r = client.patch(url, data=part, headers={
            **TUS, "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream"})  # fmt: skip
        assert r.status_code == 204, r.json
    file_id = r.headers["Upload-File-Id"]
    done = client.head(url, headers=TUS)
    assert done.status_code == 200 and done.headers["Upload-File-Id"] == file_id
    record = client.get(f"/api/v1/files/{file_id}", headers=alice).json
    assert record["owner"] == "alice" and record["drop_id"] == drop["id"]
    assert record["visibility"] == "private"


def test_uploads_per_address_are_limited(make_app: MakeApp) -> None:
    app = make_app(drop_uploads_per_address=2)
    client = app.test_client()
    alice = add_user(app, "alice")
    drop = new_drop(client, alice)
    for i in range(2):
        assert send(client, drop, (b"x\n", f"{i}.txt")).status_code == 201
    r = send(client, drop, (b"x\n", "3.txt"))
    assert r.status_code == 429 and r.json["error"]["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) > 0


def test_a_disabled_owners_drop_link_closes(app: Flask, client: FlaskClient) -> None:
    root = add_user(app, "root", admin=True)
    carol = add_user(app, "carol")
    drop = new_drop(client, carol)
    assert client.patch("/api/v1/admin/users/carol", headers=root,
                        json={"disabled": True}).status_code == 200  # fmt: skip
    assert send(client, drop, (b"x\n", "x.txt")).status_code == 410
