"""S3 storage when things go wrong and when downloads redirect: the store stopped mid-upload
(503 with Retry-After, nothing half-stored, uploads work again once it is back), and the opt-in
redirect mode to a separate content origin, whose answers keep the safe headers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.s3server import SeaweedS3
from tests.support.server import LiveServer, cli

pytestmark = pytest.mark.s3
MiB = 1024 * 1024


@pytest.fixture
def own_s3(tmp_path: Path) -> Iterator[SeaweedS3]:
    """A SeaweedFS of this test's own, so stopping it disturbs no other test."""
    s3 = SeaweedS3(tmp_path / "s3").start()
    try:
        s3.create_bucket("outage")
        yield s3
    finally:
        s3.stop()


def bucket_state(s3: SeaweedS3) -> tuple[list[str], list[str]]:
    client = s3.client()
    objects = client.list_objects_v2(Bucket="outage").get("Contents", [])
    uploads = client.list_multipart_uploads(Bucket="outage").get("Uploads", [])
    return [o["Key"] for o in objects], [u["Key"] for u in uploads]


def test_store_stopped_mid_upload_answers_503_and_keeps_nothing(
    own_s3: SeaweedS3, tmp_path: Path
) -> None:
    env = {**own_s3.env("outage"), "AIRLOCK_STAGING_MAX_AGE": "1"}
    live = LiveServer(tmp_path / "data", env=env, workers=1).start()
    try:
        live.add_user("alice")
        halfway = threading.Event()

        def body() -> Iterator[bytes]:
            block = b"a line of plain text for the store\n" * (MiB // 36)
            for i in range(60):
                if i == 20:
                    halfway.set()
                    time.sleep(1.5)  # the store goes down meanwhile
                yield block

        def stop_store() -> None:
            halfway.wait(60)
            own_s3.stop()

        stopper = threading.Thread(target=stop_store)
        stopper.start()
        r = requests.put(live.url + "/api/v1/files/big.txt", data=body(),
                         headers=live.auth("alice"), timeout=120)  # fmt: skip
        stopper.join()
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "internal_error"
        assert int(r.headers["Retry-After"]) > 0
        ready = requests.get(live.url + "/readyz", timeout=30)
        assert ready.status_code == 503 and ready.json()["checks"]["storage"] == "unavailable"

        own_s3.start()
        files = requests.get(live.url + "/api/v1/files", headers=live.auth("alice"), timeout=10)
        assert files.json()["files"] == []
        objects, _unfinished = bucket_state(own_s3)
        assert objects == []  # the object never came to be
        assert not (tmp_path / "data" / "files").exists()  # nothing on the instance's disk
        assert not (tmp_path / "data" / "staging").exists()  # S3 storage stages in the bucket
        time.sleep(1.1)
        cli(live.data_dir, "gc", env=env)  # sweeps the multipart upload the outage left
        assert bucket_state(own_s3) == ([], [])

        again = requests.put(live.url + "/api/v1/files/after.txt", data=b"back again\n",
                             headers=live.auth("alice"), timeout=30)  # fmt: skip
        assert again.status_code == 201, again.text
        assert requests.get(live.url + "/readyz", timeout=30).status_code == 200
    finally:
        live.stop()


def test_downloads_redirect_to_the_content_origin_with_pinned_headers(
    s3_server: SeaweedS3, tmp_path: Path
) -> None:
    bucket = s3_server.create_bucket("redirects")
    env = {**s3_server.env(bucket), "AIRLOCK_S3_CONTENT_ORIGIN": s3_server.endpoint}
    live = LiveServer(tmp_path / "data", env=env).start()
    try:
        live.add_user("alice")
        up = requests.put(live.url + "/api/v1/files/notes.txt", data=b"0123456789" * 10,
                          headers=live.auth("alice"), timeout=10)  # fmt: skip
        assert up.status_code == 201, up.text
        file = up.json()
        r = requests.get(live.url + file["links"]["content"], headers=live.auth("alice"),
                         allow_redirects=False, timeout=10)  # fmt: skip
        assert r.status_code == 302 and r.headers["Location"].startswith(s3_server.endpoint)
        assert r.headers["Cache-Control"] == "no-store"
        got = requests.get(r.headers["Location"], headers={"Range": "bytes=10-19"}, timeout=10)
        assert got.status_code == 206 and got.content == b"0123456789"
        assert got.headers["Content-Type"].startswith("text/plain")
        assert got.headers["Content-Disposition"].startswith("inline")
        dl = requests.get(live.url + file["links"]["content"] + "?download=1",
                          headers=live.auth("alice"), timeout=10)  # fmt: skip
        assert dl.status_code == 200 and dl.content == b"0123456789" * 10
        assert dl.headers["Content-Disposition"].startswith("attachment")
        etag = requests.get(live.url + file["links"]["content"], allow_redirects=False,
                            headers={**live.auth("alice"), "If-None-Match": f'"{file["sha256"]}"'},
                            timeout=10)  # fmt: skip
        assert etag.status_code == 304
    finally:
        live.stop()
