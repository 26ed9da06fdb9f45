"""``airlock serve`` on a data disk that fills up: a 48 MiB tmpfs mounted by the test (root
only; unmounted afterwards) holds the whole data dir (database, staging, files); the server's
log is elsewhere.

* Every kind of upload fills the disk while its bytes arrive (the disk is filled to leave 2 MiB
  and the body is 6 MiB): multipart, PUT, tus creation-with-upload and a tus PATCH. Each is
  ``507 storage_full`` in API.md's envelope, leaves no File and no bytes (a tus upload keeps
  what it had before that PATCH, exactly), and the server goes on serving; the tus upload is
  resumed and finished once space is freed.
* On a disk with not one block free (one worker killed and replaced meanwhile), uploads
  (multipart, PUT, tus creation with and without bytes) are ``507 storage_full`` and what needs
  no new space keeps working: ``/healthz``, ``/metrics``, listing and downloading Files,
  sign-in and sign-out (SQLite writes into its log's space after a checkpoint; how many
  sign-ins it takes before the database file would have to grow is recorded), and ``/readyz``
  says ``storage: full`` (503) until there is room again. Deleting a File works there too
  (that is how room is made), and the freed space takes a new upload at once.
* Time to serve again: from freeing space to the first ``201`` upload, polled (a bounded wait,
  recorded, not asserted on).

``fault_report`` says each scenario ran on a tmpfs.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from tests.support.bodies import Leftovers, assert_alive, expect_error, text
from tests.support.server import LiveServer

FS_SIZE = "48m"
FS = f"tmpfs of {FS_SIZE}"
MIB = 1 << 20
MARGIN = 2 * MIB  # free space left when an upload is to fill the disk
BODY = 6 * MIB  # the body of such an upload
PASSWORD = "correct horse battery"  # LiveServer.add_user's
USERS = ("alice",)
TUS = {"Tus-Resumable": "1.0.0"}
OFFSET_BODY = {**TUS, "Content-Type": "application/offset+octet-stream"}


@contextlib.contextmanager
def tmpfs(parent: Path) -> Iterator[Path]:
    mount = parent / "data"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={FS_SIZE}", "tmpfs", str(mount)],
                   check=True)  # fmt: skip
    print(f"data dir on a {FS} at {mount}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


@contextlib.contextmanager
def serving(parent: Path, workers: int = 2) -> Iterator[LiveServer]:
    """A server whose data dir is a fresh tmpfs, with user ``alice``."""
    with tmpfs(parent) as disk:
        live = LiveServer(disk, workers=workers).start()
        try:
            live.add_user("alice")
            yield live
        finally:
            live.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the upload scenarios: each leaves the disk as it found it."""
    with serving(tmp_path_factory.mktemp("fulldisk")) as live:
        yield live


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[LiveServer]:
    """A server of its own, for what depends on the database's log being where a busy server
    leaves it: at the end of its file, with no room to grow."""
    with serving(tmp_path) as live:
        yield live


def free_bytes(disk: Path) -> int:
    st = os.statvfs(disk)
    return st.f_bavail * st.f_frsize


def fill(disk: Path, leave: int = 0) -> Path:
    """Grow a filler file until the filesystem has ``leave`` bytes free (0: not one block)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        todo = free_bytes(disk) - leave
        piece = b"x" * MIB
        with contextlib.suppress(OSError):
            while todo > 0:
                todo -= os.write(fd, piece[: min(todo, MIB)])
        if leave == 0:
            for size in (1 << 16, 1):  # big pieces, then the last bytes
                piece = b"x" * size
                with contextlib.suppress(OSError):
                    while True:
                        os.write(fd, piece)
    finally:
        os.close(fd)
    free = free_bytes(disk)
    assert (free == 0) if leave == 0 else (0 < free <= leave), free
    return filler


def workers(server: LiveServer) -> set[int]:
    assert server.proc is not None
    return {c.pid for c in psutil.Process(server.proc.pid).children()}


def expect_full(r: requests.Response) -> None:
    """``507 storage_full`` in API.md's envelope."""
    expect_error(r, 507, "storage_full")
    error = r.json()["error"]
    assert set(error) == {"code", "message", "details"} and error["message"], error


def no_internal_errors(server: LiveServer) -> None:
    """No request of this server was answered ``500`` (the translator logs each)."""
    assert "unhandled error" not in server.log(), server.log()[-3000:]


def tus_metadata(name: str) -> str:
    return "filename " + base64.b64encode(name.encode()).decode()


def tus_create(server: LiveServer, length: int, name: str = "t.txt",
               **kwargs: Any) -> requests.Response:  # fmt: skip
    headers = {**server.auth("alice"), **TUS, "Upload-Length": str(length),
               "Upload-Metadata": tus_metadata(name), **kwargs.pop("headers", {})}  # fmt: skip
    return requests.post(f"{server.url}/api/v1/tus/", headers=headers, timeout=60, **kwargs)


def tus_patch(server: LiveServer, location: str, offset: int, body: bytes) -> requests.Response:
    headers = {**server.auth("alice"), **OFFSET_BODY, "Upload-Offset": str(offset)}
    return requests.patch(server.url + location, data=body, headers=headers, timeout=60)


def staged_sizes(server: LiveServer, besides: dict[str, int] | None = None) -> dict[str, int]:
    """Staging file -> size, leaving out those in ``besides`` (there before) unchanged."""
    staging = server.data_dir / "staging"
    sizes = {p.name: p.stat().st_size for p in staging.iterdir()}
    return {k: v for k, v in sizes.items() if (besides or {}).get(k) != v}


def upload_filling_the_disk(server: LiveServer, kind: str, body: bytes) -> requests.Response:
    auth = server.auth("alice")
    if kind == "multipart":
        return requests.post(f"{server.url}/api/v1/files", headers=auth, timeout=60,
                             files={"file": ("big.txt", body, "text/plain")})  # fmt: skip
    if kind == "put":
        return requests.put(f"{server.url}/api/v1/files/big.txt", data=body, headers=auth,
                            timeout=60)  # fmt: skip
    assert kind == "tus-creation-with-upload"
    return tus_create(server, len(body), "big.txt", data=body, headers=OFFSET_BODY)


# Uploads that fill the disk ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["multipart", "put", "tus-creation-with-upload"])
def test_an_upload_that_fills_the_disk_is_refused(server: LiveServer, kind: str,
                                                  fault_report: Any) -> None:  # fmt: skip
    """507 storage_full in the envelope, no File, no stored object, no staged bytes, and the
    server serves on. Multipart and PUT leave no staging file at all (tus: see the next
    test)."""
    before = Leftovers.take(server, USERS)
    prior = staged_sizes(server)
    filler = fill(server.data_dir, leave=MARGIN)
    try:
        free = free_bytes(server.data_dir)
        r = upload_filling_the_disk(server, kind, text(BODY))
        expect_full(r)
        assert "Location" not in r.headers
        after = Leftovers.take(server, USERS)
        assert after.file_ids == before.file_ids, "a File was listed"
        assert after.objects == before.objects, "stored bytes left behind"
        assert not staged_sizes(server, prior), "staging files left behind"
        assert_alive(server)  # the refused bytes are gone: the margin takes a small upload
        fault_report.record(f"disk fills during a {kind} upload", fs=FS, free_before=free,
                            body=BODY, answer=f"{r.status_code} {r.json()['error']['code']}")
    finally:
        filler.unlink()
    no_internal_errors(server)


def test_a_tus_creation_with_upload_that_fills_the_disk_leaves_no_upload(
    server: LiveServer,
) -> None:
    before = Leftovers.take(server, USERS)
    filler = fill(server.data_dir, leave=MARGIN)
    try:
        expect_full(upload_filling_the_disk(server, "tus-creation-with-upload", text(BODY)))
        before.assert_clean()
    finally:
        filler.unlink()


def test_a_tus_patch_that_fills_the_disk_keeps_the_upload_resumable(
    server: LiveServer, fault_report: Any
) -> None:
    """The PATCH is 507; the upload keeps exactly the bytes it had (HEAD and the staging file
    agree); once space is freed it is resumed from there and finished, whole."""
    before = Leftovers.take(server, USERS)
    prior = staged_sizes(server)
    body = text(7 * MIB, fill=b"resumable upload line\n")
    r = tus_create(server, len(body), "resumed.txt")
    assert r.status_code == 201, r.text
    location = r.headers["Location"]
    upload_id = location.rsplit("/", 1)[1]
    r = tus_patch(server, location, 0, body[:MIB])
    assert r.status_code == 204 and r.headers["Upload-Offset"] == str(MIB), r.text
    filler = fill(server.data_dir, leave=MARGIN)
    try:
        r = tus_patch(server, location, MIB, body[MIB:])
        expect_full(r)
        head = requests.head(server.url + location, headers={**server.auth("alice"), **TUS},
                             timeout=10)  # fmt: skip
        assert head.status_code == 200 and head.headers["Upload-Offset"] == str(MIB)
        assert staged_sizes(server, prior) == {f"{upload_id}.part": MIB}, "bytes past the offset"
        assert Leftovers.take(server, USERS).file_ids == before.file_ids
        assert_alive(server)
    finally:
        filler.unlink()

    r = tus_patch(server, location, MIB, body[MIB:])
    assert r.status_code == 204, r.text
    file_id = r.headers["Upload-File-Id"]
    meta = requests.get(f"{server.url}/api/v1/files/{file_id}", headers=server.auth("alice"),
                        timeout=10).json()  # fmt: skip
    assert (meta["name"], meta["size"]) == ("resumed.txt", len(body))
    assert meta["sha256"] == hashlib.sha256(body).hexdigest()
    content = requests.get(f"{server.url}/api/v1/files/{file_id}/content",
                           headers=server.auth("alice"), timeout=30)  # fmt: skip
    assert hashlib.sha256(content.content).digest() == hashlib.sha256(body).digest()
    assert not staged_sizes(server, prior), "staging bytes left after the File was made"
    fault_report.record("tus PATCH fills the disk, resumed after space is freed", fs=FS,
                        kept_offset=MIB, resent=len(body) - MIB, file_size=meta["size"])
    no_internal_errors(server)


# A disk with no block free -------------------------------------------------------------------


def test_a_full_disk_refuses_uploads_and_keeps_serving(server: LiveServer,
                                                       fault_report: Any) -> None:  # fmt: skip
    """A worker started on the full disk serves too (metrics live off the data disk); uploads
    of every kind are 507 and leave nothing; reads go on. Once space is freed, uploads work
    again with no restart: the time from freeing space to the first 201 is measured."""
    auth = server.auth("alice")
    kept = text(200_000)
    r = requests.put(f"{server.url}/api/v1/files/kept.txt", data=kept, headers=auth, timeout=30)
    assert r.status_code == 201, r.text
    kept_id = r.json()["id"]
    before = Leftovers.take(server, USERS)
    prior = staged_sizes(server)
    filler = fill(server.data_dir)
    try:
        # A worker started on the full disk: gunicorn replaces the one killed.
        started = workers(server)
        victim = min(started)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        alive = workers(server)  # one look at a time: the victim may be reaped in between
        while victim in alive or len(alive) < len(started):
            assert time.monotonic() < deadline, f"no worker replaced {victim}: {alive}"
            time.sleep(0.1)
            alive = workers(server)

        for _ in range(8):  # enough requests to reach both workers
            body = text(MIB)
            for kind in ("multipart", "put"):
                expect_full(upload_filling_the_disk(server, kind, body))
            r = tus_create(server, len(body), data=body, headers=OFFSET_BODY)
            expect_full(r)
            assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200
            metrics = requests.get(f"{server.url}/metrics", timeout=10)
            assert metrics.status_code == 200 and "airlock_uploads_total" in metrics.text
            listed = requests.get(f"{server.url}/api/v1/files", headers=auth, timeout=10)
            assert kept_id in {f["id"] for f in listed.json()["files"]}
            assert {f["id"] for f in listed.json()["files"]} == before.file_ids["alice"]
            content = requests.get(f"{server.url}/api/v1/files/{kept_id}/content",
                                   headers=auth, timeout=10)  # fmt: skip
            assert content.status_code == 200
            assert hashlib.sha256(content.content).digest() == hashlib.sha256(kept).digest()
        assert workers(server) == alive, "a worker died on the full disk"
        after = Leftovers.take(server, USERS)
        assert after.file_ids == before.file_ids and after.objects == before.objects
        assert not staged_sizes(server, prior), "staging files left behind"
    finally:
        filler.unlink()
        freed = time.monotonic()

    # Space again: uploads work, no restart. Poll until the first 201 (a bounded wait).
    polls, body = 0, text(MIB)
    while True:
        polls += 1
        r = requests.put(f"{server.url}/api/v1/files/after.txt", data=body, headers=auth,
                         timeout=30)  # fmt: skip
        if r.status_code == 201 or time.monotonic() - freed > 30:
            break
        time.sleep(0.05)
    to_serve = time.monotonic() - freed
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == hashlib.sha256(body).hexdigest()
    assert workers(server) == alive
    while requests.get(f"{server.url}/readyz", timeout=10).status_code != 200:
        assert time.monotonic() - freed < 30, "not ready 30 s after space was freed"
        time.sleep(0.05)
    to_ready = time.monotonic() - freed
    fault_report.record("uploads on a full disk, a worker replaced while full", fs=FS,
                        refused=8 * 3, first_201_after_s=round(to_serve, 3), polls=polls,
                        ready_after_s=round(to_ready, 3))  # fmt: skip
    no_internal_errors(server)


def test_a_full_disk_is_reported_and_signing_in_works(fresh: LiveServer,
                                                      fault_report: Any) -> None:  # fmt: skip
    """On a server whose database log is at the end of its file and a disk with no block
    free: tus creation is 507; reads, /healthz, sign-in (with a wrong password still 401) and
    sign-out work; /readyz says the storage is full until space is freed."""
    server, auth = fresh, fresh.auth("alice")
    kept = text(100_000)
    r = requests.put(f"{server.url}/api/v1/files/kept.txt", data=kept, headers=auth, timeout=30)
    assert r.status_code == 201, r.text
    kept_id = r.json()["id"]
    ready = requests.get(f"{server.url}/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json()["checks"]["storage"] == "ok"
    before = Leftovers.take(server, USERS)
    filler = fill(server.data_dir)
    try:
        expect_full(tus_create(server, 1000))
        ready = requests.get(f"{server.url}/readyz", timeout=10)
        assert ready.status_code == 503, ready.text
        assert ready.json() == {"status": "not ready", "checks": {
            "database": "ok", "storage": "full", "scanner": "off"}}  # fmt: skip
        assert requests.get(f"{server.url}/healthz", timeout=10).json() == {"status": "ok"}
        listed = requests.get(f"{server.url}/api/v1/files", headers=auth, timeout=10)
        assert [f["id"] for f in listed.json()["files"]] == [kept_id]
        content = requests.get(f"{server.url}/api/v1/files/{kept_id}/content", headers=auth,
                               timeout=10)  # fmt: skip
        assert content.status_code == 200 and content.content == kept

        def sign_in(password: str = PASSWORD) -> tuple[requests.Session, requests.Response]:
            browser = requests.Session()
            r = browser.post(f"{server.url}/api/v1/session", timeout=10,
                             json={"username": "alice", "password": password})  # fmt: skip
            return browser, r

        for _ in range(5):
            browser, r = sign_in()
            assert r.status_code == 200, r.text
            assert r.json()["username"] == "alice"
            me = browser.get(f"{server.url}/api/v1/session", timeout=10)
            assert me.status_code == 200 and me.json() == r.json()
        _, wrong = sign_in("not the password")
        expect_error(wrong, 401, "unauthorized")
        cookie = browser.cookies["airlock_session"]
        out = browser.delete(f"{server.url}/api/v1/session", timeout=10,
                             headers={"X-CSRF-Token": r.json()["csrf_token"]})  # fmt: skip
        assert out.status_code == 204, out.text
        # The signed-out cookie no longer works: its row is gone.
        again = requests.get(f"{server.url}/api/v1/session", timeout=10,
                             cookies={"airlock_session": cookie})  # fmt: skip
        expect_error(again, 401, "unauthorized")

        # How many sign-ins the full disk takes: each adds a session row; once the database
        # file itself would have to grow, the answer is a clean 507.
        answers: list[int] = []
        for _ in range(40):
            _, r = sign_in()
            answers.append(r.status_code)
            if r.status_code != 200:
                expect_full(r)
        signed_in = 5 + answers.count(200)
        after = Leftovers.take(server, USERS)
        assert after.file_ids == before.file_ids and after.objects == before.objects
        assert not any(staged_sizes(server).values()), "staged bytes left behind"
    finally:
        filler.unlink()
    ready = requests.get(f"{server.url}/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json()["checks"]["storage"] == "ok"
    fault_report.record("sign-in and readiness on a full disk", fs=FS, sign_ins_ok=signed_in,
                        sign_ins_507=answers.count(507), wrong_password=wrong.status_code,
                        readyz_storage="full")  # fmt: skip
    no_internal_errors(server)


def test_a_tus_creation_refused_on_a_full_disk_leaves_nothing(tmp_path: Path) -> None:
    # One worker, which has made an upload before: what it sets up for its first one (its
    # writer's registration) is in place, so the creation gets as far as the staging file.
    with serving(tmp_path, workers=1) as server:
        r = tus_create(server, 1000)
        assert r.status_code == 201, r.text
        gone = requests.delete(server.url + r.headers["Location"], timeout=10,
                               headers={**server.auth("alice"), **TUS})  # fmt: skip
        assert gone.status_code == 204, gone.text
        before = Leftovers.take(server, USERS)
        filler = fill(server.data_dir)
        try:
            expect_full(tus_create(server, 1000))
            before.assert_clean()
        finally:
            filler.unlink()


def test_deleting_files_on_a_full_disk_makes_room(fresh: LiveServer,
                                                  fault_report: Any) -> None:  # fmt: skip
    auth = fresh.auth("alice")
    ids = []
    for i in range(2):
        r = requests.put(f"{fresh.url}/api/v1/files/f{i}.txt", data=text(MIB), headers=auth,
                         timeout=30)  # fmt: skip
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    filler = fill(fresh.data_dir)
    try:
        r = requests.delete(f"{fresh.url}/api/v1/files/{ids[0]}", headers=auth, timeout=10)
        assert r.status_code == 204, r.text
        gone = requests.get(f"{fresh.url}/api/v1/files/{ids[0]}", headers=auth, timeout=10)
        expect_error(gone, 404, "not_found")
        assert free_bytes(fresh.data_dir) >= MIB, "the File's bytes were not freed"
        r = requests.put(f"{fresh.url}/api/v1/files/room.txt", data=text(100_000),
                         headers=auth, timeout=30)  # fmt: skip
        assert r.status_code == 201, r.text
        fault_report.record("deleting a File on a full disk", fs=FS, freed=MIB)
    finally:
        filler.unlink()
