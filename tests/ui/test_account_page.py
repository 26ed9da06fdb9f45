"""Accounts in a real browser: changing your own password, and an admin resetting another
user's password and deleting them after typing their name."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.ui.conftest import PASSWORD, Airlock, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def can_sign_in(server: Airlock, name: str, password: str) -> bool:
    r = requests.post(server.url + "/api/v1/session", timeout=30,
                      json={"username": name, "password": password})  # fmt: skip
    return r.status_code == 200


def test_change_your_own_password(server: Airlock, browsing: Any) -> None:
    user = server.new_user("changer")
    b = browsing()
    b.sign_in(user)
    page = b.page()
    page.goto("/account")
    page.get_by_label("Current password").fill("not my password")
    page.get_by_label("New password", exact=True).fill("a brand new password")
    page.get_by_label("New password, again").fill("a brand new password")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#password-form .form-error")).to_have_text(
        "That is not your current password.")  # fmt: skip
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#password-done")).to_contain_text("Your password is changed")
    screenshot(page, "account")
    assert not can_sign_in(server, user, PASSWORD)
    assert can_sign_in(server, user, "a brand new password")
    page.goto("/files")  # this session stays
    expect(page.get_by_role("heading", name="My files")).to_be_visible()


def test_an_admin_resets_and_deletes(server: Airlock, browsing: Any) -> None:
    admin = server.new_user("chief", admin=True)
    victim = server.new_user("leaver")
    server.upload(victim, "left.txt", b"left behind\n")
    b = browsing()
    b.sign_in(admin)
    page = b.page()
    page.goto("/admin")
    page.get_by_role("button", name=f"Reset the password of {victim}").click()
    page.get_by_label("New password", exact=True).fill("reset by the chief")
    page.get_by_role("button", name="Set password").click()
    expect(page.locator("#reset-dialog")).to_be_hidden()
    assert can_sign_in(server, victim, "reset by the chief")

    page.get_by_role("button", name=f"Delete {victim}").click()
    dialog = page.locator("#delete-user-dialog")
    expect(dialog).to_contain_text("1 file")
    dialog.get_by_label("Type the user name to confirm").fill("someone else")
    dialog.get_by_role("button", name="Delete").click()
    expect(dialog.locator(".form-error")).to_have_text(f"Type {victim} to confirm.")
    dialog.get_by_label("Type the user name to confirm").fill(victim)
    dialog.get_by_role("button", name="Delete").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(f'tr[data-username="{victim}"]')).to_have_count(0)
    assert not can_sign_in(server, victim, "reset by the chief")
