"""kill -9 in the middle of uploads, on local storage and on S3 storage.

Three faults, each on a server of its own (and, with S3, a bucket of its own):

1. One worker killed while it reads an upload's body: a multipart POST, a PUT, a tus PATCH.
   The body (12 MiB) goes out in small pieces with small sleeps and holds back its last MiB,
   so the kill lands mid-body; the worker is the one holding the connection (psutil), killed
   once it has read 10 MiB from its socket (the kernel's queues, ``/proc/net/tcp``).
2. One worker, or the whole server, killed while it commits: every byte is in and the File's
   row is being written, held there by the test holding SQLite's write lock (``BEGIN
   IMMEDIATE`` on the server's own database file). The server's write must wait on the lock
   (a ``503`` at once fails the test).
3. The whole server (the gunicorn master's process group) killed mid-upload, with a multipart
   POST, a PUT and a tus PATCH under way; a new server is started on the same data dir.

Acknowledged uploads of each kind come before the fault, beside it (small PUTs one after
another from a thread while it happens) and after it. Afterwards: the server answers again;
every acknowledged File is listed with its SHA-256 and downloads byte-identical (before and
after ``airlock gc``); the interrupted upload is no File; an interrupted tus upload is still
resumable after gc (``HEAD`` offset at most what was sent, and at most one durable step, 8 MiB,
behind what the worker had read) and finishing it gives the right File; and after ``airlock
gc`` nothing is left that no File refers to (staging files, the ``files/`` tree, the bucket's
objects and unfinished multipart uploads), but for the bytes of a tus upload still resumable.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from tests.e2e.conftest import Backend
from tests.support.bodies import assert_alive
from tests.support.faults_crash import (
    Background,
    Inventory,
    Ledger,
    MiB,
    SlowUpload,
    belongs_to_upload,
    gc,
    post_files,
    put_file,
    slow_multipart,
    slow_patch,
    slow_put,
    text_bytes,
    total,
    tus_create,
    tus_file,
    tus_offset,
    tus_resume,
    wait_until,
)
from tests.support.server import LiveServer

BACKENDS = ("local", "s3")
KINDS = ("multipart", "put", "tus")

BODY = 12 * MiB  # an interrupted upload's size: past one 8 MiB part (S3) or durable step (tus)
HOLD_BACK = 1 * MiB  # sent only once the fault is over: the body cannot end before it
KILL_AT = 10 * MiB  # body bytes the worker has read when it is killed
DURABLE_EVERY = 8 * MiB  # README: a running PATCH makes its progress durable this often
READ_SLACK = 1 * MiB  # what a worker may have read from its socket but not yet written
COMMIT_BODY = 3 * MiB
COMMIT_TAIL = 64 * 1024  # sent once the test holds the database's write lock
# Bounds on waiting, not timings under test.
WAIT = 60.0
LEASE_LAPSE = 45.0  # README: a dead worker's tus lease lapses within seconds (10 s)
SETTLE = 1.5  # after the bytes are stored: time to finish inspecting and reach the row's write


@dataclass
class Site:
    """A server under test with user ``alice`` (admin), what it acknowledged, and where it
    stores."""

    backend: Backend
    server: LiveServer
    ledger: Ledger = field(default_factory=Ledger)
    uploads: list[SlowUpload] = field(default_factory=list)  # closed at the end, come what may

    def inventory(self) -> Inventory:
        return Inventory.take(self.server, self.backend.s3, self.backend.bucket)

    def restart(self) -> None:
        """A new server on the same data dir and settings (the old one is dead)."""
        old = self.server
        assert old.proc is not None and old.proc.poll() is not None
        old.proc = None
        fresh = self.backend.server(old.data_dir)
        fresh.tokens = dict(old.tokens)
        self.server = fresh


@pytest.fixture
def site(backend: Backend, tmp_path: Path) -> Iterator[Site]:
    own = backend
    if backend.s3 is not None:
        bucket = backend.s3.create_bucket("faults-" + secrets.token_hex(6))
        own = Backend("s3", dict(backend.s3.env(bucket)), backend.s3, bucket)
    here = Site(own, own.server(tmp_path / "data"))
    try:
        here.server.add_user("alice", admin=True)
        yield here
    finally:
        for up in here.uploads:
            up.close()
        here.server.stop()


# Steps ------------------------------------------------------------------------------------------


def acknowledge(site: Site, tag: str) -> None:
    """One acknowledged upload of each kind (and two Files in one multipart POST)."""
    s, ledger = site.server, site.ledger
    post_files(s, ledger, {f"{tag}-form-a.txt": text_bytes(64 * 1024),
                           f"{tag}-form-b.txt": text_bytes(1 * MiB)})  # fmt: skip
    put_file(s, ledger, f"{tag}-put.txt", text_bytes(256 * 1024))
    tus_file(s, ledger, f"{tag}-tus.txt", text_bytes(1536 * 1024), chunk=512 * 1024)


@dataclass
class Interrupted:
    """An upload the fault cuts short."""

    kind: str
    name: str
    data: bytes
    upload: SlowUpload
    tus_path: str = ""
    received_at_kill: int = 0

    @property
    def upload_id(self) -> str:
        return self.tus_path.rsplit("/", 1)[-1]


def start_interrupted(site: Site, kind: str, data: bytes | None = None,
                      hold_back: int = HOLD_BACK) -> Interrupted:  # fmt: skip
    name = f"interrupted-{kind}-{secrets.token_hex(4)}.txt"
    data = text_bytes(BODY) if data is None else data
    site.ledger.interrupted.add(name)
    cut = _interrupted(site, kind, name, data, hold_back)
    site.uploads.append(cut.upload)
    return cut


def _interrupted(site: Site, kind: str, name: str, data: bytes, hold_back: int) -> Interrupted:
    s = site.server
    if kind == "multipart":
        return Interrupted(
            kind, name, data, slow_multipart(s, name, data, hold_back=hold_back).start()
        )
    if kind == "put":
        return Interrupted(kind, name, data, slow_put(s, name, data, hold_back=hold_back).start())
    path = tus_create(s, name, len(data))
    return Interrupted(kind, name, data, slow_patch(s, path, data, hold_back=hold_back).start(),
                       tus_path=path)  # fmt: skip


def wait_received(cut: Interrupted, amount: int) -> None:
    """Until the server has read ``amount`` body bytes; it must still be reading."""
    up = cut.upload
    wait_until(f"the server to read {amount} bytes of the {cut.kind} body",
               lambda: up.done or up.received() >= amount, WAIT, every=0.01)  # fmt: skip
    assert not up.done, (cut.kind, up.status, up.failure, up.response_body[:300])


def kill_worker(site: Site, up: SlowUpload) -> int:
    """kill -9 the worker holding ``up``'s connection; its pid, once it is gone."""
    workers = site.server.worker_pids()
    pid = up.serving_pid(workers)
    assert pid is not None and pid in workers, (pid, workers)
    proc = psutil.Process(pid)
    os.kill(pid, signal.SIGKILL)
    proc.wait(WAIT)
    return pid


def wait_replaced(site: Site, killed: int) -> None:
    """Gunicorn has started a worker in the dead one's place, and the server takes uploads."""
    s = site.server

    def replaced() -> bool:
        live = [p for p in s.worker_pids() if _running(p)]
        return killed not in live and len(live) == s.workers

    wait_until(f"gunicorn to replace worker {killed}", replaced, WAIT, every=0.1)
    wait_until("the server to answer again", lambda: _healthy(s), WAIT, every=0.1)
    assert_alive(s)


def _running(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _healthy(s: LiveServer) -> bool:
    try:
        return requests.get(s.url + "/healthz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def on_another_worker(
    make: Callable[[], SlowUpload], avoid: int | None, workers: Callable[[], list[int]],
    tries: int = 8,
) -> SlowUpload:
    """``make()`` started on a connection a worker other than ``avoid`` accepted, if one of
    ``tries`` connections lands there (else on the last one)."""
    def serving(up: SlowUpload) -> int | None:
        return up.serving_pid(workers())

    spare: list[SlowUpload] = []
    for _ in range(tries):
        up = make().connect()
        pid = wait_until("the server to accept a connection", partial(serving, up), WAIT)
        if pid != avoid:
            break
        spare.append(up)
    for other in spare:
        if other is not up:
            other.close()
    return up.start()


def assert_unanswered(cut: Interrupted) -> None:
    """The interrupted request got no answer at all (its server process died under it)."""
    up = cut.upload.finish(WAIT)
    assert up.status is None, (cut.kind, up.status, up.response_body[:300])


@dataclass
class Outcome:
    """What the checks after a fault found."""

    lost: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    unexpected: list[tuple[str, str]] = field(default_factory=list)  # (name, File id)
    left_before_gc: dict[str, int] = field(default_factory=dict)
    left_after_gc: dict[str, int] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)

    def audit(self, site: Site) -> None:
        lost, corrupt, unexpected = site.ledger.check(site.server)
        self.lost += [x for x in lost if x not in self.lost]
        self.corrupt += [x for x in corrupt if x not in self.corrupt]
        self.unexpected += [x for x in unexpected if x not in self.unexpected]


def resumable(cuts: list[Interrupted]) -> Callable[[str], bool]:
    """For ``Inventory.unreferenced``: the bytes of the interrupted tus uploads among ``cuts``
    (still resumable, so not leftovers)."""
    ids = [c.upload_id for c in cuts if c.kind == "tus"]
    return lambda key: any(belongs_to_upload(i)(key) for i in ids)


def crash_leftovers(site: Site, cuts: list[Interrupted]) -> dict[str, int]:
    """What no File refers to right after the fault (but resumable tus uploads)."""
    return site.inventory().unreferenced(resumable(cuts))


def after_fault(site: Site, cuts: list[Interrupted], scenario: str, fault_report: Any,
                left_after_crash: dict[str, int], **figures: Any) -> None:  # fmt: skip
    """Everything checked after a fault, the figures recorded, then the assertions: nothing
    lost or corrupt, no File from an interrupted upload, interrupted tus uploads resumable
    (before and after gc) and right once finished, and after gc nothing left over."""
    s = site.server
    out = Outcome(figures=dict(figures))
    acknowledge(site, "after")
    tus = [c for c in cuts if c.kind == "tus"]
    offsets = {c.name: tus_offset(s, c.tus_path) for c in tus}
    out.audit(site)

    keep = resumable(cuts)
    out.left_before_gc = site.inventory().unreferenced(keep)
    gc_output = gc(s)
    out.left_after_gc = site.inventory().unreferenced(keep)
    offsets_after_gc = {c.name: tus_offset(s, c.tus_path) for c in tus}
    resumed = {}
    for c in tus:
        r = tus_resume(s, c.tus_path, c.data, LEASE_LAPSE)
        resumed[c.name] = (r.status_code, r.text[:300])
        if r.status_code == 204:
            got = file_json(s, r.headers["Upload-File-Id"])
            site.ledger.add(got, c.name, c.data)
            site.ledger.interrupted.discard(c.name)  # a File now, by the client's resume
    out.audit(site)
    tus_left = site.inventory().unreferenced(lambda key: not keep(key))
    interrupted_listed = [x for x in out.unexpected if x[0] in site.ledger.interrupted]

    fault_report.record(
        scenario,
        acknowledged=len(site.ledger.files),
        lost=len(out.lost),
        corrupt=len(out.corrupt),
        in_doubt=len(site.ledger.in_doubt),
        **out.figures,
        **({"tus_offset_MiB": {n: round(o / MiB, 2) for n, o in offsets.items()}} if tus else {}),
        left_after_crash=f"{total(left_after_crash)} B in {len(left_after_crash)}",
        left_before_gc=f"{total(out.left_before_gc)} B in {len(out.left_before_gc)}",
        left_after_gc=f"{total(out.left_after_gc)} B in {len(out.left_after_gc)}",
    )

    assert not out.lost, f"acknowledged Files lost: {out.lost}"
    assert not out.corrupt, f"acknowledged Files corrupt: {out.corrupt}"
    assert not interrupted_listed, f"interrupted uploads became Files: {interrupted_listed}"
    assert not out.unexpected, f"Files nobody was told of: {out.unexpected}"
    for c in tus:
        sent = c.upload.sent
        offset = offsets[c.name]
        assert offset <= sent, (c.name, offset, sent)
        assert offset >= c.received_at_kill - DURABLE_EVERY - READ_SLACK, (
            f"{c.name}: offset {offset} after the worker had read {c.received_at_kill}"
        )
        assert offsets_after_gc[c.name] == offset, (
            f"gc changed the resumable upload {c.name}: offset {offset} -> "
            f"{offsets_after_gc[c.name]}")  # fmt: skip
        assert resumed[c.name][0] == 204, (c.name, resumed[c.name])
    assert not tus_left, f"a finished tus upload left bytes nobody refers to: {tus_left}"
    assert not out.left_after_gc, (
        f"after airlock gc, bytes no File refers to: {out.left_after_gc} "
        f"(right after the crash: {left_after_crash}; before gc: {out.left_before_gc}); "
        f"gc said: {gc_output.strip()}"
    )


def file_json(s: LiveServer, file_id: str) -> dict[str, Any]:
    r = requests.get(f"{s.url}/api/v1/files/{file_id}", headers=s.auth("alice"), timeout=30)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@contextlib.contextmanager
def write_lock_held(db: Path) -> Iterator[sqlite3.Connection]:
    """SQLite's write lock on ``db``, taken from outside the server, until the block ends."""
    conn = sqlite3.connect(db, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield conn
        conn.execute("ROLLBACK")
    finally:
        conn.close()


# The scenarios ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_worker_killed_mid_body(site: Site, backend: Backend, kind: str,
                                fault_report: Any) -> None:  # fmt: skip
    acknowledge(site, "before")
    with Background(site.server, site.ledger, "beside") as beside:
        cut = start_interrupted(site, kind)
        wait_received(cut, KILL_AT)
        cut.received_at_kill = cut.upload.received()
        killed = kill_worker(site, cut.upload)
        assert_unanswered(cut)
        left = crash_leftovers(site, [cut])
        wait_replaced(site, killed)
    assert cut.received_at_kill < len(cut.data), "the kill did not land mid-body"
    after_fault(site, [cut], f"kill -9 worker mid-{kind} [{backend.name}]", fault_report, left,
                received_at_kill_MiB=round(cut.received_at_kill / MiB, 2),
                beside_answered=beside.answered)  # fmt: skip


@pytest.mark.parametrize("victim", ["worker", "server"])
def test_killed_during_commit(site: Site, backend: Backend, victim: str,
                              fault_report: Any) -> None:  # fmt: skip
    s = site.server
    acknowledge(site, "before")
    baseline = site.inventory()

    def stored_unreferenced() -> set[str]:
        now = site.inventory()
        return {i for i in now.unreferenced()
                if i.startswith(("files:", "s3:")) and i not in baseline.items}  # fmt: skip

    control_name = f"beside-commit-{secrets.token_hex(4)}.txt"
    control_data = text_bytes(64 * 1024)
    # The body all but its last bytes, so that the worker has done every write it does before
    # the body ends (its writer's registration, the upload's staging) before the lock is taken.
    cut = start_interrupted(site, "put", text_bytes(COMMIT_BODY), hold_back=COMMIT_TAIL)
    up = cut.upload
    wait_until("the server to read the body up to its last bytes", lambda: up.done or
               up.received() == len(cut.data) - COMMIT_TAIL, WAIT)  # fmt: skip
    assert not up.done, (up.status, up.response_body[:300])
    with write_lock_held(s.data_dir / "airlock.db"):
        up.release()
        # The bytes are stored under the File's key: the commit is under way.
        held = wait_until("the upload's bytes to be stored", lambda: up.done or
                          stored_unreferenced(), WAIT)  # fmt: skip
        assert not up.done, ("the server's write did not wait on the held lock; it answered",
                             up.status, up.response_body[:300])  # fmt: skip
        time.sleep(SETTLE)
        assert not up.done, ("the server's write did not wait on the held lock; it answered",
                             up.status, up.response_body[:300])  # fmt: skip
        assert up.sent == len(cut.data) and up.received() == len(cut.data)
        # Another upload comes to wait on the same lock, then the waiting worker dies.
        site.ledger.in_doubt.add(control_name)
        waiting_pid = up.serving_pid(s.worker_pids())
        control = on_another_worker(
            lambda: slow_put(s, control_name, control_data, pause=0), waiting_pid, s.worker_pids
        )
        site.uploads.append(control)
        wait_until("the second upload to be sent", lambda: control.done or
                   control.sent == len(control_data), WAIT)  # fmt: skip
        control_pid = control.serving_pid(s.worker_pids())
        time.sleep(SETTLE)
        assert not control.done, ("a second write did not wait on the held lock",
                                  control.status, control.response_body[:300])  # fmt: skip
        cut.received_at_kill = up.received()
        if victim == "worker":
            killed = kill_worker(site, up)
            shared = control_pid == killed
        else:  # the whole server: the upload beside dies with it
            kill_server(site)
            shared = True
    assert_unanswered(cut)
    control.finish(WAIT)
    if control.status == 201:
        site.ledger.in_doubt.discard(control_name)
        site.ledger.add(_json(control), control_name, control_data)
    else:
        assert shared and control.status is None, (
            "the upload beside the commit",
            control.status,
            control.response_body[:300],
        )
    left = crash_leftovers(site, [cut])
    if victim == "worker":
        wait_replaced(site, killed)
    else:
        site.restart()
        assert_alive(site.server)
    after_fault(
        site,
        [cut],
        f"kill -9 {victim} during commit [{backend.name}]",
        fault_report,
        left,
        objects_stored_at_kill=len(held),
        beside_answered=int(control.status == 201),
    )


def test_server_killed_mid_upload(site: Site, backend: Backend, fault_report: Any) -> None:
    acknowledge(site, "before")
    with Background(site.server, site.ledger, "beside") as beside:
        cuts = [start_interrupted(site, kind) for kind in KINDS]
        for cut in cuts:
            wait_received(cut, KILL_AT)
        for cut in cuts:
            cut.received_at_kill = cut.upload.received()
        kill_server(site)
        for cut in cuts:
            assert_unanswered(cut)
    left = crash_leftovers(site, cuts)
    site.restart()
    assert_alive(site.server)
    assert all(c.received_at_kill < len(c.data) for c in cuts), "the kill did not land mid-body"
    after_fault(site, cuts, f"kill -9 whole server mid-upload [{backend.name}]", fault_report, left,
                received_at_kill_MiB={c.kind: round(c.received_at_kill / MiB, 2) for c in cuts},
                beside_answered=beside.answered)  # fmt: skip


def kill_server(site: Site) -> None:
    """kill -9 the server's whole process group (master and workers), until all are gone."""
    proc = site.server.proc
    assert proc is not None
    group = [proc.pid, *site.server.worker_pids()]
    os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(WAIT)
    assert proc.poll() is not None
    wait_until("the killed server's processes to be gone",
               lambda: not any(_running(p) for p in group), WAIT)  # fmt: skip


def _json(up: SlowUpload) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(up.response_body)
    return body
