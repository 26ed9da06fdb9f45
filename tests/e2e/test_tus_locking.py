"""Two PATCHes on one upload never interleave, across worker processes: the second gets 409."""

from __future__ import annotations

import base64
import sqlite3
import threading
import time
from collections.abc import Iterator

import requests

from tests.support.server import LiveServer

# On local storage and on S3 storage (tests/e2e/conftest.py).
BACKENDS = ("local", "s3")

V = {"Tus-Resumable": "1.0.0"}


def test_concurrent_patches_never_interleave(server: LiveServer) -> None:
    auth = {**V, **server.auth("alice")}
    r = requests.post(server.url + "/api/v1/tus/", timeout=10, headers={
        **auth, "Upload-Length": "2000000",
        "Upload-Metadata": "filename " + base64.b64encode(b"slow.txt").decode()})  # fmt: skip
    url = server.url + r.headers["Location"]
    started, release = threading.Event(), threading.Event()

    def slow_body() -> Iterator[bytes]:
        yield b"a" * 100_000
        started.set()
        release.wait(20)
        yield b"b" * 100_000

    results: list[int] = []

    def first() -> None:
        r = requests.patch(url, data=slow_body(), timeout=30, headers={
            **auth, "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream"})  # fmt: skip
        results.append(r.status_code)

    t = threading.Thread(target=first)
    t.start()
    assert started.wait(10)
    # The client has sent its first bytes; wait until the server has taken the upload's lock.
    upload_id = url.rsplit("/", 1)[1]
    db = sqlite3.connect(server.data_dir / "airlock.db")
    try:
        for _ in range(200):
            row = db.execute("SELECT lock_token FROM uploads WHERE id = ?", (upload_id,)).fetchone()
            if row and row[0]:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the first PATCH never took the lock")
    finally:
        db.close()
    seconds = []
    for _ in range(4):  # new connections: whichever worker takes them, the lease holds
        with requests.Session() as s:
            seconds.append(s.patch(url, data=b"c" * 1000, timeout=10, headers={
                **auth, "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream"}))  # fmt: skip
    release.set()
    t.join(30)
    assert [r.status_code for r in seconds] == [409] * 4
    assert all(r.json()["error"]["code"] == "conflict" for r in seconds)
    assert results == [204]
    head = requests.head(url, headers=auth, timeout=10)
    assert head.headers["Upload-Offset"] == "200000"
