"""The Files API through Flask's test client: uploads, listing, changes, deletion, tokens."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Blueprint, Flask
from flask.testing import FlaskClient

from airlock.web.errors import translate_within
from tests.conftest import MakeApp, add_user, multipart
from tests.support import samples


def upload(client: FlaskClient, headers: dict[str, str], *files: tuple[str, bytes], **fields: str):
    data: dict[str, object] = {"file": [(io.BytesIO(body), name) for name, body in files]}
    data.update(fields)
    return client.post("/api/v1/files", headers=headers, **multipart(data))


def stored_objects(app: Flask) -> list[Path]:
    root = app.extensions["airlock"].settings.data_dir / "files"
    return [p for p in root.rglob("*") if p.is_file()]


def staged(app: Flask) -> list[Path]:
    return list((app.extensions["airlock"].settings.data_dir / "staging").iterdir())


def test_multipart_upload_stores_a_file(client: FlaskClient, alice: dict[str, str]) -> None:
    r = upload(client, alice, ("photo.png", samples.png()))
    assert r.status_code == 201, r.json
    (f,) = r.json["files"]
    assert r.json["rejected"] == []
    assert f["name"] == "photo.png"
    assert f["content_type"] == "image/png"
    assert f["visibility"] == "private"
    assert f["owner"] == "alice"
    assert f["size"] == len(samples.png())
    assert len(f["id"]) >= 22 and f["expires_at"] is None
    assert f["created_at"].endswith("Z")
    assert f["links"] == {"self": f"/api/v1/files/{f['id']}",
                          "content": f"/api/v1/files/{f['id']}/content",
                          "thumbnail": f"/api/v1/files/{f['id']}/thumbnail"}  # fmt: skip


def test_many_files_one_rejected(app: Flask, client: FlaskClient, alice: dict[str, str]) -> None:
    r = upload(
        client, alice, ("a.png", samples.png()), ("b.pdf", samples.pdf()),
        ("evil.png", b"<html><script>alert(1)</script></html>"), visibility="public",
    )  # fmt: skip
    assert r.status_code == 201
    assert [f["name"] for f in r.json["files"]] == ["a.png", "b.pdf"]
    assert all(f["visibility"] == "public" for f in r.json["files"])
    (rej,) = r.json["rejected"]
    assert rej["name"] == "evil.png" and rej["error"]["code"] == "type_not_allowed"
    assert len(stored_objects(app)) == 3  # a.png, its thumbnail, b.pdf
    assert staged(app) == []


def test_all_rejected_answers_the_first_rejection(app: Flask, client: FlaskClient,
                                                  alice: dict[str, str]) -> None:  # fmt: skip
    r = upload(client, alice, ("empty.txt", b""), ("x.png", b"\x7fELF" + b"\0" * 100))
    assert r.status_code == 422
    assert r.json["error"]["code"] == "empty_file"
    assert [x["error"]["code"] for x in r.json["rejected"]] == ["empty_file", "type_not_allowed"]
    assert stored_objects(app) == [] and staged(app) == []


def test_content_mismatch(client: FlaskClient, alice: dict[str, str]) -> None:
    r = upload(client, alice, ("report.pdf", samples.png()))
    assert r.status_code == 422 and r.json["error"]["code"] == "content_mismatch"


def test_name_without_extension_gets_the_detected_one(client: FlaskClient,
                                                      alice: dict[str, str]) -> None:  # fmt: skip
    r = upload(client, alice, ("scan", samples.pdf()))
    assert r.json["files"][0]["name"] == "scan.pdf"


def test_docx_is_told_from_plain_zip(client: FlaskClient, alice: dict[str, str]) -> None:
    ok = upload(client, alice, ("letter.docx", samples.docx()))
    assert ok.status_code == 201
    assert ok.json["files"][0]["content_type"].endswith("wordprocessingml.document")
    plain = upload(client, alice, ("letter.docx", samples.zip_of({"a.txt": b"hello"})))
    assert plain.status_code == 422 and plain.json["error"]["code"] == "content_mismatch"


def test_zip_bomb_is_unsafe(client: FlaskClient, alice: dict[str, str]) -> None:
    bomb = samples.zip_of({"zeros.txt": b"\0" * (20 * 2**20)})
    r = upload(client, alice, ("bomb.zip", bomb))
    assert r.status_code == 422 and r.json["error"]["code"] == "unsafe_content"


def test_upload_needs_credentials(client: FlaskClient) -> None:
    r = upload(client, {}, ("a.png", samples.png()))
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    bad = upload(client, {"Authorization": "Bearer nope"}, ("a.png", samples.png()))
    assert bad.status_code == 401


def test_wrong_body_type_and_missing_file(client: FlaskClient, alice: dict[str, str]) -> None:
    r = client.post("/api/v1/files", json={"x": 1}, headers=alice)
    assert r.status_code == 415 and r.json["error"]["code"] == "unsupported_media_type"
    r = client.post("/api/v1/files", headers=alice, **multipart({"visibility": "public"}))
    assert r.status_code == 400 and r.json["error"]["code"] == "no_file"
    r = upload(client, alice, ("a.png", samples.png()), visibility="everyone")
    assert r.status_code == 400 and r.json["error"]["code"] == "bad_request"


def test_per_file_limit(make_app: MakeApp) -> None:
    app = make_app(max_file_size="1KB")
    client = app.test_client()
    headers = add_user(app, "carol")
    r = upload(client, headers, ("big.txt", b"a" * 1001), ("small.txt", b"tiny\n"))
    assert r.status_code == 201
    assert r.json["rejected"][0]["error"]["code"] == "too_large"
    r = client.put("/api/v1/files/big.txt", data=b"a" * 1001, headers=headers)
    assert r.status_code == 413 and r.json["error"]["code"] == "too_large"
    r = client.put("/api/v1/files/exact.txt", data=b"a" * 1000, headers=headers)
    assert r.status_code == 201
    assert staged(app) == []


def test_raw_put(client: FlaskClient, alice: dict[str, str]) -> None:
    r = client.put("/api/v1/files/notes.txt?visibility=public&expires_in=3600",
                   data=b"some notes\n", headers=alice)  # fmt: skip
    assert r.status_code == 201
    assert r.headers["Location"].endswith(f"/api/v1/files/{r.json['id']}")
    assert r.json["visibility"] == "public" and r.json["expires_at"] is not None
    r = client.put("/api/v1/files/..%2F..%2Fescape.txt", data=b"x\n", headers=alice)
    assert r.status_code == 201 and r.json["name"] == "escape.txt"


def test_quota(make_app: MakeApp) -> None:
    app = make_app()
    client = app.test_client()
    headers = add_user(app, "dora", quota=100)
    assert client.put("/api/v1/files/a.txt", data=b"a" * 60, headers=headers).status_code == 201
    r = client.put("/api/v1/files/b.txt", data=b"b" * 60, headers=headers)
    assert r.status_code == 507 and r.json["error"]["code"] == "quota_exceeded"
    me = client.get("/api/v1/me", headers=headers).json
    assert me == {"username": "dora", "is_admin": False, "quota_bytes": 100, "used_bytes": 60}
    assert len(stored_objects(app)) == 1 and staged(app) == []


def test_list_paginates_newest_first(client: FlaskClient, alice: dict[str, str]) -> None:
    ids = [client.put(f"/api/v1/files/n{i}.txt", data=b"x%d\n" % i, headers=alice).json["id"]
           for i in range(5)]  # fmt: skip
    seen: list[str] = []
    cursor = None
    while True:
        q = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get("/api/v1/files" + q, headers=alice).json
        seen += [f["id"] for f in page["files"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    assert client.get("/api/v1/files?limit=0", headers=alice).status_code == 400
    assert client.get("/api/v1/files?limit=501", headers=alice).status_code == 400
    assert client.get("/api/v1/files?cursor=%%%", headers=alice).status_code == 400


def test_other_users_private_files_are_not_found(client: FlaskClient, alice: dict[str, str],
                                                 bob: dict[str, str]) -> None:  # fmt: skip
    fid = client.put("/api/v1/files/secret.txt", data=b"s\n", headers=alice).json["id"]
    for method, path in [("get", ""), ("get", "/content"), ("patch", ""), ("delete", ""),
                         ("post", "/links")]:  # fmt: skip
        r = getattr(client, method)(f"/api/v1/files/{fid}{path}", headers=bob, json={})
        assert r.status_code == 404, (method, path)
        assert r.json["error"]["code"] == "not_found"
    assert fid not in [f["id"] for f in client.get("/api/v1/files", headers=bob).json["files"]]


def test_public_files_are_visible_but_not_changeable(client: FlaskClient, alice: dict[str, str],
                                                     bob: dict[str, str]) -> None:  # fmt: skip
    fid = client.put("/api/v1/files/pub.txt?visibility=public", data=b"p\n",
                     headers=alice).json["id"]  # fmt: skip
    assert client.get(f"/api/v1/files/{fid}", headers=bob).status_code == 200
    r = client.delete(f"/api/v1/files/{fid}", headers=bob)
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    r = client.get(f"/f/{fid}/pub.txt")
    assert r.status_code == 200 and r.data == b"p\n"


def test_admin_sees_private_files(app: Flask, client: FlaskClient, alice: dict[str, str],
                                  admin: dict[str, str]) -> None:  # fmt: skip
    fid = client.put("/api/v1/files/a.txt", data=b"a\n", headers=alice).json["id"]
    assert client.get(f"/api/v1/files/{fid}", headers=admin).status_code == 200
    assert client.delete(f"/api/v1/files/{fid}", headers=admin).status_code == 204


def test_patch(client: FlaskClient, alice: dict[str, str]) -> None:
    fid = client.put("/api/v1/files/a.txt", data=b"a\n", headers=alice).json["id"]
    r = client.patch(f"/api/v1/files/{fid}", headers=alice,
                     json={"name": "../renamed.md", "visibility": "public",
                           "expires_at": "2100-01-01T00:00:00Z"})  # fmt: skip
    assert r.status_code == 200, r.json
    assert r.json["name"] == "renamed.md"
    assert r.json["visibility"] == "public"
    assert r.json["expires_at"] == "2100-01-01T00:00:00Z"
    r = client.patch(f"/api/v1/files/{fid}", headers=alice, json={"name": "evil.exe"})
    assert r.status_code == 415
    r = client.patch(f"/api/v1/files/{fid}", headers=alice, json={"name": "pic.png"})
    assert r.status_code == 422 and r.json["error"]["code"] == "content_mismatch"
    r = client.patch(f"/api/v1/files/{fid}", headers=alice, json={"owner": "bob"})
    assert r.status_code == 400
    r = client.patch(f"/api/v1/files/{fid}", headers=alice, data="x", content_type="text/plain")
    assert r.status_code == 415
    r = client.patch(f"/api/v1/files/{fid}", headers=alice, json={"expires_at": "tomorrow"})
    assert r.status_code == 400


def test_expired_files_are_gone(client: FlaskClient, alice: dict[str, str]) -> None:
    fid = client.put("/api/v1/files/a.txt", data=b"a\n", headers=alice).json["id"]
    client.patch(f"/api/v1/files/{fid}", headers=alice, json={"expires_at": "2000-01-01T00:00:00Z"})
    r = client.get(f"/api/v1/files/{fid}/content", headers=alice)
    assert r.status_code == 410 and r.json["error"]["code"] == "gone"


def test_delete_removes_bytes(app: Flask, client: FlaskClient, alice: dict[str, str]) -> None:
    fid = client.put("/api/v1/files/a.txt", data=b"a\n", headers=alice).json["id"]
    assert len(stored_objects(app)) == 1
    assert client.delete(f"/api/v1/files/{fid}", headers=alice).status_code == 204
    assert stored_objects(app) == []
    assert client.get(f"/api/v1/files/{fid}", headers=alice).status_code == 404


def test_tokens(client: FlaskClient, alice: dict[str, str]) -> None:
    r = client.post("/api/v1/tokens", headers=alice, json={"name": "laptop"})
    assert r.status_code == 201
    secret, tid = r.json["token"], r.json["id"]
    assert set(r.json) == {"id", "name", "token", "created_at"}
    new = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=new).json["username"] == "alice"
    listed = client.get("/api/v1/tokens", headers=alice).json["tokens"]
    assert {"laptop"} <= {t["name"] for t in listed}
    assert all("token" not in t for t in listed)
    assert client.delete(f"/api/v1/tokens/{tid}", headers=alice).status_code == 204
    assert client.get("/api/v1/me", headers=new).status_code == 401
    assert client.delete(f"/api/v1/tokens/{tid}", headers=alice).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("get", "/api/v1/nope", 404, "not_found"),
        ("delete", "/api/v1/files", 405, "method_not_allowed"),
        ("get", "/api/v1/nope/x/y", 404, "not_found"),
        ("get", "/api/v1/files/x/y/z", 405, "method_not_allowed"),
    ],
)
def test_routing_errors_use_the_envelope(client: FlaskClient, alice: dict[str, str], method: str,
                                         path: str, status: int, code: str) -> None:  # fmt: skip
    r = getattr(client, method)(path, headers=alice)
    assert r.status_code == status
    assert r.json["error"]["code"] == code
    if status == 405:
        assert r.headers["Allow"]


def test_unexpected_errors_reveal_nothing(app: Flask, alice: dict[str, str]) -> None:
    blueprint = translate_within(Blueprint("boom_for_test", __name__))

    @blueprint.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret path /etc/airlock and SELECT * FROM users")

    app.register_blueprint(blueprint, url_prefix="/api/v1")

    r = app.test_client().get("/api/v1/boom", headers=alice)
    assert r.status_code == 500
    assert r.json == {"error": {"code": "internal_error", "message": "Internal error.",
                                "details": {}}}  # fmt: skip
    assert b"secret" not in r.data and b"SELECT" not in r.data


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/files?limit=²", None),
        ("put", "/api/v1/files/b.txt?expires_in=²", None),
        ("get", "/api/v1/files?cursor=MDAwMS0wMS0wMVQwMDowMDowMCswNTowMHx4", None),
        ("post", "/api/v1/tokens", '{"name": "\\ud800"}'),
    ],
)
def test_odd_values_are_bad_requests_not_crashes(client: FlaskClient, alice: dict[str, str],
                                                 method: str, path: str, body: str | None) -> None:  # fmt: skip
    kwargs = {"data": body, "content_type": "application/json"} if body else {"data": b"x\n"}
    r = getattr(client, method)(path, headers=alice, **kwargs)
    assert r.status_code == 400, r.json
    assert r.json["error"]["code"] == "bad_request"


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_out_of_range_expiry_is_a_bad_request(client: FlaskClient, alice: dict[str, str],
                                               stamp: str) -> None:  # fmt: skip
    fid = client.put("/api/v1/files/a.txt", data=b"a\n", headers=alice).json["id"]
    r = client.patch(f"/api/v1/files/{fid}", headers=alice, json={"expires_at": stamp})
    assert r.status_code == 400 and r.json["error"]["code"] == "bad_request"
