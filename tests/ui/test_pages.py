"""Sign-in, CSRF, admin and error pages in a real browser."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.ui import samples
from tests.ui.conftest import PASSWORD, Airlock, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self'; connect-src 'self'; frame-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def test_sign_in_and_out(server: Airlock, browsing: Any) -> None:
    user = server.new_user("signer")
    b = browsing()
    page = b.page()
    page.goto("/files")
    expect(page).to_have_url(re.compile(r"/login\?next=/files$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_label("User name")).to_be_focused()

    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    error = page.get_by_role("alert").filter(has_text="do not match")
    expect(error).to_be_visible()
    expect(page.get_by_label("Password")).to_be_focused()
    screenshot(page, "login")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/files$"))
    expect(page.get_by_role("heading", name="My files")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="My files")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="Admin")).to_have_count(0)

    cookie = next(c for c in b.context.cookies() if c["name"] == "airlock_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/upload")
    expect(page).to_have_url(re.compile(r"/login\?next=/upload$"))


def test_sign_in_rate_limited(server: Airlock, browsing: Any) -> None:
    """After too many failures the form says when to try again (from Retry-After)."""
    user = server.new_user("guesser")
    for _ in range(12):
        r = requests.post(server.url + "/api/v1/session",
                          json={"username": user, "password": "wrong guess"}, timeout=30)  # fmt: skip
        if r.status_code == 429:
            break
    assert r.status_code == 429, "sign-in failures were not rate-limited"
    page = browsing().page()
    page.goto("/login")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert").filter(has_text="Too many failed sign-ins")).to_contain_text(
        re.compile(r"Try again in \d+ (s|min)")
    )
    expect(page).to_have_url(re.compile(r"/login$"))


def test_sign_in_ignores_foreign_next(server: Airlock, browsing: Any) -> None:
    user = server.new_user("nexter")
    b = browsing()
    page = b.page()
    page.goto("/login?next=//evil.example/")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(server.url + "/upload")


def test_pages_carry_strict_headers(server: Airlock) -> None:
    session = requests.Session()
    r = session.post(server.url + "/api/v1/session",
                     json={"username": "admin", "password": PASSWORD}, timeout=30)  # fmt: skip
    assert r.status_code == 200
    anonymous = requests.Session()
    for client, path in ((anonymous, "/login"), (session, "/upload"), (session, "/files"),
                         (session, "/admin")):  # fmt: skip
        r = client.get(server.url + path, timeout=30, allow_redirects=False)
        assert r.status_code == 200, path
        assert r.headers["Content-Security-Policy"] == CSP
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert r.headers["Cache-Control"] == "no-store"
        assert not re.search(r"<script(?![^>]*\ssrc=)", r.text)  # no inline script
        assert not re.search(r"<[^>]*\s(on[a-z]+|style)\s*=", r.text)  # no handlers, no styles
        assert "http://" not in r.text and "https://" not in r.text  # nothing from elsewhere
    for path, status in (("/share/forged-token", 404), ("/public/no-such-file", 404)):
        r = requests.get(server.url + path, timeout=30)
        assert r.status_code == status and r.headers["Content-Security-Policy"] == CSP
        assert r.headers["Content-Type"].startswith("text/html")
    anonymous = requests.get(server.url + "/upload", timeout=30, allow_redirects=False)
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].endswith("/login?next=/upload")


class _Attacker(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        body = (
            "<!doctype html><title>Win a prize</title>"
            f'<form id="f" method="post" action="{self.target}/api/v1/files" '
            'enctype="multipart/form-data">'
            '<input type="file" name="file" id="file"><input name="visibility" value="public">'
            '<button id="go">Claim</button></form>'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def attacker(server: Airlock) -> Iterator[str]:
    """A page on another origin (another port) with a form that posts a file to Airlock."""
    handler = type("Attacker", (_Attacker,), {"target": server.url})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_csrf_less_form_post_is_refused(
    server: Airlock, browsing: Any, attacker: str, tmp_path: Path
) -> None:
    user = server.new_user("victim")
    b = browsing()
    b.sign_in(user)
    page = b.page()
    page.goto(attacker)
    bait = tmp_path / "planted.png"
    bait.write_bytes(samples.photo(50, 50))
    page.set_input_files("#file", str(bait))
    with page.expect_response(lambda r: r.url.endswith("/api/v1/files")) as answer:
        page.click("#go")
    response = answer.value
    # The session cookie went along (same site, SameSite=Lax), so this is the CSRF check
    # refusing it, not a missing login.
    assert response.status == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert server.files(user) == []


def test_admin_page(server: Airlock, browsing: Any) -> None:
    admin = server.new_user("root", admin=True, exact=True)
    member = server.new_user("member")
    server.upload(member, "fine.png", samples.photo(40, 40))
    r = server.api(member, "POST", "/api/v1/files", files={"file": ("bad.exe", b"MZ\x90\x00" * 64)})
    assert r.status_code >= 400

    b = browsing()
    b.sign_in(admin)
    page = b.page()
    page.goto("/admin")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Admin")).to_have_attribute("aria-current", "page")
    users = page.locator("#users-table")
    expect(users.get_by_role("rowheader", name=member, exact=True)).to_be_visible()
    expect(users.get_by_role("rowheader", name=admin, exact=True)).to_be_visible()
    chart = page.get_by_role("img", name=re.compile(r"uploads and \d+ rejections"))
    expect(chart).to_be_visible()
    assert page.locator("#chart rect.bar-uploads").count() == 14
    assert page.locator("#chart rect.bar-rejections").count() == 14
    expect(page.locator("#stat-files")).not_to_have_text("—")
    rejections = page.locator("#rejections-table")
    expect(rejections.locator("tr").filter(has_text="bad.exe")).to_contain_text("not allowed")

    newcomer = f"new-{member[-6:]}"
    form = page.locator("#add-user")
    form.get_by_label("User name").fill(newcomer)
    form.get_by_label("Password").fill("another long password")
    form.get_by_label("Quota").fill("5MB")
    form.get_by_role("button", name="Add user").click()
    row = users.locator("tr").filter(has=page.get_by_role("rowheader", name=newcomer, exact=True))
    expect(row).to_be_visible()
    expect(row.locator(".cell-quota")).to_have_text("5.0 MB")

    row.get_by_role("button", name=f"Change the quota of {newcomer}").click()
    dialog = page.locator("#quota-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Quota").fill("20MB")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(row.locator(".cell-quota")).to_have_text("20.0 MB")

    row.get_by_role("button", name=f"Disable {newcomer}").click()
    expect(row.get_by_role("button", name=f"Enable {newcomer}")).to_be_visible()
    screenshot(page, "admin")

    listed = server.api(admin, "GET", "/api/v1/admin/users").json()["users"]
    mine = next(u for u in listed if u["username"] == newcomer)
    assert mine["quota_bytes"] == 20 * 10**6 and mine["disabled"] is True


def test_non_admin_gets_403_at_admin(server: Airlock, browsing: Any) -> None:
    user = server.new_user("plain")
    b = browsing()
    b.sign_in(user)
    page = b.page()
    response = page.goto("/admin")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin")).to_have_count(0)
    screenshot(page, "error-403")


def test_error_pages(server: Airlock, browsing: Any) -> None:
    b = browsing()
    page = b.page()
    response = page.goto("/share/no-such-token")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    response = page.goto("/public/no-such-file")
    assert response is not None and response.status == 404
