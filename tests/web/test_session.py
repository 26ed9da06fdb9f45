"""Browser sign-in: the session cookie, CSRF on cookie-authenticated unsafe requests, rate
limiting, sign-out."""

from __future__ import annotations

import io

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import add_user, multipart
from tests.support import samples

PASSWORD = "correct horse battery"


def sign_in(client: FlaskClient, name: str, password: str = PASSWORD) -> str:
    r = client.post("/api/v1/session", json={"username": name, "password": password})
    assert r.status_code == 200, r.json
    assert r.json["username"] == name
    return str(r.json["csrf_token"])


def test_sign_in_sets_a_hardened_cookie(app: Flask, client: FlaskClient, alice: dict) -> None:
    r = client.post("/api/v1/session", json={"username": "alice", "password": PASSWORD})
    assert r.status_code == 200 and len(r.json["csrf_token"]) >= 32
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("airlock_session=als_")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP and not told otherwise
    assert r.headers["Cache-Control"] == "no-store"
    # The session answers with the same CSRF token.
    assert client.get("/api/v1/session").json == r.json
    assert client.get("/api/v1/me").json["username"] == "alice"


def test_cookie_is_secure_over_https_or_when_told(make_app) -> None:
    for app, base in ((make_app(), "https://localhost"),
                      (make_app(cookie_secure=True), "http://localhost")):  # fmt: skip
        add_user(app, "alice")
        r = app.test_client().post(
            "/api/v1/session", json={"username": "alice", "password": PASSWORD}, base_url=base
        )
        assert "Secure" in r.headers["Set-Cookie"]


def test_wrong_password_and_unknown_user_are_alike(client: FlaskClient, alice: dict) -> None:
    for body in ({"username": "alice", "password": "nope nope nope"},
                 {"username": "nobody", "password": PASSWORD}):  # fmt: skip
        r = client.post("/api/v1/session", json=body)
        assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
        assert r.json["error"]["message"] == "Wrong user name or password."
        assert "Set-Cookie" not in r.headers
    assert client.get("/api/v1/me").status_code == 401


def test_sign_in_needs_json(client: FlaskClient, alice: dict) -> None:
    # A cross-site HTML form can only send form encodings: no login CSRF.
    r = client.post("/api/v1/session", data={"username": "alice", "password": PASSWORD})
    assert r.status_code == 415 and r.json["error"]["code"] == "unsupported_media_type"
    r = client.post("/api/v1/session", json={"username": "alice"})
    assert r.status_code == 400 and r.json["error"]["code"] == "bad_request"


def test_unsafe_cookie_requests_need_the_csrf_token(client: FlaskClient, alice: dict) -> None:
    token = sign_in(client, "alice")
    up = client.put("/api/v1/files/a.txt", data=b"hello")
    assert up.status_code == 403 and up.json["error"]["code"] == "forbidden"
    wrong = client.put("/api/v1/files/a.txt", data=b"hello", headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403
    form = client.post("/api/v1/files",
                       **multipart({"file": (io.BytesIO(samples.png()), "a.png")}))  # fmt: skip
    assert form.status_code == 403 and form.json["error"]["code"] == "forbidden"
    assert client.get("/api/v1/files").json["files"] == []  # nothing was stored
    ok = client.put("/api/v1/files/a.txt", data=b"hello", headers={"X-CSRF-Token": token})
    assert ok.status_code == 201
    fid = ok.json["id"]
    # Reads need no token; changes do.
    assert client.get(f"/api/v1/files/{fid}").status_code == 200
    assert client.delete(f"/api/v1/files/{fid}").status_code == 403
    assert client.patch(f"/api/v1/files/{fid}", json={"name": "b.txt"}).status_code == 403
    assert client.post("/api/v1/tus/", headers={"Tus-Resumable": "1.0.0",
                       "Upload-Length": "5"}).status_code == 403  # fmt: skip
    assert client.delete(f"/api/v1/files/{fid}", headers={"X-CSRF-Token": token}).status_code == 204


def test_bearer_calls_need_no_csrf_token(client: FlaskClient, alice: dict) -> None:
    sign_in(client, "alice")  # a cookie is present too, but the bearer token decides
    r = client.put("/api/v1/files/a.txt", data=b"hello", headers=alice)
    assert r.status_code == 201


def test_csrf_token_belongs_to_its_session(app: Flask, alice: dict, bob: dict) -> None:
    a, b = app.test_client(), app.test_client()
    sign_in(a, "alice")
    bob_token = sign_in(b, "bob")
    r = a.put("/api/v1/files/a.txt", data=b"hello", headers={"X-CSRF-Token": bob_token})
    assert r.status_code == 403


def test_sign_out_ends_the_session(app: Flask, client: FlaskClient, alice: dict) -> None:
    token = sign_in(client, "alice")
    cookie = client.get_cookie("airlock_session")
    assert cookie is not None
    assert client.delete("/api/v1/session").status_code == 403  # needs the token too
    r = client.delete("/api/v1/session", headers={"X-CSRF-Token": token})
    assert r.status_code == 204
    assert client.get_cookie("airlock_session") is None
    assert client.get("/api/v1/me").status_code == 401
    # A copy of the old cookie is worthless now: the session row is gone.
    other = app.test_client()
    other.set_cookie("airlock_session", cookie.value)
    assert other.get("/api/v1/me").status_code == 401
    assert other.get("/api/v1/session").status_code == 401


def test_forged_cookie_is_anonymous(client: FlaskClient, alice: dict) -> None:
    client.set_cookie("airlock_session", "als_forged")
    assert client.get("/api/v1/me").status_code == 401
    client.set_cookie("airlock_session", "not even the prefix")
    assert client.get("/api/v1/session").status_code == 401


def test_disabled_user_loses_the_session(app: Flask, client: FlaskClient, alice: dict,
                                         admin: dict) -> None:  # fmt: skip
    sign_in(client, "alice")
    r = client.patch("/api/v1/admin/users/alice", json={"disabled": True}, headers=admin)
    assert r.status_code == 200 and r.json["disabled"] is True
    assert client.get("/api/v1/me").status_code == 401
    r = client.post("/api/v1/session", json={"username": "alice", "password": PASSWORD})
    assert r.status_code == 401


def test_failed_sign_ins_are_rate_limited(make_app) -> None:
    app = make_app(login_attempts=3)
    add_user(app, "alice")
    client = app.test_client()
    for _ in range(3):
        r = client.post("/api/v1/session", json={"username": "alice", "password": "bad password"})
        assert r.status_code == 401
    r = client.post("/api/v1/session", json={"username": "alice", "password": "bad password"})
    assert r.status_code == 429 and r.json["error"]["code"] == "rate_limited"
    assert 1 <= int(r.headers["Retry-After"]) <= 900
    # Even the right password waits now: otherwise the limit would not stop guessing.
    r = client.post("/api/v1/session", json={"username": "alice", "password": PASSWORD})
    assert r.status_code == 429
    # The name is throttled (any spelling of it), not the whole server.
    add_user(app, "bob")
    assert client.post("/api/v1/session", json={"username": "ALICE",
                       "password": "x"}).status_code == 429  # fmt: skip
    assert client.post("/api/v1/session", json={"username": "bob",
                       "password": PASSWORD}).status_code == 200  # fmt: skip


def test_one_address_cannot_try_many_names(make_app) -> None:
    app = make_app(login_attempts=2)  # 10 per address
    client = app.test_client()
    for i in range(10):
        body = {"username": f"user{i}", "password": "bad password"}
        assert client.post("/api/v1/session", json=body).status_code == 401
    body = {"username": "user99", "password": "bad password"}
    assert client.post("/api/v1/session", json=body).status_code == 429
    # Another address is not affected.
    r = client.post("/api/v1/session", json=body, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert r.status_code == 401


def test_forwarded_addresses_count_only_behind_trusted_proxies(make_app) -> None:
    """Behind a load balancer every client has its address: the per-address limit needs the
    forwarded one. Without ``AIRLOCK_TRUSTED_PROXIES`` a client's X-Forwarded-For is ignored,
    so it cannot dodge that limit by inventing addresses."""

    def failures_until_limited(app: Flask) -> int:
        client = app.test_client()
        for i in range(20):
            body = {"username": f"guess{i}", "password": "bad password"}
            headers = {"X-Forwarded-For": f"203.0.113.{i}"}
            if client.post("/api/v1/session", json=body, headers=headers).status_code == 429:
                return i
        return 20

    assert failures_until_limited(make_app(login_attempts=2)) == 10  # one address: 5 x 2
    assert failures_until_limited(make_app(login_attempts=2, trusted_proxies=1)) == 20
