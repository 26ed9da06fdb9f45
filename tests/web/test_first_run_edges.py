"""Rough edges a first run meets: a spent link opened in a browser reads as a page, the API's
answers are never cached, and HSTS goes out where cookies are Secure."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import MakeApp, add_user

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_a_spent_link_in_a_browser_is_a_page(client: FlaskClient, alice: dict[str, str]) -> None:
    f = client.put("/api/v1/files/a.txt", data=b"once\n", headers=alice).json
    link = client.post(f"/api/v1/files/{f['id']}/links", headers=alice,
                       json={"expires_in": 60, "max_downloads": 1}).json  # fmt: skip
    assert client.get(link["url"]).status_code == 200
    page = client.get(link["url"], headers=BROWSER)
    assert page.status_code == 410 and page.mimetype == "text/html"
    assert b"No longer available" in page.data and b"used up" in page.data
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    program = client.get(link["url"])  # curl, a script: the JSON envelope
    assert program.status_code == 410 and program.json["error"]["code"] == "gone"


def test_api_answers_are_never_cached(client: FlaskClient, alice: dict[str, str]) -> None:
    for path in ("/api/v1/files", "/api/v1/me", "/api/v1/tokens"):
        r = client.get(path, headers=alice)
        assert r.status_code == 200
        assert r.headers["Cache-Control"] == "no-store", path
        assert r.headers["X-Content-Type-Options"] == "nosniff", path


def test_hsts_where_cookies_are_secure(make_app: MakeApp) -> None:
    plain = make_app().test_client()
    assert "Strict-Transport-Security" not in plain.get("/healthz").headers
    secure_app = make_app(cookie_secure=True)
    add_user(secure_app, "alice")
    r = secure_app.test_client().get("/healthz")
    assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
