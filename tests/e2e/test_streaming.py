"""Streaming under the production server: constant memory, chunked bodies, slow clients."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from tests.support.server import LiveServer

MiB = 2**20


def vm_hwm(pid: int) -> int:
    """Peak resident set size (VmHWM) of a process, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def make_stored_zip(path: Path, size: int) -> str:
    """A zip (stored, no compression) of about ``size`` random-looking bytes; its SHA-256."""
    block = os.urandom(MiB)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        with zf.open("data.bin", "w", force_zip64=True) as member:
            for i in range(size // MiB):
                member.write(block[i % 251 :] + block[: i % 251])
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.fixture(scope="module")
def big_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("big")
    live = LiveServer(root / "data", env={"AIRLOCK_MAX_FILE_SIZE": "1GiB"}, workers=1).start()
    try:
        live.add_user("alice")
        yield live
    finally:
        live.stop()


def file_chunks(path: Path, chunk: int = MiB) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while data := fh.read(chunk):
            yield data


def test_large_upload_and_download_in_constant_memory(
    big_server: LiveServer, tmp_path: Path
) -> None:
    size = 600 * MiB
    path = tmp_path / "big.zip"
    sha = make_stored_zip(path, size)
    (worker,) = big_server.worker_pids()
    # Warm the worker up with a small upload, so the baseline includes imports and libmagic.
    small = tmp_path / "small.zip"
    make_stored_zip(small, MiB)
    with open(small, "rb") as fh:
        r = requests.put(big_server.url + "/api/v1/files/small.zip", data=fh,
                         headers=big_server.auth("alice"), timeout=60)  # fmt: skip
    assert r.status_code == 201, r.text
    baseline = vm_hwm(worker)

    # Chunked (no Content-Length) multipart would need a custom encoder; chunked raw PUT and a
    # Content-Length multipart POST cover both framings.
    r = requests.put(big_server.url + "/api/v1/files/big.zip", data=file_chunks(path),
                     headers=big_server.auth("alice"), timeout=600)  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == sha and r.json()["size"] == path.stat().st_size
    with open(path, "rb") as fh:
        r = requests.post(big_server.url + "/api/v1/files", files={"file": ("big2.zip", fh)},
                          headers=big_server.auth("alice"), timeout=600)  # fmt: skip
    assert r.status_code == 201, r.text
    file = r.json()["files"][0]
    assert file["sha256"] == sha

    digest = hashlib.sha256()
    with requests.get(big_server.url + file["links"]["content"], headers=big_server.auth("alice"),
                      stream=True, timeout=600) as got:  # fmt: skip
        assert got.status_code == 200
        for chunk in got.iter_content(MiB):
            digest.update(chunk)
    assert digest.hexdigest() == sha

    grown = vm_hwm(worker) - baseline
    # 600 MiB went through the worker three times; its peak grew by less than a few buffers.
    assert grown < 32 * MiB, f"worker peak RSS grew by {grown / MiB:.1f} MiB"
    assert psutil.Process(worker).is_running()
    assert list((big_server.data_dir / "staging").iterdir()) == []


def test_slow_upload_outlives_the_worker_timeout(big_server: LiveServer) -> None:
    """100 MB at about 1 MB/s: longer than gunicorn's 30 s worker timeout, and it succeeds."""
    total, step = 100 * 10**6, 10**6
    sent = threading.Event()

    def slow_body() -> Iterator[bytes]:
        line = b"a slow but steady line of text\n"
        block = (line * (step // len(line) + 1))[:step]
        for _ in range(total // step):
            started = time.monotonic()
            yield block
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
        sent.set()

    r = requests.put(big_server.url + "/api/v1/files/slow.txt", data=slow_body(),
                     headers=big_server.auth("alice"), timeout=600)  # fmt: skip
    assert sent.is_set()
    assert r.status_code == 201, r.text
    assert r.json()["size"] == total
