"""Crash leftovers are swept as soon as their writer is provably gone, and never a live
upload's bytes: ``airlock gc`` running while uploads stream, and a server killed mid-upload
whose successor sweeps at start-up, before any gc."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from airlock.procs import alive
from tests.e2e.conftest import Backend
from tests.support.bodies import Leftovers, raw_request, text
from tests.support.server import LiveServer, cli

BACKENDS = ("local", "s3")
TUS = {"Tus-Resumable": "1.0.0"}
PIECE = 64 * 1024


def slowly(data: bytes, seconds: float, stop: threading.Event | None = None) -> Iterator[bytes]:
    """``data`` in pieces spread over about ``seconds``; ends early (short of the declared
    length) once ``stop`` is set."""
    pieces = [data[i : i + PIECE] for i in range(0, len(data), PIECE)]
    for piece in pieces:
        if stop is not None and stop.is_set():
            return
        yield piece
        time.sleep(seconds / len(pieces))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def listed(server: LiveServer, user: str = "alice") -> dict[str, str]:
    """The user's Files, every page: id -> SHA-256."""
    files: dict[str, str] = {}
    params: dict[str, str | int] = {"limit": 500}
    while True:
        r = requests.get(server.url + "/api/v1/files", params=params,
                         headers=server.auth(user), timeout=10)  # fmt: skip
        assert r.status_code == 200, r.text
        body = r.json()
        files.update((f["id"], f["sha256"]) for f in body["files"])
        if not body.get("next_cursor"):
            return files
        params["cursor"] = body["next_cursor"]


def test_gc_during_uploads_takes_none_of_their_bytes(
    tmp_path: Path, backend: Backend
) -> None:
    server = backend.server(tmp_path / "data")
    try:
        server.add_user("alice", admin=True)
        before = Leftovers.take(server, ("alice",))
        auth = server.auth("alice")
        put_body, form_body, tus_body = text(3 << 20), text(3 << 20, b"form line\n"), text(2 << 20)
        boundary = "leftover-test-boundary"
        form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"form.txt\"\r\nContent-Type: text/plain\r\n\r\n").encode()
        form += form_body + f"\r\n--{boundary}--\r\n".encode()
        created = requests.post(server.url + "/api/v1/tus/", timeout=10, headers={
            **auth, **TUS, "Upload-Length": str(len(tus_body)),
            "Upload-Metadata": "filename " + base64.b64encode(b"tus.txt").decode()})  # fmt: skip
        assert created.status_code == 201, created.text
        tus_url = created.headers["Location"]

        def slow_put() -> int:
            return raw_request(server.url, "PUT", "/api/v1/files/put.txt", {
                **auth, "Content-Length": str(len(put_body))}, slowly(put_body, 6)).status
        def slow_form() -> int:
            return raw_request(server.url, "POST", "/api/v1/files", {
                **auth, "Content-Length": str(len(form)),
                "Content-Type": f"multipart/form-data; boundary={boundary}"},
                slowly(form, 6)).status  # fmt: skip
        def slow_patch() -> int:
            return raw_request(server.url, "PATCH", tus_url, {
                **auth, **TUS, "Upload-Offset": "0", "Content-Length": str(len(tus_body)),
                "Content-Type": "application/offset+octet-stream"},
                slowly(tus_body, 6)).status  # fmt: skip

        small: dict[str, str] = {}  # acknowledged quick uploads: id -> SHA-256
        done = threading.Event()

        def quick_uploads() -> None:
            n = 0
            while not done.is_set():
                body = text(20_000 + n, f"quick {n}\n".encode())
                r = requests.put(f"{server.url}/api/v1/files/q{n}.txt", data=body, headers=auth,
                                 timeout=30)  # fmt: skip
                assert r.status_code == 201, r.text
                small[r.json()["id"]] = sha(body)
                n += 1

        with ThreadPoolExecutor(4) as pool:
            slow: list[Future[int]] = [pool.submit(f) for f in (slow_put, slow_form, slow_patch)]
            quick = pool.submit(quick_uploads)
            runs = 0
            while not all(f.done() for f in slow):  # gc again and again while bytes arrive
                cli(server.data_dir, "gc")
                runs += 1
            done.set()
            quick.result(timeout=60)
            statuses = [f.result(timeout=60) for f in slow]
        assert runs >= 2, "gc should have run while the uploads streamed"
        assert statuses == [201, 201, 204]
        files = listed(server)
        assert {files[i] for i in small} == set(small.values())  # every quick one, intact
        assert set(files.values()) >= {sha(put_body), sha(form_body), sha(tus_body)}
        for file_id, digest in files.items():
            got = requests.get(f"{server.url}/api/v1/files/{file_id}/content", headers=auth,
                               timeout=30)  # fmt: skip
            assert got.status_code == 200 and sha(got.content) == digest
        cli(server.data_dir, "gc")
        after = Leftovers.take(server, ("alice",))
        assert not after.staging(), after.staging()
        assert len(after.objects - before.objects) == len(files)  # one object per File
    finally:
        server.stop()


def test_a_killed_servers_leftovers_are_swept_when_the_next_one_starts(
    tmp_path: Path, backend: Backend
) -> None:
    first = backend.server(tmp_path / "data")
    try:
        first.add_user("alice", admin=True)
        auth = first.auth("alice")
        body = text(12 << 20)  # past one S3 part: a multipart upload is under way in the store
        sent = threading.Event()

        def pieces() -> Iterator[bytes]:
            for n, piece in enumerate(slowly(body, 30)):
                if n * PIECE > 10 << 20:
                    sent.set()
                yield piece

        with ThreadPoolExecutor(1) as pool:
            upload = pool.submit(raw_request, first.url, "PUT", "/api/v1/files/big.txt",
                                 {**auth, "Content-Length": str(len(body))}, pieces())
            assert sent.wait(60)
            time.sleep(0.5)  # the server has the first part in staging
            left = Leftovers.take(first, ("alice",))
            in_flight = left.staging() | {o for o in left.objects if o.startswith("mpu:")}
            assert in_flight, "the upload should have bytes in flight"
            assert first.proc is not None
            group = [first.proc.pid, *first.worker_pids()]
            os.killpg(first.proc.pid, signal.SIGKILL)
            first.proc.wait(30)
            deadline = time.monotonic() + 30  # the restart comes once they are all gone
            while any(alive(pid) for pid in group) and time.monotonic() < deadline:
                time.sleep(0.05)
            with pytest.raises(Exception):  # noqa: B017 - the connection just dies
                upload.result(timeout=60)
    finally:
        first.stop()

    second = LiveServer(first.data_dir, env=first.env, bucket_contents=first.bucket_contents,
                        bucket_sizes=first.bucket_sizes, tokens=first.tokens).start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the start-up sweep runs beside serving
            now = Leftovers.take(second, ("alice",))
            if not now.staging() and not any(o.startswith("mpu:") for o in now.objects):
                break
            time.sleep(0.2)
        now = Leftovers.take(second, ("alice",))
        assert not now.staging() and not any(o.startswith("mpu:") for o in now.objects), (
            now.staging(), now.objects)
        assert listed(second) == {}
        swept = [json.loads(line) for line in second.log().splitlines()
                 if line.startswith('{"event": "startup_sweep"')]  # fmt: skip
        assert len(swept) == 1 and swept[0].get("staging_removed", 0) >= 1, swept
    finally:
        second.stop()
