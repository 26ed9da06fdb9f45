"""Airlock's upload widget on a host app's page: ``examples/login_app.py`` (Flask-Login users,
a CSP of ``default-src 'self'``) under gunicorn, in headless Chromium. The signed-in user picks
files; each goes over tus with its progress bar and becomes a File of theirs; a refused one
says why; nothing on the page breaks the policy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.support.examples import serving
from tests.ui.conftest import watch
from tests.ui.samples import photo


@pytest.fixture(scope="module")
def login_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("widget")
    env = {"AIRLOCK_DATA_DIR": str(root / "data"), "LOG": str(root / "log")}
    with serving("login_app", env) as url:
        yield url


def test_the_widget_uploads_for_the_signed_in_user(browser: Browser, login_app: str,
                                                   tmp_path: Path) -> None:  # fmt: skip
    context = browser.new_context(base_url=login_app)
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        seen = watch(page)
        page.goto("/login")
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", "alice's password")
        page.click("input[type=submit]")
        expect(page.get_by_text("Signed in as alice")).to_be_visible()
        picture = tmp_path / "garden.png"
        picture.write_bytes(photo(800, 600))
        fake = tmp_path / "notes.png"
        fake.write_bytes(b"plain text pretending to be a picture\n" * 20)
        page.locator("[data-airlock-upload] input[type=file]").set_input_files([picture, fake])
        items = page.locator(".airlock-upload-item")
        expect(items).to_have_count(2)
        done = page.locator(".airlock-upload-item.airlock-upload-done")
        expect(done).to_have_count(1)
        expect(done).to_contain_text("garden.png")
        expect(done.locator("progress")).to_have_attribute("value", str(picture.stat().st_size))
        failed = page.locator(".airlock-upload-item.airlock-upload-failed")
        expect(failed).to_contain_text("notes.png")
        expect(failed.locator(".airlock-upload-status")).not_to_be_empty()
        files = context.request.get(login_app + "/uploads/files").json()["files"]
        assert [(f["name"], f["owner"], f["size"]) for f in files] == [
            ("garden.png", "alice", picture.stat().st_size)]
        assert done.get_attribute("data-file-id") == files[0]["id"]
        seen.check()  # no script error, no CSP violation
    finally:
        context.close()
