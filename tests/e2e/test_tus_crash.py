"""A worker killed (SIGKILL) in the middle of a long tus PATCH: the bytes that PATCH had brought
are kept up to the last durable point (every 8 MiB), the dead worker's lease lapses within
seconds, and the upload finishes through a new request with the right SHA-256."""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.server import LiveServer

MiB = 1024 * 1024
TOTAL = 48 * MiB
SENT_BEFORE_KILL = 32 * MiB
V = {"Tus-Resumable": "1.0.0"}
# Bounds on waiting, not timings under test: the old lease lasted 60 s, the new one 10 s.
TAKEOVER_DEADLINE = 30.0


@pytest.fixture
def one_worker(tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path / "data", workers=1).start()
    try:
        live.add_user("alice")
        yield live
    finally:
        live.stop()


def content() -> bytes:
    line = b"a line of text that a tus client sends in a long PATCH\n"
    return (line * (TOTAL // len(line) + 1))[:TOTAL]


def test_kill_mid_patch_keeps_durable_progress_and_frees_the_lease(one_worker: LiveServer) -> None:
    data = content()
    auth = {**V, **one_worker.auth("alice")}
    r = requests.post(one_worker.url + "/api/v1/tus/", timeout=10, headers={
        **auth, "Upload-Length": str(TOTAL),
        "Upload-Metadata": "filename " + base64.b64encode(b"long.txt").decode()})  # fmt: skip
    assert r.status_code == 201, r.text
    url = one_worker.url + r.headers["Location"]
    (worker,) = one_worker.worker_pids()
    sent = threading.Event()

    def body() -> Iterator[bytes]:
        for start in range(0, SENT_BEFORE_KILL, MiB):
            yield data[start : start + MiB]
        sent.set()
        time.sleep(30)  # the worker is killed meanwhile; this body never ends on its own
        yield b""

    def patch() -> None:
        try:
            requests.patch(url, data=body(), timeout=40, headers={
                **auth, "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream"})  # fmt: skip
        except requests.RequestException:
            pass  # the connection dies with the worker

    t = threading.Thread(target=patch, daemon=True)
    t.start()
    assert sent.wait(60)
    time.sleep(1.0)  # let the worker take in what the socket holds
    os.kill(worker, signal.SIGKILL)

    head = None
    deadline = time.monotonic() + TAKEOVER_DEADLINE
    while time.monotonic() < deadline:
        try:
            head = requests.head(url, headers=auth, timeout=15)
            break
        except requests.RequestException:  # the master is starting a new worker
            time.sleep(0.2)
    assert head is not None and head.status_code == 200, head
    offset = int(head.headers["Upload-Offset"])
    assert SENT_BEFORE_KILL - 8 * MiB - 4 * MiB <= offset <= SENT_BEFORE_KILL, offset

    done = None
    while time.monotonic() < deadline:
        done = requests.patch(url, data=data[offset:], timeout=60, headers={
            **auth, "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream"})  # fmt: skip
        if done.status_code != 409:
            break
        time.sleep(0.5)  # the dead worker's lease has not lapsed yet
    assert done is not None and done.status_code == 204, (done.status_code, done.text)
    file_id = done.headers["Upload-File-Id"]
    got = requests.get(f"{one_worker.url}/api/v1/files/{file_id}",
                       headers=one_worker.auth("alice"), timeout=10).json()  # fmt: skip
    assert got["size"] == TOTAL and got["sha256"] == hashlib.sha256(data).hexdigest()
