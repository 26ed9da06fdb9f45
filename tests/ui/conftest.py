"""Browser-test fixtures: one ``airlock serve`` for the whole UI suite, Debian's Chromium driven
by Playwright (never a downloaded browser), a fresh browser context per test, and a watch on
every page for script errors, CSP violations and failed loads of our own assets."""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, Response
from playwright.sync_api import sync_playwright

from tests.support.server import LiveServer

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
PASSWORD = "correct horse battery"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def chromium_path() -> str:
    """Debian's Chromium; the tests never download a browser."""
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if not found:
        pytest.fail(
            "Chromium is not installed: the browser tests drive Debian's `chromium` package "
            "(scripts/setup installs it, or: apt-get install chromium)."
        )
    return found


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield browser
    finally:
        browser.close()


class Airlock(LiveServer):
    """The live server plus what the browser tests need: users made through the admin API,
    bearer-token API calls."""

    def api(self, user: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(
            method, self.url + path, headers=self.auth(user), timeout=30, **kwargs
        )

    def new_user(
        self, prefix: str, admin: bool = False, quota: int | None = None, exact: bool = False
    ) -> str:
        """A fresh user (password ``PASSWORD``) with an API token, made by the admin; named
        ``prefix`` plus a random suffix, or exactly ``prefix`` (for screenshots)."""
        name = prefix if exact else f"{prefix}-{secrets.token_hex(3)}"
        body: dict[str, Any] = {"username": name, "password": PASSWORD, "is_admin": admin}
        if quota is not None:
            body["quota_bytes"] = quota
        r = self.api("admin", "POST", "/api/v1/admin/users", json=body)
        assert r.status_code == 201, r.text
        token = self.token_for(name)
        self.tokens[name] = token
        return name

    def token_for(self, name: str) -> str:
        session = requests.Session()
        r = session.post(self.url + "/api/v1/session",
                         json={"username": name, "password": PASSWORD}, timeout=30)  # fmt: skip
        assert r.status_code == 200, r.text
        r = session.post(self.url + "/api/v1/tokens", json={"name": "ui-tests"},
                         headers={"X-CSRF-Token": r.json()["csrf_token"]}, timeout=30)  # fmt: skip
        assert r.status_code == 201, r.text
        return str(r.json()["token"])

    def upload(self, user: str, name: str, data: bytes, **fields: str) -> dict[str, Any]:
        """Store a File through the multipart API; its File JSON."""
        r = self.api(user, "POST", "/api/v1/files", files={"file": (name, data)}, data=fields)
        assert r.status_code == 201, r.text
        return dict(r.json()["files"][0])

    def files(self, user: str, q: str | None = None) -> list[dict[str, Any]]:
        params = {"limit": "500", **({"q": q} if q else {})}
        r = self.api(user, "GET", "/api/v1/files", params=params)
        assert r.status_code == 200, r.text
        return list(r.json()["files"])


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Airlock]:
    """One server for the UI suite, with the admin ``admin``; tests make their own users."""
    root = tmp_path_factory.mktemp("ui")
    live = Airlock(root / "data")
    live.start()
    try:
        live.add_user("admin", admin=True)
        yield live
    finally:
        live.stop()


@dataclass
class PageWatch:
    """What went wrong on a page: uncaught errors, console errors, CSP violations, failed
    loads of Airlock's own assets. API errors the test provoked on purpose (a rejection, a
    wrong password) show up as "Failed to load resource" and are allowed."""

    errors: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def on_console(self, msg: ConsoleMessage) -> None:
        text = msg.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.csp.append(text)
        elif msg.type == "error" and not text.startswith("Failed to load resource"):
            self.errors.append(text)

    def on_response(self, response: Response) -> None:
        path = response.url.split("?")[0]
        if "/static/" in path and response.status >= 400:
            self.errors.append(f"{response.status} for {response.url}")

    def check(self) -> None:
        assert not self.csp, f"CSP violations: {self.csp}"
        assert not self.errors, f"errors on the page: {self.errors}"


def watch(page: Page) -> PageWatch:
    w = PageWatch()
    page.on("console", w.on_console)
    page.on("pageerror", lambda exc: w.errors.append(f"uncaught: {exc}"))
    page.on("response", w.on_response)

    def on_dialog(dialog: Any) -> None:
        w.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    # CSP violations also as events, in case the console wording changes.
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => console.error("
        "'Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    return w


class Browsing:
    """A browser context for one user (or none), with watched pages."""

    def __init__(self, browser: Browser, base_url: str, **context_args: Any) -> None:
        self.base_url = base_url
        self.context: BrowserContext = browser.new_context(base_url=base_url, **context_args)
        self.context.set_default_timeout(15_000)
        self.watches: list[PageWatch] = []

    def page(self) -> Page:
        page = self.context.new_page()
        self.watches.append(watch(page))
        return page

    def sign_in(self, username: str) -> None:
        r = self.context.request.post(
            self.base_url + "/api/v1/session",
            data=json.dumps({"username": username, "password": PASSWORD}),
            headers={"Content-Type": "application/json"},
        )
        assert r.status == 200, r.text()

    def check(self) -> None:
        for w in self.watches:
            w.check()
        assert not [d for w in self.watches for d in w.dialogs], "a dialog was opened"

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def browsing(browser: Browser, server: Airlock) -> Iterator[Any]:
    """Make browser contexts (``browsing(base_url=None, **context_args)``); each is checked
    for page errors and CSP violations, and closed, after the test."""
    made: list[Browsing] = []

    def make(base_url: str | None = None, **context_args: Any) -> Browsing:
        context_args.setdefault("viewport", {"width": 1280, "height": 860})
        b = Browsing(browser, base_url or server.url, **context_args)
        made.append(b)
        return b

    yield make
    try:
        for b in made:
            b.check()
    finally:
        for b in made:
            b.close()


def screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot in test-artifacts/screenshots/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    return path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
