"""``airlock serve`` on a data disk that fills up: a 48 MiB tmpfs mounted by the test (root
only; unmounted afterwards) holds the whole data dir (database, staging, files); the server's
log is elsewhere.

Once the disk is full, uploads are refused with ``507 storage_full`` and leave nothing behind,
while what needs no new space keeps working: ``/healthz``, ``/metrics``, listing and reading the
Files already there. A worker started while the disk is full (one is killed to make gunicorn
start another) serves too: metrics live off the data disk, allocated in full, so no worker can
die of ``SIGBUS`` writing them. Once space is freed, uploads work again with no restart.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from tests.support.bodies import expect_error, text
from tests.support.server import LiveServer

FS_SIZE = "48m"


@pytest.fixture(scope="module")
def disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    mount = tmp_path_factory.mktemp("fulldisk") / "data"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={FS_SIZE}", "tmpfs", str(mount)],
                   check=True)  # fmt: skip
    print(f"data dir on a {FS_SIZE} tmpfs at {mount}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


@pytest.fixture(scope="module")
def server(disk: Path) -> Iterator[LiveServer]:
    live = LiveServer(disk).start()
    try:
        live.add_user("alice")
        yield live
    finally:
        live.stop()


def fill(disk: Path) -> Path:
    """Write a filler file until the filesystem has no block left."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 1):  # big pieces, then the last bytes
            piece = b"x" * size
            try:
                while True:
                    os.write(fd, piece)
            except OSError:
                pass
    finally:
        os.close(fd)
    assert os.statvfs(disk).f_bavail == 0
    return filler


def workers(server: LiveServer) -> set[int]:
    assert server.proc is not None
    return {c.pid for c in psutil.Process(server.proc.pid).children()}


def test_a_full_disk_refuses_uploads_and_keeps_serving(server: LiveServer, disk: Path) -> None:
    auth = server.auth("alice")
    kept = text(200_000)
    r = requests.put(f"{server.url}/api/v1/files/kept.txt", data=kept, headers=auth, timeout=30)
    assert r.status_code == 201, r.text
    kept_id = r.json()["id"]
    filler = fill(disk)
    try:
        # A worker started on the full disk: gunicorn replaces the one killed.
        before = workers(server)
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (len(workers(server)) < len(before)
                                               or victim in workers(server)):  # fmt: skip
            time.sleep(0.1)
        alive = workers(server)
        assert victim not in alive and len(alive) == len(before)

        for _ in range(8):  # enough requests to reach both workers
            body = text(1 << 20)
            r = requests.post(f"{server.url}/api/v1/files", headers=auth, timeout=30,
                              files={"file": ("big.txt", body, "text/plain")})  # fmt: skip
            expect_error(r, 507, "storage_full")
            r = requests.put(f"{server.url}/api/v1/files/raw.txt", data=body, headers=auth,
                             timeout=30)  # fmt: skip
            expect_error(r, 507, "storage_full")
            assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200
            metrics = requests.get(f"{server.url}/metrics", timeout=10)
            assert metrics.status_code == 200 and "airlock_uploads_total" in metrics.text
            listed = requests.get(f"{server.url}/api/v1/files", headers=auth, timeout=10)
            assert [f["name"] for f in listed.json()["files"]] == ["kept.txt"]
            content = requests.get(f"{server.url}/api/v1/files/{kept_id}/content",
                                   headers=auth, timeout=10)  # fmt: skip
            assert content.status_code == 200
            assert hashlib.sha256(content.content).digest() == hashlib.sha256(kept).digest()
        assert workers(server) == alive, "a worker died on the full disk"
        assert not list((disk / "staging").iterdir()), "staging bytes left behind"
    finally:
        filler.unlink()

    # Space again: uploads work, no restart.
    body = text(1 << 20)
    r = requests.post(f"{server.url}/api/v1/files", headers=auth, timeout=30,
                      files={"file": ("after.txt", body, "text/plain")})  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["files"][0]["sha256"] == hashlib.sha256(body).hexdigest()
    assert workers(server) == alive
