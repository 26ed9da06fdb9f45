"""My files in a real browser: the list, share links opened by a stranger, public pages,
hostile names, rename, visibility and delete."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.ui import samples
from tests.ui.conftest import Airlock, screenshot, sha256

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

HOSTILE = "<img src=x onerror=alert(1)>.png"


def row_of(page: Any, name: str) -> Any:
    return page.locator("#file-rows > tr").filter(
        has=page.locator(".file-name", has_text=name)
    )


def test_list_share_link_and_stranger(server: Airlock, browsing: Any) -> None:
    user = server.new_user("alice", exact=True)
    server.upload(user, "notes.txt", b"Meeting notes\n- ship the upload page\n- write the tests\n")
    server.upload(user, "report.pdf", samples.pdf())
    server.upload(user, "garden.png", samples.photo(800, 600, seed=21), visibility="public")
    picture = samples.photo(900, 600, seed=8)
    server.upload(user, "mountain-lake.png", picture)

    b = browsing(permissions=["clipboard-read", "clipboard-write"])
    b.sign_in(user)
    page = b.page()
    page.goto("/files")
    rows = page.locator("#file-rows > tr")
    expect(rows).to_have_count(4)
    expect(page.locator("#quota-text")).to_contain_text("used")
    lake = row_of(page, "mountain-lake.png")
    expect(lake.locator(".cell-type")).to_have_text("PNG image")
    expect(lake.locator(".badge")).to_have_text("Private")
    expect(row_of(page, "garden.png").locator(".badge")).to_have_text("Public")
    thumb = lake.locator("img.thumb")
    expect(thumb).to_have_attribute("src", re.compile(r"/thumbnail$"))
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.thumb')].every(i => i.complete && i.naturalWidth > 0)"
    )
    screenshot(page, "files")

    page.get_by_label("Search by name").fill("lake")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("mountain-lake.png")

    lake.get_by_role("button", name="Share mountain-lake.png").click()
    dialog = page.locator("#share-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("The link works for").select_option(label="1 day")
    dialog.get_by_role("button", name="Create link").click()
    fresh = dialog.locator(".link-fresh")
    share_url = fresh.get_by_label("Share page address")
    expect(share_url).to_have_value(re.compile(r"/share/[A-Za-z0-9_-]+$"))
    expect(fresh.locator(".link-facts")).to_contain_text("works until")
    expect(fresh.locator(".link-facts")).to_contain_text("0 downloads")
    fresh.get_by_role("button", name="Copy", exact=True).click()
    expect(fresh.get_by_role("button", name="Copied")).to_be_visible()
    url = share_url.input_value()
    assert page.evaluate("navigator.clipboard.readText()") == url
    fresh.get_by_role("button", name="Copy download address").click()
    direct = page.evaluate("navigator.clipboard.readText()")
    assert re.search(r"/s/[A-Za-z0-9_-]+$", direct) and direct.endswith(url.rsplit("/", 1)[1])
    fresh.get_by_role("button", name="QR code").click()
    qr = fresh.get_by_role("img", name=f"QR code of {url}")
    expect(qr).to_be_visible()
    page.wait_for_function(
        "() => { const i = document.querySelector('.link-fresh .link-qr-image');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    screenshot(page, "share-dialog")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()

    # A stranger: a fresh context, no cookies.
    stranger = browsing()
    other = stranger.page()
    other.goto(url)
    expect(other.get_by_role("heading", name="mountain-lake.png")).to_be_visible()
    expect(other.get_by_role("navigation", name="Main")).to_have_count(0)
    preview = other.get_by_role("img", name="Preview of mountain-lake.png")
    expect(preview).to_be_visible()
    other.wait_for_function(
        "() => { const i = document.querySelector('.preview-image'); return i && i.naturalWidth === 900; }"
    )
    screenshot(other, "share")
    with other.expect_download() as download:
        other.get_by_role("link", name="Download").click()
    assert download.value.suggested_filename == "mountain-lake.png"
    assert sha256(Path(download.value.path()).read_bytes()) == sha256(picture)


def test_limited_link_spends_nothing_on_view(server: Airlock, browsing: Any) -> None:
    user = server.new_user("limiter")
    data = b"one download only\n"
    file = server.upload(user, "once.txt", data)
    r = server.api(user, "POST", f"/api/v1/files/{file['id']}/links",
                   json={"expires_in": 3600, "max_downloads": 1})  # fmt: skip
    token = r.json()["url"].removeprefix("/s/")
    page = browsing().page()
    for _ in range(3):
        page.goto(f"/share/{token}")
        expect(page.locator(".preview")).to_contain_text("No preview is shown here")
        expect(page.locator(".shared-facts")).to_contain_text("1 download left")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    assert Path(download.value.path()).read_bytes() == data
    response = page.goto(f"/share/{token}")
    assert response is not None and response.status == 410
    expect(page.get_by_role("heading", name="No longer available")).to_be_visible()


def test_public_page_and_visibility_toggle(server: Airlock, browsing: Any) -> None:
    user = server.new_user("publisher")
    text = "Shopping list\n\n- apples\n- <b>not bold</b>\n"
    server.upload(user, "list.txt", text.encode())
    b = browsing()
    b.sign_in(user)
    page = b.page()
    page.goto("/files")
    row = row_of(page, "list.txt")
    row.get_by_role("button", name="Make public: list.txt").click()
    expect(row.locator(".badge")).to_have_text("Public")
    expect(row.get_by_role("button", name="Make private: list.txt")).to_be_focused()
    link = row.get_by_role("link", name="Public page of list.txt")
    public_url = link.get_attribute("href")
    assert public_url and public_url.startswith("/public/")

    stranger = browsing().page()
    stranger.goto(public_url)
    expect(stranger.get_by_role("heading", name="list.txt")).to_be_visible()
    preview = stranger.locator("#text-preview")
    expect(preview).to_have_text(text)  # shown as text: the <b> stays literal
    assert stranger.locator(".preview b").count() == 0
    screenshot(stranger, "public")

    row.get_by_role("button", name="Make private: list.txt").click()
    expect(row.locator(".badge")).to_have_text("Private")
    response = stranger.goto(public_url)
    assert response is not None and response.status == 404


def test_pdf_preview(server: Airlock, browsing: Any) -> None:
    """A PDF's public page embeds it (served inline, same origin) for the browser's viewer."""
    user = server.new_user("pdfer")
    file = server.upload(user, "poster.pdf", samples.pdf(), visibility="public")
    page = browsing().page()
    with page.expect_response(re.compile(r"/f/.+/poster\.pdf$")) as answer:
        page.goto(f"/public/{file['id']}")
    response = answer.value
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("inline")
    expect(page.get_by_title("Preview of poster.pdf")).to_be_visible()
    expect(page.get_by_role("link", name="Download")).to_have_attribute(
        "href", re.compile(r"\?download=1$")
    )


def test_hostile_name_is_only_text(server: Airlock, browsing: Any, tmp_path: Path) -> None:
    user = server.new_user("hostile")
    path = tmp_path / HOSTILE
    path.write_bytes(samples.photo(64, 64, seed=4))
    b = browsing()
    b.sign_in(user)
    page = b.page()
    page.goto("/upload")
    page.set_input_files("#file-input", str(path))
    upload_row = page.locator("#upload-list > li").first
    expect(upload_row.locator(".upload-name")).to_have_text(HOSTILE)
    expect(upload_row.locator(".upload-status")).to_have_text("Uploaded.", timeout=30_000)
    [stored] = server.files(user)
    assert stored["name"] == HOSTILE

    page.goto("/files")
    expect(page.locator(".file-name")).to_have_text(HOSTILE)
    row = row_of(page, HOSTILE)
    row.get_by_role("button", name=f"Rename {HOSTILE}").click()
    expect(page.get_by_label("New name")).to_have_value(HOSTILE)
    page.get_by_role("button", name="Cancel").click()
    row.get_by_role("button", name=f"Share {HOSTILE}").click()
    expect(page.locator("#share-dialog .dialog-filename")).to_have_text(HOSTILE)
    page.locator("#share-dialog").get_by_role("button", name="Create link").click()
    share_url = page.locator("#share-dialog .link-fresh").get_by_label("Share page address")
    expect(share_url).to_have_value(re.compile(r"/share/"))
    url = share_url.input_value()

    share = browsing().page()
    share.goto(url)
    expect(share.get_by_role("heading", level=1)).to_have_text(HOSTILE)
    assert share.title() == f"{HOSTILE} · Airlock"
    for p in (page, share):
        assert p.locator("img[src='x']").count() == 0
        assert p.evaluate("() => document.querySelectorAll('[onerror]').length") == 0
    # The browsing fixture fails the test if any dialog (alert) opened on any page.


def test_rename_and_delete_with_confirmation(server: Airlock, browsing: Any) -> None:
    user = server.new_user("deleter")
    keep = server.upload(user, "keep.png", samples.photo(60, 60, seed=1))
    doomed = server.upload(user, "doomed.png", samples.photo(60, 60, seed=2))
    b = browsing()
    b.sign_in(user)
    page = b.page()
    page.goto("/files")

    row = page.locator(f"#file-rows > tr[data-id='{keep['id']}']")
    row.get_by_role("button", name="Rename keep.png").click()
    dialog = page.locator("#rename-dialog")
    dialog.get_by_label("New name").fill("kept.png")
    dialog.get_by_role("button", name="Rename").click()
    expect(dialog).to_be_hidden()
    expect(row.locator(".file-name")).to_have_text("kept.png")
    assert server.api(user, "GET", f"/api/v1/files/{keep['id']}").json()["name"] == "kept.png"

    row = row_of(page, "doomed.png")
    row.get_by_role("button", name="Delete doomed.png").click()
    dialog = page.locator("#delete-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("doomed.png")
    expect(dialog.get_by_role("button", name="Keep it")).to_be_focused()
    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_be_hidden()
    expect(row).to_be_visible()

    row.get_by_role("button", name="Delete doomed.png").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(dialog).to_be_hidden()
    expect(row_of(page, "doomed.png")).to_have_count(0)
    assert server.api(user, "GET", f"/api/v1/files/{doomed['id']}").status_code == 404
    assert server.api(user, "GET", f"/api/v1/files/{keep['id']}").status_code == 200


def test_pages_of_files_search_and_quota(server: Airlock, browsing: Any) -> None:
    user = server.new_user("hoarder", quota=10**6)
    for i in range(23):
        server.upload(user, f"memo-{i:02d}.txt", f"memo number {i}\n".encode())
    b = browsing()
    b.sign_in(user)
    page = b.page()
    page.goto("/files")
    expect(page.locator("#quota-text")).to_contain_text(re.compile(r"of 1\.0 MB used \(\d+%\)"))
    expect(page.locator("#quota-bar")).to_be_visible()
    rows = page.locator("#file-rows > tr")
    expect(rows).to_have_count(20)
    expect(rows.first.locator(".file-name")).to_have_text("memo-22.txt")  # newest first
    expect(page.get_by_role("button", name="Previous")).to_be_disabled()
    page.get_by_role("button", name="Next").click()
    expect(rows).to_have_count(3)
    expect(page.locator("#page-label")).to_have_text("Page 2")
    expect(rows.last.locator(".file-name")).to_have_text("memo-00.txt")
    expect(page.get_by_role("button", name="Next")).to_be_disabled()
    page.get_by_role("button", name="Previous").click()
    expect(rows).to_have_count(20)

    page.get_by_label("Search by name").fill("MEMO-1")
    expect(rows).to_have_count(10)
    page.get_by_label("Search by name").fill("no such memo")
    expect(page.locator("#empty")).to_contain_text("no such memo")
    expect(rows).to_have_count(0)


def test_keyboard_only(server: Airlock, browsing: Any) -> None:
    """The skip link leads to the content; dialogs open from the keyboard, close with Escape
    and give the focus back."""
    user = server.new_user("keys")
    server.upload(user, "typed.txt", b"typed\n")
    b = browsing()
    b.sign_in(user)
    page = b.page()
    page.goto("/files")
    expect(page.locator(".file-name")).to_have_text("typed.txt")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    share = page.get_by_role("button", name="Share typed.txt")
    share.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#share-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("The link works for")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(share).to_be_focused()

    delete = page.get_by_role("button", name="Delete typed.txt")
    delete.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Keep it")).to_be_focused()
    page.keyboard.press("Escape")
    expect(delete).to_be_focused()
    assert len(server.files(user)) == 1


def test_a_quarantined_file_says_why_and_links_nowhere(server: Airlock, browsing: Any) -> None:
    """What ``airlock rescan`` records (tests/e2e/test_scanning.py runs it against clamd), as
    its owner sees it: the reason, and no link to the bytes."""
    import sqlite3
    from contextlib import closing

    user = server.new_user("quentin")
    made = server.upload(user, "flagged.txt", b"later found to be bad\n")
    server.upload(user, "fine.txt", b"still fine\n")
    with closing(sqlite3.connect(server.data_dir / "airlock.db")) as db, db:
        db.execute("UPDATE files SET quarantined_at = ?, quarantine_reason = ? WHERE id = ?",
                   ("2026-12-01 10:00:00.000000", "Airlock.Test.Late", made["id"]))  # fmt: skip
    b = browsing()
    b.sign_in(user)
    page = b.page()
    page.goto("/files")
    flagged = row_of(page, "flagged.txt")
    expect(flagged.locator(".file-quarantined")).to_contain_text("Airlock.Test.Late")
    expect(flagged.locator(".file-name")).not_to_have_attribute("href", re.compile(".+"))
    expect(row_of(page, "fine.txt").locator(".file-name")).to_have_attribute(
        "href", re.compile(r"/content$")
    )


def test_bulk_share_and_delete(server: Airlock, browsing: Any) -> None:
    user = server.new_user("bulker")
    for name in ("one.txt", "two.txt", "three.txt"):
        server.upload(user, name, f"{name}\n".encode())
    b = browsing(permissions=["clipboard-read", "clipboard-write"])
    b.sign_in(user)
    page = b.page()
    page.goto("/files")
    expect(page.locator("#file-rows > tr")).to_have_count(3)
    for name in ("one.txt", "three.txt"):
        row_of(page, name).locator(".row-select").check()
    expect(page.locator("#bulk-count")).to_have_text("2 files selected")
    page.get_by_role("button", name="Share selected…").click()
    dialog = page.locator("#bulk-share-dialog")
    expect(dialog.get_by_role("heading")).to_have_text("One link for 2 files")
    dialog.get_by_role("button", name="Create link").click()
    address = dialog.get_by_label("Share page address")
    expect(address).to_have_value(re.compile(r"/share/[A-Za-z0-9_-]+$"))
    url = address.input_value()
    dialog.get_by_role("button", name="Close").click()
    stranger = browsing().page()
    stranger.goto(url)
    expect(stranger.get_by_role("heading", name="2 files")).to_be_visible()
    expect(stranger.get_by_role("link", name="Download one.txt")).to_be_visible()
    expect(stranger.get_by_role("link", name="Download three.txt")).to_be_visible()

    page.get_by_role("button", name="Delete selected…").click()
    page.locator("#bulk-delete-dialog").get_by_role("button", name="Delete").click()
    expect(page.locator("#file-rows > tr")).to_have_count(1)
    expect(page.locator(".file-name")).to_have_text("two.txt")
    expect(page.locator("#bulk-bar")).to_be_hidden()
    assert [f["name"] for f in server.files(user)] == ["two.txt"]
