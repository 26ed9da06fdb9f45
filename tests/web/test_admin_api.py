"""``/api/v1/admin``: users (add, disable, quota) and upload statistics, admins only."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from flask.testing import FlaskClient

from tests.support import samples


def test_admin_endpoints_are_for_admins_only(client: FlaskClient, alice: dict) -> None:
    for method, path, body in (("get", "/api/v1/admin/users", None),
                               ("post", "/api/v1/admin/users", {"username": "x", "password": "y" * 8}),
                               ("patch", "/api/v1/admin/users/alice", {"quota_bytes": 10}),
                               ("get", "/api/v1/admin/stats", None)):  # fmt: skip
        r = getattr(client, method)(path, json=body, headers=alice)
        assert r.status_code == 403 and r.json["error"]["code"] == "forbidden", path
    assert client.get("/api/v1/admin/users").status_code == 401


def test_add_list_disable_and_set_quota(client: FlaskClient, admin: dict, alice: dict) -> None:
    r = client.post("/api/v1/admin/users", headers=admin, json={
        "username": "carol", "password": "long enough", "quota_bytes": 1000})  # fmt: skip
    assert r.status_code == 201
    assert r.json["username"] == "carol" and r.json["quota_bytes"] == 1000
    assert r.json["disabled"] is False and r.json["is_admin"] is False
    assert r.json["used_bytes"] == 0 and r.json["files"] == 0
    again = client.post("/api/v1/admin/users", headers=admin,
                        json={"username": "carol", "password": "long enough"})  # fmt: skip
    assert again.status_code == 409

    client.put("/api/v1/files/a.txt", data=b"hello", headers=alice)
    users = {u["username"]: u for u in client.get("/api/v1/admin/users", headers=admin).json["users"]}
    assert sorted(users) == ["alice", "carol", "root"]
    assert users["alice"]["used_bytes"] == 5 and users["alice"]["files"] == 1

    r = client.patch("/api/v1/admin/users/alice", headers=admin, json={"quota_bytes": 7})
    assert r.status_code == 200 and r.json["quota_bytes"] == 7
    full = client.put("/api/v1/files/b.txt", data=b"hello", headers=alice)
    assert full.status_code == 507 and full.json["error"]["code"] == "quota_exceeded"
    r = client.patch("/api/v1/admin/users/alice", headers=admin, json={"quota_bytes": None})
    assert r.json["quota_bytes"] is None

    r = client.patch("/api/v1/admin/users/alice", headers=admin, json={"disabled": True})
    assert r.status_code == 200 and r.json["disabled"] is True
    assert client.get("/api/v1/me", headers=alice).status_code == 401  # tokens stop too
    client.patch("/api/v1/admin/users/alice", headers=admin, json={"disabled": False})
    # Enabling again revives no token the disable revoked.
    assert client.get("/api/v1/me", headers=alice).status_code == 401


def test_bad_admin_changes_are_refused(client: FlaskClient, admin: dict, alice: dict) -> None:
    for body in ({}, {"quota_bytes": -1}, {"quota_bytes": "10"}, {"disabled": "yes"},
                 {"name": "x"}, {"is_admin": None}):  # fmt: skip
        r = client.patch("/api/v1/admin/users/alice", headers=admin, json=body)
        assert r.status_code == 400 and r.json["error"]["code"] == "bad_request", body
    assert client.patch("/api/v1/admin/users/nobody", headers=admin,
                        json={"disabled": True}).status_code == 404  # fmt: skip
    # An admin cannot lock themselves out.
    for body in ({"disabled": True}, {"is_admin": False}):
        r = client.patch("/api/v1/admin/users/root", headers=admin, json=body)
        assert r.status_code == 400
    bad = client.post("/api/v1/admin/users", headers=admin,
                      json={"username": "../x", "password": "long enough"})  # fmt: skip
    assert bad.status_code == 400


def test_stats_count_uploads_and_rejections(client: FlaskClient, admin: dict, alice: dict) -> None:
    client.put("/api/v1/files/a.png", data=samples.png(), headers=alice)
    client.put("/api/v1/files/b.txt", data=b"text", headers=alice)
    client.put("/api/v1/files/evil.html", data=b"<html><script>x</script></html>", headers=alice)
    client.put("/api/v1/files/empty.txt", data=b"", headers=alice)
    # A tus creation refused for its name counts too.
    client.post("/api/v1/tus/", headers={**alice, "Tus-Resumable": "1.0.0", "Upload-Length": "3",
                "Upload-Metadata": "filename ZXZpbC5leGU="})  # fmt: skip
    r = client.get("/api/v1/admin/stats?days=7", headers=admin)
    assert r.status_code == 200
    days = r.json["days"]
    assert len(days) == 7
    assert days[-1]["date"] == dt.datetime.now(dt.UTC).date().isoformat()
    assert days[-1]["uploads"] == 2 and days[-1]["rejections"] == 3
    assert all(d["uploads"] == 0 for d in days[:-1])
    assert r.json["storage"]["files"] == 2
    assert r.json["storage"]["bytes"] == len(samples.png()) + 4
    recent = r.json["recent_rejections"]
    assert [e["code"] for e in recent] == ["type_not_allowed", "empty_file", "type_not_allowed"]
    assert recent[0]["name"] == "evil.exe" and recent[0]["username"] == "alice"
    assert recent[1]["message"]
    assert client.get("/api/v1/admin/stats?days=0", headers=admin).status_code == 400
    assert client.get("/api/v1/admin/stats?days=x", headers=admin).status_code == 400


def test_admin_json_bodies(app: Flask, client: FlaskClient, admin: dict) -> None:
    r = client.post("/api/v1/admin/users", headers=admin, data="username=x")
    assert r.status_code == 415
