"""The upload page in direct mode: with S3 storage and AIRLOCK_DIRECT_UPLOADS, Chromium sends the
file straight to the store (SeaweedFS, with a CORS rule for Airlock's origin) and the server then
inspects it there; rejections show their reason as with tus."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.ui import samples
from tests.ui.conftest import Airlock, sha256

pytestmark = [pytest.mark.browser, pytest.mark.s3]


@pytest.fixture(scope="module")
def direct_server(tmp_path_factory: pytest.TempPathFactory, s3_server: Any) -> Iterator[Airlock]:
    bucket = s3_server.create_bucket("ui-direct")
    env = {**s3_server.env(bucket), "AIRLOCK_DIRECT_UPLOADS": "true"}
    live = Airlock(tmp_path_factory.mktemp("ui-direct") / "data", env=env)
    live.start()
    try:
        s3_server.client().put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{
            "AllowedOrigins": [live.url], "AllowedMethods": ["POST"], "AllowedHeaders": ["*"],
        }]})  # fmt: skip
        live.add_user("admin", admin=True)
        yield live
    finally:
        live.stop()


def test_files_go_straight_to_the_store(
    direct_server: Airlock, browsing: Any, tmp_path: Path
) -> None:
    user = direct_server.new_user("direct")
    b = browsing(base_url=direct_server.url)
    b.sign_in(user)
    page = b.page()
    sent_to: list[str] = []
    page.on("request", lambda req: sent_to.append(req.url) if req.method == "POST" else None)
    page.goto("/upload")
    assert page.locator("#uploader").get_attribute("data-direct") == "1"
    picture = samples.photo(200, 120, seed=7)
    good, bad = tmp_path / "holiday.png", tmp_path / "script.txt"
    good.write_bytes(picture)
    bad.write_bytes(b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>\n")
    page.set_input_files("#file-input", [str(good), str(bad)])
    rows = page.locator("#upload-list > li")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator(".upload-status")).to_have_text("Uploaded.", timeout=30_000)
    expect(rows.nth(1).locator(".upload-status")).to_have_text("Rejected.", timeout=30_000)
    expect(rows.nth(1)).to_contain_text("Files of this type are not allowed here.")
    assert any(u.startswith(direct_server.env["AIRLOCK_S3_ENDPOINT"]) for u in sent_to), sent_to
    assert not any("/api/v1/tus" in u for u in sent_to)
    (stored,) = direct_server.files(user)
    assert stored["name"] == "holiday.png" and stored["sha256"] == sha256(picture)
