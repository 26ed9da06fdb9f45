"""The upload page in a real browser: drop, progress, rejections, resuming after a cut
connection and after a reload, and a phone-width screen."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.cutproxy import CutProxy
from tests.ui import samples
from tests.ui.conftest import Airlock, screenshot, sha256

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

MiB = 2**20


@pytest.fixture(scope="module")
def proxy(server: Airlock) -> Iterator[CutProxy]:
    """A proxy in front of the server that can cut or slow the browser's connections; pages
    are loaded through it, so every request of the page passes it."""
    with CutProxy("127.0.0.1", server.port) as p:
        yield p


@pytest.fixture
def via_proxy(proxy: CutProxy) -> Iterator[CutProxy]:
    proxy.throttle(None)
    yield proxy
    proxy.throttle(None)


def wait_until(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def record_statuses(page: Any) -> None:
    """Keep every status line the upload rows show, in ``window.statusHistory``."""
    page.evaluate("""() => {
        window.statusHistory = [];
        new MutationObserver(() => {
            for (const s of document.querySelectorAll('#upload-list .upload-status')) {
                if (window.statusHistory.at(-1) !== s.textContent) window.statusHistory.push(s.textContent);
            }
        }).observe(document.getElementById('upload-list'), { subtree: true, childList: true, characterData: true });
    }""")


def upload_rows(page: Any) -> Any:
    return page.locator("#upload-list > li")


def test_drop_three_files_one_rejected(server: Airlock, browsing: Any, via_proxy: CutProxy) -> None:
    user = server.new_user("maria", exact=True)
    b = browsing(base_url=via_proxy.url)
    b.sign_in(user)
    # Slow enough to watch the progress: a few seconds for the text file. (Throttled before
    # the page connects, so the proxy's small buffers keep the browser's progress honest;
    # the browser's own send buffer still takes the first few MB at once.)
    via_proxy.throttle(4e6)
    page = b.page()
    page.goto("/upload")
    expect(page.get_by_role("heading", name="Upload files")).to_be_visible()

    picture, notes = samples.photo(seed=3), samples.text(12 * 10**6, seed=5)
    dt = samples.data_transfer(page, [
        ("holiday.png", picture, "image/png"),
        ("notes.txt", notes, "text/plain"),
        ("evil.html", samples.HTML, "text/html"),
    ])  # fmt: skip
    page.dispatch_event("body", "dragenter", {"dataTransfer": dt})
    expect(page.locator("#drop-overlay")).to_be_visible()
    page.dispatch_event("body", "drop", {"dataTransfer": dt})
    expect(page.locator("#drop-overlay")).to_be_hidden()

    rows = upload_rows(page)
    expect(rows).to_have_count(3, timeout=15_000)
    evil = rows.filter(has_text="evil.html")
    expect(evil.locator(".upload-status")).to_have_text("Rejected.")
    expect(evil.locator(".upload-reason")).to_contain_text("Files of this type are not allowed")
    expect(evil.locator(".upload-reason")).to_contain_text(".html")  # the server's specifics
    empty = samples.data_transfer(page, [("empty.txt", b"", "text/plain")])
    page.dispatch_event("body", "drop", {"dataTransfer": empty})
    empty_row = upload_rows(page).filter(has_text="empty.txt")
    expect(empty_row.locator(".upload-status")).to_have_text("Rejected.")
    # The plain reason only, not the server's message saying the same again.
    expect(empty_row.locator(".upload-reason")).to_have_text("This file is empty.")
    expect(evil.get_by_role("button", name=re.compile("Cancel"))).to_be_hidden()

    text_row = rows.filter(has_text="notes.txt")
    expect(text_row.locator(".upload-rate")).to_contain_text("/s")
    expect(text_row.locator(".upload-eta")).to_contain_text("left")
    expect(text_row.locator(".upload-percent")).to_have_text(re.compile(r"^\d+%$"))
    screenshot(page, "upload-progress")
    via_proxy.throttle(None)

    for name in ("holiday.png", "notes.txt"):
        row = rows.filter(has_text=name)
        expect(row.locator(".upload-status")).to_have_text("Uploaded.", timeout=30_000)
        expect(row.locator(".upload-percent")).to_have_text("100%")
        expect(row.locator("progress")).to_have_attribute("aria-label", f"Upload of {name}")
    batch = page.locator("#batch-text")
    expect(batch).to_contain_text("2 of 4 uploaded")  # four files: one refused, one empty
    expect(batch).to_contain_text("2 rejected")
    expect(page.locator("#batch-bar")).to_have_js_property("value", 100)
    screenshot(page, "upload")

    stored = {f["name"]: f for f in server.files(user)}
    assert set(stored) == {"holiday.png", "notes.txt"}
    assert stored["notes.txt"]["sha256"] == sha256(notes)
    assert stored["holiday.png"]["sha256"] == sha256(picture)


def test_file_picker_and_options(server: Airlock, browsing: Any, tmp_path: Path) -> None:
    """The labelled file input takes several files; visibility and expiry chosen before the
    upload reach the server."""
    user = server.new_user("picker")
    b = browsing()
    b.sign_in(user)
    page = b.page()
    page.goto("/upload")
    paths = []
    for i in range(2):
        path = tmp_path / f"picture-{i}.png"
        path.write_bytes(samples.photo(120, 80, seed=i))
        paths.append(str(path))
    page.get_by_label("Public").check()
    page.get_by_label("Delete them after").select_option(label="1 day")
    page.get_by_label("Choose files…").set_input_files(paths)
    rows = upload_rows(page)
    expect(rows).to_have_count(2)
    for i in range(2):
        expect(rows.nth(i).locator(".upload-status")).to_have_text("Uploaded.", timeout=30_000)
    stored = server.files(user)
    assert sorted(f["name"] for f in stored) == ["picture-0.png", "picture-1.png"]
    assert all(f["visibility"] == "public" and f["expires_at"] for f in stored)


def test_paste_from_clipboard(server: Airlock, browsing: Any) -> None:
    """Files pasted anywhere on the page (a screenshot in the clipboard, say) are uploaded."""
    user = server.new_user("paster")
    b = browsing()
    b.sign_in(user)
    page = b.page()
    page.goto("/upload")
    shot = samples.photo(300, 200, seed=6)
    dt = samples.data_transfer(page, [("image.png", shot, "image/png")])
    page.evaluate(
        "dt => document.body.dispatchEvent(new ClipboardEvent('paste', "
        "{ clipboardData: dt, bubbles: true, cancelable: true }))",
        dt,
    )
    row = upload_rows(page).first
    expect(row.locator(".upload-name")).to_have_text("image.png")
    expect(row.locator(".upload-status")).to_have_text("Uploaded.", timeout=30_000)
    [stored] = server.files(user)
    assert stored["sha256"] == sha256(shot)


def test_cut_connection_resumes_by_itself(
    server: Airlock, browsing: Any, via_proxy: CutProxy, tmp_path: Path
) -> None:
    user = server.new_user("cutter")
    b = browsing(base_url=via_proxy.url)
    b.sign_in(user)
    via_proxy.throttle(8e6)  # not slow, but slow enough to aim the cuts
    page = b.page()
    page.goto("/upload")
    data = samples.text(6 * MiB, seed=11)
    path = tmp_path / "long-notes.txt"
    path.write_bytes(data)

    record_statuses(page)
    offsets: list[int] = []
    page.on("request", lambda r: offsets.append(int(r.headers["upload-offset"]))
            if r.method == "PATCH" else None)  # fmt: skip
    via_proxy.arm(2 * MiB)  # somewhere in the first PATCH
    page.set_input_files("#file-input", str(path))
    wait_until(via_proxy.cut.is_set)
    # Chromium itself sends a request again once when a reused connection fails before any
    # answer; a second cut makes sure the page's own resuming is what finishes the upload.
    via_proxy.arm(MiB)
    row = upload_rows(page).first
    expect(row.locator(".upload-status")).to_have_text("Uploaded.", timeout=60_000)
    assert via_proxy.cut.is_set()
    seen = page.evaluate("window.statusHistory")
    assert any(re.search(r"; retrying in \d+ s…$", s) for s in seen), seen
    assert offsets[0] == 0 and max(offsets) >= 2 * MiB, offsets  # it went on from the middle

    stored = server.files(user)
    assert [f["name"] for f in stored] == ["long-notes.txt"]
    assert stored[0]["sha256"] == sha256(data) and stored[0]["size"] == len(data)


def test_reload_mid_upload_offers_to_resume(
    server: Airlock, browsing: Any, via_proxy: CutProxy, tmp_path: Path
) -> None:
    user = server.new_user("reloader")
    b = browsing(base_url=via_proxy.url)
    b.sign_in(user)
    via_proxy.throttle(3e6)
    page = b.page()
    page.goto("/upload")
    # Bigger than one PATCH (8 MiB) plus what the operating system buffers for a socket, so
    # the reload surely interrupts it.
    data = samples.text(14 * MiB, seed=12)
    path = tmp_path / "slow-notes.txt"
    path.write_bytes(data)

    sent_before = via_proxy.forwarded_up
    page.set_input_files("#file-input", str(path))
    wait_until(lambda: via_proxy.forwarded_up - sent_before > MiB)
    page.reload()
    via_proxy.throttle(None)

    unfinished = page.locator("#unfinished")
    expect(unfinished).to_be_visible()
    entry = unfinished.locator("li").filter(has_text="slow-notes.txt")
    expect(entry).to_contain_text(re.compile(r"received \(\d+%\)"))
    expect(unfinished).to_contain_text("the same file")
    screenshot(page, "upload-unfinished")

    page.set_input_files("#file-input", str(path))
    expect(unfinished).to_be_hidden()
    status = upload_rows(page).first.locator(".upload-status")
    expect(status).to_have_text(re.compile(r"^Uploaded \(resumed at \d+%\)\.$"), timeout=60_000)
    resumed_at = int(re.search(r"resumed at (\d+)%", status.inner_text()).group(1))  # type: ignore[union-attr]
    assert resumed_at > 0
    # Everything the browser sent, page loads included: well under the file twice over.
    assert via_proxy.forwarded_up - sent_before < 2 * len(data)

    stored = server.files(user)
    assert [f["name"] for f in stored] == ["slow-notes.txt"]
    assert stored[0]["sha256"] == sha256(data)
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('airlock.uploads'))") == []


def test_cancel_and_discard(
    server: Airlock, browsing: Any, via_proxy: CutProxy, tmp_path: Path
) -> None:
    """Cancel stops an upload and deletes it on the server; a remembered unfinished upload can
    be discarded."""
    user = server.new_user("canceller")
    b = browsing(base_url=via_proxy.url)
    b.sign_in(user)
    via_proxy.throttle(1e6)
    page = b.page()
    page.goto("/upload")
    path = tmp_path / "cancel-me.txt"
    path.write_bytes(samples.text(10 * MiB, seed=13))
    sent_before = via_proxy.forwarded_up
    page.set_input_files("#file-input", str(path))
    wait_until(lambda: via_proxy.forwarded_up - sent_before > 256 * 1024)
    row = upload_rows(page).first
    row.get_by_role("button", name="Cancel the upload of cancel-me.txt").click()
    expect(row.locator(".upload-status")).to_have_text("Cancelled.")
    expect(row.get_by_role("button", name=re.compile("Cancel"))).to_be_hidden()
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('airlock.uploads'))") == []

    # An interrupted one, remembered, then discarded.
    other = tmp_path / "discard-me.txt"
    other.write_bytes(samples.text(10 * MiB, seed=14))
    sent_before = via_proxy.forwarded_up
    page.set_input_files("#file-input", str(other))
    wait_until(lambda: via_proxy.forwarded_up - sent_before > 256 * 1024)
    page.reload()
    unfinished = page.locator("#unfinished")
    expect(unfinished).to_contain_text("discard-me.txt")
    unfinished.get_by_role("button", name="Discard the unfinished upload of discard-me.txt").click()
    expect(unfinished).to_be_hidden()
    via_proxy.throttle(None)
    page.reload()
    expect(page.locator("#upload-options")).to_be_visible()
    expect(page.locator("#unfinished")).to_be_hidden()
    time.sleep(0.5)  # what the operating system still held of the aborted PATCHes arrives
    assert server.files(user) == []


def test_phone_width(server: Airlock, browsing: Any) -> None:
    """At 375 px wide nothing scrolls sideways: upload page, file list, admin page."""
    user = server.new_user("phone", admin=True)
    server.upload(user, "a-rather-long-file-name-for-a-small-screen-2024.png", samples.photo(200, 150))
    b = browsing(viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True,
                 has_touch=True)  # fmt: skip
    b.sign_in(user)
    page = b.page()
    for path, name in (("/upload", "upload-phone"), ("/files", "files-phone"),
                       ("/admin", "admin-phone")):  # fmt: skip
        page.goto(path)
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        wide = [] if overflow <= 0 else page.evaluate(
            "() => [...document.querySelectorAll('body *')].filter(e => e.offsetParent !== null"
            " && e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)"
            ".slice(-5).map(e => `${e.tagName}#${e.id}.${e.className}: ${e.textContent.trim()"
            ".slice(0, 60)}`)"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 375px: {wide}"
        screenshot(page, name)
