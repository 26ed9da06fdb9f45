"""Share links in a real browser: "Copy link" on the upload page, a link revoked from the
share dialog dying for the stranger who had it, and a password link opened in a fresh
context (the wrong password refused, the right one opening it, too many wrong ones limited)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import Airlock, screenshot, sha256

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_copy_link_from_the_upload_page(server: Airlock, browsing: Any, tmp_path: Path) -> None:
    user = server.new_user("copier")
    b = browsing(permissions=["clipboard-read", "clipboard-write"])
    b.sign_in(user)
    page = b.page()
    page.goto("/upload")
    path = tmp_path / "minutes.txt"
    path.write_bytes(b"Minutes of the meeting\n")
    page.get_by_label("Choose files…").set_input_files([str(path)])
    row = page.locator("#upload-list > li")
    expect(row.locator(".upload-status")).to_have_text("Uploaded.", timeout=30_000)
    copy = row.get_by_role("button", name="Copy a share link to minutes.txt")
    copy.click()
    expect(copy).to_have_text("Link copied")
    url = page.evaluate("navigator.clipboard.readText()")
    assert re.search(r"/share/[A-Za-z0-9_-]+$", url), url

    # "Share…" on the same row lists the link just made.
    row.get_by_role("button", name="Share minutes.txt").click()
    dialog = page.locator("#share-dialog")
    expect(dialog.locator(".link")).to_have_count(1)
    expect(dialog.get_by_label("Share page address")).to_have_value(url)
    expect(dialog.locator("#share-links-status")).to_have_text("1 link to this file.")
    screenshot(page, "upload-share")

    stranger = browsing().page()
    stranger.goto(url)
    expect(stranger.get_by_role("heading", name="minutes.txt")).to_be_visible()


def test_a_revoked_link_dies(server: Airlock, browsing: Any) -> None:
    user = server.new_user("revoker")
    file = server.upload(user, "leaked.txt", b"should not have been shared\n")
    made = server.api(user, "POST", f"/api/v1/files/{file['id']}/links",
                      json={"expires_in": 86400, "max_downloads": 5}).json()  # fmt: skip
    url = server.url + "/share/" + made["url"].removeprefix("/s/")
    stranger = browsing().page()
    stranger.goto(url)
    expect(stranger.get_by_role("heading", name="leaked.txt")).to_be_visible()

    b = browsing()
    b.sign_in(user)
    page = b.page()
    page.goto("/files")
    page.get_by_role("button", name="Share leaked.txt").click()
    dialog = page.locator("#share-dialog")
    link = dialog.locator(".link")
    expect(link).to_have_count(1)
    expect(link.locator(".link-facts")).to_contain_text("0 of 5 downloads used")
    link.get_by_role("button", name=re.compile("^Revoke the link")).click()
    expect(dialog.locator(".link")).to_have_count(0)
    expect(dialog.locator("#share-links-status")).to_have_text("No links to this file yet.")

    response = stranger.goto(url)
    assert response is not None and response.status == 404
    expect(stranger.get_by_role("heading", name="Not found")).to_be_visible()
    assert server.api(user, "GET", f"/api/v1/files/{file['id']}/links").json() == {"links": []}


def test_a_password_link_in_a_fresh_context(server: Airlock, browsing: Any) -> None:
    user = server.new_user("keeper")
    data = b"the combination is 12-34-56\n"
    server.upload(user, "safe.txt", data)
    b = browsing(permissions=["clipboard-read", "clipboard-write"])
    b.sign_in(user)
    page = b.page()
    page.goto("/files")
    page.get_by_role("button", name="Share safe.txt").click()
    dialog = page.locator("#share-dialog")
    dialog.get_by_label("Password").fill("correct battery")
    dialog.get_by_role("button", name="Create link").click()
    fresh = dialog.locator(".link-fresh")
    expect(fresh.locator(".link-facts")).to_contain_text("needs a password")
    url = fresh.get_by_label("Share page address").input_value()
    assert "correct" not in url

    visitor = browsing().page()
    visitor.goto(url)
    expect(visitor.get_by_role("heading", name="This link needs a password")).to_be_visible()
    assert "safe.txt" not in visitor.content()
    visitor.get_by_label("Password").fill("wrong battery")
    visitor.get_by_role("button", name="Open").click()
    expect(visitor.locator("#unlock-error")).to_have_text("That is not the password of this link.")
    expect(visitor.get_by_label("Password")).to_be_focused()
    assert "battery" not in visitor.url
    screenshot(visitor, "share-password")
    visitor.get_by_label("Password").fill("correct battery")
    visitor.get_by_role("button", name="Open").click()
    expect(visitor.get_by_role("heading", name="safe.txt")).to_be_visible()
    assert visitor.url == url
    with visitor.expect_download() as download:
        visitor.get_by_role("link", name="Download").click()
    assert sha256(Path(download.value.path()).read_bytes()) == sha256(data)

    # Guessing is limited: after the server's allowance of wrong tries (10), even the right
    # password waits.
    guesser = browsing().page()
    guesser.goto(url)
    for i in range(10):
        guesser.get_by_label("Password").fill(f"guess {i}")
        guesser.get_by_role("button", name="Open").click()
        expect(guesser.locator("#unlock-error")).to_be_visible()
    guesser.get_by_label("Password").fill("correct battery")
    guesser.get_by_role("button", name="Open").click()
    expect(guesser.locator("#unlock-error")).to_contain_text("Too many wrong passwords")


def test_the_share_dialog_by_keyboard_and_on_a_phone(server: Airlock, browsing: Any) -> None:
    user = server.new_user("keys")
    file = server.upload(user, "typed-notes.txt", b"typed\n")
    server.api(user, "POST", f"/api/v1/files/{file['id']}/links", json={"expires_in": 3600})
    b = browsing(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    b.sign_in(user)
    page = b.page()
    page.goto("/files")
    share = page.get_by_role("button", name="Share typed-notes.txt")
    share.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#share-dialog")
    expect(dialog.locator(".link")).to_have_count(1)
    revoke = dialog.get_by_role("button", name=re.compile("^Revoke the link"))
    revoke.focus()
    page.keyboard.press("Enter")
    expect(dialog.locator(".link")).to_have_count(0)
    expect(dialog.get_by_label("The link works for")).to_be_focused()
    page.keyboard.press("Tab")
    expect(dialog.get_by_label("Download limit")).to_be_focused()
    overflow = page.evaluate(
        "() => document.querySelector('#share-dialog').scrollWidth"
        " - document.querySelector('#share-dialog').clientWidth"
    )
    assert overflow <= 0, f"the share dialog scrolls sideways by {overflow}px at 375px"
    screenshot(page, "share-dialog-phone")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(share).to_be_focused()


def test_a_three_file_link_downloads_as_one_zip(server: Airlock, browsing: Any) -> None:
    import io
    import zipfile

    from tests.ui import samples

    user = server.new_user("bundler")
    contents = {
        "agenda.txt": b"1. welcome\n2. the plan\n",
        "slides.pdf": samples.pdf(),
        "photo.png": samples.photo(300, 200, seed=4),
    }
    ids = [server.upload(user, name, data)["id"] for name, data in contents.items()]
    link = server.api(user, "POST", "/api/v1/links",
                      json={"files": ids, "expires_in": 3600}).json()  # fmt: skip
    page = browsing(timezone_id="Pacific/Auckland").page()
    page.goto("/share/" + link["url"].removeprefix("/s/"))
    expect(page.get_by_role("heading", name="3 files")).to_be_visible()
    # The expiry in the reader's time zone (the server's UTC on hover).
    until = page.locator(".shared-facts time")
    expect(until).to_have_attribute("title", re.compile("UTC$"))
    expect(until).not_to_contain_text("UTC")
    items = page.get_by_role("list", name="Files").get_by_role("listitem")
    expect(items).to_have_count(3)
    for name in contents:
        expect(page.get_by_role("link", name=f"Download {name}")).to_be_visible()
    screenshot(page, "share-several")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download all (zip)").click()
    assert download.value.suggested_filename == "3 files.zip"
    with zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes())) as archive:
        got = {info.filename: sha256(archive.read(info)) for info in archive.infolist()}
    assert got == {name: sha256(data) for name, data in contents.items()}
    with page.expect_download() as one:
        page.get_by_role("link", name="Download photo.png").click()
    assert sha256(Path(one.value.path()).read_bytes()) == sha256(contents["photo.png"])
