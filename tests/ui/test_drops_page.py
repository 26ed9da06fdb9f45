"""Drop links in a real browser: the owner makes one; a stranger's browser uploads two files
through it (one refused), which then appear in the owner's list; once full it takes no more,
and an expired one none at all."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.ui import samples
from tests.ui.conftest import Airlock, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_a_stranger_drops_files_for_the_owner(
    server: Airlock, browsing: Any, tmp_path: Path
) -> None:
    owner = server.new_user("dropper")
    b = browsing(permissions=["clipboard-read", "clipboard-write"])
    b.sign_in(owner)
    page = b.page()
    page.goto("/drops")
    page.get_by_label("What is it for?").fill("Holiday pictures")
    page.get_by_label("At most this many files").fill("2")
    page.get_by_role("button", name="Make drop link").click()
    fresh = page.locator(".link-fresh")
    address = fresh.get_by_label("Address of the drop link “Holiday pictures”")
    expect(address).to_have_value(f"{server.url}/d/" + address.input_value().rsplit("/", 1)[1])
    url = address.input_value()
    fresh.get_by_role("button", name="Copy the address of “Holiday pictures”").click()
    assert page.evaluate("navigator.clipboard.readText()") == url
    expect(fresh.locator(".drop-facts")).to_contain_text("0 of 2 files arrived")
    screenshot(page, "drops")

    good = tmp_path / "beach.png"
    good.write_bytes(samples.photo(160, 120, seed=9))
    bad = tmp_path / "invoice.pdf"
    bad.write_bytes(b"MZ\x90\x00" + bytes(500))  # a Windows program calling itself a PDF
    stranger = browsing().page()
    stranger.goto(url)
    expect(stranger.get_by_role("heading", name="Holiday pictures")).to_be_visible()
    expect(stranger.get_by_role("navigation", name="Main")).to_have_count(0)
    stranger.get_by_label("Choose files…").set_input_files([str(good), str(bad)])
    items = stranger.get_by_role("list", name="Your uploads").get_by_role("listitem")
    expect(items).to_have_count(2)
    expect(items.filter(has_text="beach.png").get_by_role("status")).to_have_text(
        "Stored", timeout=30_000)  # fmt: skip
    expect(items.filter(has_text="invoice.pdf").get_by_role("status")).not_to_have_text(
        "Stored", timeout=30_000)  # fmt: skip
    expect(items.filter(has_text="invoice.pdf").locator(".airlock-upload-status")).to_contain_text(
        "not allowed here")  # fmt: skip
    screenshot(stranger, "drop-page")

    page.goto("/drops")
    expect(page.locator(".drop-facts").first).to_contain_text("1 of 2 files arrived")
    page.get_by_role("link", name="Files that arrived through “Holiday pictures”").click()
    expect(page.locator("#file-rows > tr")).to_have_count(1)
    expect(page.locator(".file-name")).to_have_text("beach.png")
    expect(page.locator(".file-expiry")).to_contain_text("Arrived through a drop link")

    # The second file fills it: the page then says it takes no more.
    second = tmp_path / "sunset.png"
    second.write_bytes(samples.photo(100, 80, seed=3))
    stranger.goto(url)
    stranger.get_by_label("Choose files…").set_input_files([str(second)])
    expect(stranger.locator(".airlock-upload-status")).to_have_text("Stored", timeout=30_000)
    response = stranger.goto(url)
    assert response is not None and response.status == 410
    expect(stranger.get_by_role("heading", name="No longer available")).to_be_visible()
    expect(stranger.locator("main")).to_contain_text("This drop link is full.")
    assert sorted(f["name"] for f in server.files(owner)) == ["beach.png", "sunset.png"]


def test_a_closed_drop_link_takes_nothing(server: Airlock, browsing: Any) -> None:
    owner = server.new_user("closer")
    drop = server.api(owner, "POST", "/api/v1/drops",
                      json={"name": "Old drop", "expires_in": 3600}).json()  # fmt: skip
    b = browsing(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    b.sign_in(owner)
    page = b.page()
    page.goto("/drops")
    close = page.get_by_role("button", name="Close the drop link “Old drop”")
    close.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".drop-facts").first).to_contain_text("closed")
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"/drops scrolls sideways by {overflow}px at 375px"
    stranger = browsing().page()
    response = stranger.goto(drop["url"])
    assert response is not None and response.status == 410
    expect(stranger.locator("main")).to_contain_text("closed by its owner")


def test_the_new_pages_at_phone_width_and_by_keyboard(server: Airlock, browsing: Any) -> None:
    """At 375 px nothing of the account, drop, password and several-files pages scrolls
    sideways; the password form works from the keyboard alone."""
    owner = server.new_user("phoner")
    ids = [server.upload(owner, f"a-long-file-name-for-a-phone-{i}.txt", b"x\n")["id"]
           for i in range(2)]  # fmt: skip
    many = server.api(owner, "POST", "/api/v1/links",
                      json={"files": ids, "expires_in": 3600}).json()  # fmt: skip
    locked = server.api(owner, "POST", f"/api/v1/files/{ids[0]}/links",
                        json={"expires_in": 3600, "password": "typed only"}).json()  # fmt: skip
    drop = server.api(owner, "POST", "/api/v1/drops",
                      json={"name": "A drop link with a rather long name", "expires_in": 3600,
                            "max_files": 3, "max_bytes": 10**6}).json()  # fmt: skip
    b = browsing(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    b.sign_in(owner)
    page = b.page()
    for path in ("/account", "/drops", drop["url"], "/share/" + many["url"][3:],
                 "/share/" + locked["url"][3:]):  # fmt: skip
        page.goto(path)
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 375px"
    # Still on the password page: type and press Enter, nothing else.
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type("typed only")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("a-long-file-name-for-a-phone-0"))).to_be_visible()
