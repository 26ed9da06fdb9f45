"""The database goes away under a running ``airlock serve`` and comes back.

* **PostgreSQL restarts under load.** A private cluster (``tests.support.pgcluster``; the
  machine's shared server on 5432 is never touched) is stopped and started again while a few
  threads upload (multipart and PUT), list and download. No request is answered ``500``; every
  ``503`` is API.md's envelope with ``Retry-After``; the pool recovers by itself (same workers,
  no restart of Airlock); every acknowledged upload is listed with its SHA-256 and downloads
  byte for byte; no upload that got an error is listed; storage holds exactly the bytes of the
  listed Files, and nothing is left in staging, before and after ``airlock gc``.
* **SQLite's filesystem turns read-only** (see ``read_only_fs`` for how) while a server runs
  on it: uploads are refused with ``503`` and the envelope, listing, downloads and ``/healthz``
  keep working; once it is writable again uploads work with no restart, and nothing is
  half-applied.
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from tests.support.pgcluster import PgCluster
from tests.support.rofs import ReadOnlySwitch
from tests.support.server import LiveServer, cli

# API.md's error codes: a 503 must carry one of them in the envelope.
API_CODES = frozenset({
    "bad_request", "malformed_multipart", "no_file", "unauthorized", "forbidden", "not_found",
    "method_not_allowed", "conflict", "gone", "precondition_failed", "too_large",
    "type_not_allowed", "unsupported_media_type", "content_mismatch", "empty_file",
    "malware_detected", "unsafe_content", "rate_limited", "checksum_mismatch", "internal_error",
    "scanner_unavailable", "quota_exceeded", "storage_full",
})  # fmt: skip
# Words that would mean the database's own text reached the client.
INTERNAL_WORDS = ("psycopg", "sqlite", "sqlalchemy", "traceback", "select ", "insert ", "/tmp/")
RECOVERY_BOUND = 30.0  # seconds within which uploads must succeed again


# The load -------------------------------------------------------------------------------------


@dataclass
class Upload:
    name: str
    data: bytes
    file_id: str | None = None  # set once acknowledged (2xx)
    status: int | None = None  # the answer's status; None: no answer at all


@dataclass
class Load:
    """A bounded mixed load from a few threads against one server and user, and everything it
    saw: statuses by operation, the uploads, and what was wrong with any answer."""

    server: LiveServer
    user: str = "alice"
    threads: int = 4
    uploads: list[Upload] = field(default_factory=list)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    no_answer: Counter[str] = field(default_factory=Counter)
    # (started, finished, operation, status) of every answered request, time.monotonic()
    timeline: list[tuple[float, float, str, int]] = field(default_factory=list)
    # (started, operation, status, message) of every error answer
    errors: list[tuple[float, str, int, str]] = field(default_factory=list)
    downloads_checked: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)

    def start(self, threads: int | None = None) -> Load:
        """Start ``threads`` (default ``self.threads``) more load threads."""
        for _ in range(self.threads if threads is None else threads):
            n = len(self._workers)
            t = threading.Thread(target=self._run, args=(n,), name=f"load-{n}", daemon=True)
            t.start()
            self._workers.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._workers:
            t.join(60)
        assert not any(t.is_alive() for t in self._workers), "a load thread hung"

    def acknowledged(self) -> list[Upload]:
        with self._lock:
            return [u for u in self.uploads if u.file_id is not None]

    def refused(self) -> list[Upload]:
        with self._lock:
            return [u for u in self.uploads if u.file_id is None and u.status is not None]

    def by_status(self) -> dict[int, int]:
        out: Counter[int] = Counter()
        for (_, status), n in self.statuses.items():
            out[status] += n
        return dict(sorted(out.items()))

    def clean(self, window: float, least: int = 5) -> bool:
        """Whether the uploads asked in the last ``window`` seconds (at least ``least`` of
        them) were all acknowledged: the server takes uploads again."""
        since = time.monotonic() - window
        with self._lock:
            recent = [st for s, _, op, st in self.timeline if s >= since and op in ("post", "put")]
        return len(recent) >= least and all(200 <= st < 300 for st in recent)

    # One thread -------------------------------------------------------------------------------

    def _run(self, n: int) -> None:
        rng = random.Random(n)
        auth = self.server.auth(self.user)
        count = 0
        with requests.Session() as http:
            while not self._stop.is_set():
                count += 1
                op = rng.choice(("post", "put", "post", "put", "list", "get"))
                if op == "get" and not self.acknowledged():
                    op = "list"
                try:
                    if op in ("post", "put"):
                        self._upload(http, auth, op, f"{op}-{n}-{count}.txt", rng)
                    elif op == "list":
                        self._call(http, "list", "GET", "/api/v1/files?limit=20", auth)
                    else:
                        self._download(http, auth, rng)
                except requests.RequestException as exc:
                    with self._lock:
                        self.no_answer[op] += 1
                        self.problems.append(f"{op}: no answer: {exc!r}")
                    http.close()

    def _call(self, http: requests.Session, op: str, method: str, path: str,
              auth: dict[str, str], **kwargs: Any) -> requests.Response:  # fmt: skip
        started = time.monotonic()
        r = http.request(method, self.server.url + path, headers=auth, timeout=30, **kwargs)
        finished = time.monotonic()
        problem = answer_problem(r)
        with self._lock:
            self.statuses[(op, r.status_code)] += 1
            self.timeline.append((started, finished, op, r.status_code))
            if r.status_code >= 300:
                self.errors.append((started, op, r.status_code, r.text[:200]))
            if problem:
                self.problems.append(f"{op} {path[:60]}: {problem}")
        return r

    def _upload(self, http: requests.Session, auth: dict[str, str], op: str, name: str,
                rng: random.Random) -> None:  # fmt: skip
        # Unique bytes (a random text) for each upload, so each stored object names its File.
        data = (secrets.token_hex(rng.randint(256, 8192)) + "\n").encode()
        upload = Upload(name, data)
        with self._lock:
            self.uploads.append(upload)
        if op == "post":
            r = self._call(http, op, "POST", "/api/v1/files", auth,
                           files={"file": (name, data, "text/plain")})  # fmt: skip
        else:
            r = self._call(http, op, "PUT", f"/api/v1/files/{name}", auth, data=data)
        upload.status = r.status_code
        if r.status_code in (200, 201):
            body = r.json()
            record = body["files"][0] if op == "post" else body
            if op == "post" and (len(body["files"]) != 1 or body["rejected"]):
                self._problem(f"{name}: unexpected multipart answer {body}")
            if record["sha256"] != hashlib.sha256(data).hexdigest() or record["size"] != len(data):
                self._problem(f"{name}: acknowledged with the wrong sha256 or size")
            upload.file_id = record["id"]

    def _download(self, http: requests.Session, auth: dict[str, str], rng: random.Random) -> None:
        upload = rng.choice(self.acknowledged())
        r = self._call(http, "get", "GET", f"/api/v1/files/{upload.file_id}/content", auth)
        if r.status_code == 200:
            with self._lock:
                self.downloads_checked += 1
            if r.content != upload.data:
                self._problem(f"{upload.name}: downloaded bytes differ")

    def _problem(self, text: str) -> None:
        with self._lock:
            self.problems.append(text)


def answer_problem(r: requests.Response) -> str | None:
    """What is wrong with an answer during an outage, or None. Allowed: 2xx, and 503 (or
    ``507 storage_full``) in API.md's envelope with an integer ``Retry-After`` (503) and no
    internal text."""
    if 200 <= r.status_code < 300:
        return None
    if r.status_code not in (503, 507):
        return f"status {r.status_code}: {r.text[:300]}"
    try:
        body = r.json()
        error = body["error"]
        ok = (set(error) == {"code", "message", "details"} and error["code"] in API_CODES
              and isinstance(error["message"], str) and isinstance(error["details"], dict))
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        return f"{r.status_code} without API.md's envelope: {r.text[:300]}"
    if r.status_code == 507 and error["code"] != "storage_full":
        return f"507 with code {error['code']}"
    text = json.dumps(error).lower()
    if any(word in text for word in INTERNAL_WORDS):
        return f"{r.status_code} carries internal text: {r.text[:300]}"
    if r.status_code == 503 and not r.headers.get("Retry-After", "").isdigit():
        return f"503 without an integer Retry-After: {dict(r.headers)}"
    return None


# What the server holds ------------------------------------------------------------------------


def listed(server: LiveServer, user: str = "alice") -> dict[str, dict[str, Any]]:
    """Every File of ``user`` through the API (all pages): id -> File object."""
    out: dict[str, dict[str, Any]] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        r = requests.get(server.url + "/api/v1/files", params=params, headers=server.auth(user),
                         timeout=30)  # fmt: skip
        assert r.status_code == 200, r.text
        body = r.json()
        out.update({f["id"]: f for f in body["files"]})
        cursor = body.get("next_cursor")
        if not cursor:
            return out


def stored_objects(data_dir: Path) -> dict[str, str]:
    """Every object of local storage (``files/ab/cd/KEY``): key -> SHA-256 of its bytes."""
    root = data_dir / "files"
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file()}  # fmt: skip


def staging_files(data_dir: Path) -> list[str]:
    root = data_dir / "staging"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def file_keys(database_url: str) -> dict[str, tuple[str, str | None, str]]:
    """The ``files`` table: id -> (storage_key, thumbnail_key, sha256), read straight from the
    database (the API does not show storage keys)."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, storage_key, thumbnail_key, sha256 FROM files"))
            return {r.id: (r.storage_key, r.thumbnail_key, r.sha256) for r in rows}
    finally:
        engine.dispose()


@dataclass
class Holdings:
    """How what the server holds compares with what the load was told."""

    lost: list[str]  # acknowledged, not listed
    corrupt: list[str]  # acknowledged, listed with another sha256 or downloading other bytes
    phantom: list[str]  # listed, never acknowledged (an upload answered with an error)
    files_without_bytes: list[str]
    bytes_without_file: list[str]
    wrong_bytes: list[str]  # stored object whose SHA-256 is not its File's
    staging: list[str]


def holdings(server: LiveServer, load_uploads: list[Upload], database_url: str,
             download: bool = True) -> Holdings:  # fmt: skip
    files = listed(server)
    acked = {u.file_id: u for u in load_uploads if u.file_id is not None}
    lost = sorted(u.name for i, u in acked.items() if i not in files)
    corrupt = []
    for file_id, upload in acked.items():
        if file_id not in files:
            continue
        if files[file_id]["sha256"] != hashlib.sha256(upload.data).hexdigest():
            corrupt.append(upload.name)
        elif download:
            r = requests.get(f"{server.url}/api/v1/files/{file_id}/content",
                             headers=server.auth("alice"), timeout=30)  # fmt: skip
            if r.status_code != 200 or r.content != upload.data:
                corrupt.append(upload.name)
    phantom = sorted(files[i]["name"] for i in files if i not in acked)
    rows = file_keys(database_url)
    assert set(rows) == set(files), "the API lists other Files than the database holds"
    objects = stored_objects(server.data_dir)
    keys = {key: row[2] for row in rows.values() for key in row[:2] if key}
    return Holdings(
        lost=lost, corrupt=sorted(corrupt), phantom=phantom,
        files_without_bytes=sorted(k for k in keys if k not in objects),
        bytes_without_file=sorted(k for k in objects if k not in keys),
        wrong_bytes=sorted(k for k, sha in objects.items()
                           if k in keys and not k.endswith("_t") and sha != keys[k]),
        staging=staging_files(server.data_dir),
    )  # fmt: skip


def assert_nothing_half_applied(h: Holdings) -> None:
    assert not h.lost, f"acknowledged uploads not listed: {h.lost}"
    assert not h.corrupt, f"acknowledged uploads listed or served with other bytes: {h.corrupt}"
    assert not h.phantom, f"Files listed whose upload was answered with an error: {h.phantom}"
    assert not h.files_without_bytes, f"Files whose bytes are missing: {h.files_without_bytes}"
    assert not h.bytes_without_file, f"stored bytes no File refers to: {h.bytes_without_file}"
    assert not h.wrong_bytes, f"stored objects holding other bytes: {h.wrong_bytes}"
    assert not h.staging, f"staging files left behind: {h.staging}"


def gc(server: LiveServer) -> dict[str, int]:
    """Run ``airlock gc`` beside the server; its report as numbers."""
    out = cli(server.data_dir, "gc", env=server.env)
    report = {}
    for line in out.splitlines():
        label, _, value = line.rpartition(":")
        if value.strip().isdigit():
            report[label.strip()] = int(value)
    return report


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def put_text(server: LiveServer, name: str, data: bytes) -> requests.Response:
    return requests.put(f"{server.url}/api/v1/files/{name}", data=data,
                        headers=server.auth("alice"), timeout=30)  # fmt: skip


def steady_uploads(server: LiveServer, load: Load, label: str, n: int = 12) -> Counter[int]:
    """``n`` uploads from ``n`` threads at once (so every pooled connection of every worker is
    used), added to ``load.uploads``; their statuses."""
    uploads = [Upload(f"steady-{i}.txt", f"{label} {i}\n".encode()) for i in range(n)]

    def one(upload: Upload) -> None:
        try:
            r = put_text(server, upload.name, upload.data)
        except requests.RequestException:
            return  # status None: counted as no answer below
        upload.status = r.status_code
        if r.status_code == 201:
            upload.file_id = r.json()["id"]

    threads = [threading.Thread(target=one, args=(u,)) for u in uploads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    load.uploads.extend(uploads)
    return Counter(u.status or 0 for u in uploads)


# 1. PostgreSQL restarts under load ------------------------------------------------------------


@pytest.fixture
def pg() -> Iterator[PgCluster]:
    with PgCluster.create() as cluster:
        yield cluster


BEFORE = 3.0  # seconds of load before the restart
DOWN = 1.5  # seconds the server is down (on top of the time its stop and start take)
AFTER = 4.0  # seconds of load at least after it accepts connections again
CLEAN = 2.0  # recovered: every upload asked in this many seconds succeeded


def test_postgres_restart_under_load(pg: PgCluster, tmp_path: Path, fault_report: Any) -> None:
    url = pg.create_database("airlock")
    live = LiveServer(tmp_path / "data", env={"AIRLOCK_DATABASE_URL": url}).start()
    try:
        live.add_user("alice")
        workers = set(live.worker_pids())
        postmaster = pg.pid()

        load = Load(live).start()
        try:
            time.sleep(BEFORE)
            stopped_at, accepting_at = pg.restart(down=DOWN)
            # Load goes on: at least AFTER seconds, and until every upload of the last CLEAN
            # seconds succeeded (bounded).
            recovered = wait_for(
                lambda: time.monotonic() - accepting_at >= AFTER and load.clean(CLEAN),
                timeout=RECOVERY_BOUND,
            )
        finally:
            load.stop()
        assert pg.pid() != postmaster, "the PostgreSQL server process was not restarted"

        answered_after = [t for t in load.timeline if t[0] >= accepting_at]
        first_ok = min((f for s, f, op, st in answered_after
                        if op in ("post", "put") and 200 <= st < 300), default=None)  # fmt: skip
        last_503 = max((f for _, f, _, st in load.timeline if st == 503), default=None)
        by_status = load.by_status()
        acked, refused = load.acknowledged(), load.refused()

        # A steady state again: concurrent uploads all answer 201, whichever pooled connection.
        steady = steady_uploads(live, load, "after the restart")
        assert set(live.worker_pids()) == workers, "a worker died or was replaced"

        h = holdings(live, load.uploads, url)
        report = gc(live)
        after_gc = holdings(live, load.uploads, url, download=False)
        fault_report.record(
            "postgres restart under load",
            requests=sum(by_status.values()), by_status=by_status,
            by_op={f"{op} {st}": n for (op, st), n in sorted(load.statuses.items())},
            uploads_acknowledged=len(acked), uploads_refused=len(refused),
            downloads_verified=load.downloads_checked,
            no_answer=sum(load.no_answer.values()),
            pg_down_s=round(accepting_at - stopped_at, 2),
            first_upload_ok_after_s=None if first_ok is None else round(first_ok - accepting_at, 2),
            last_503_after_s=None if last_503 is None else round(last_503 - accepting_at, 2),
            steady_uploads=dict(steady),
            lost=len(h.lost), corrupt=len(h.corrupt), phantom=len(h.phantom),
            orphan_bytes=len(h.bytes_without_file), files_without_bytes=len(h.files_without_bytes),
            staging_left=len(h.staging), gc_stale_staging=report.get("stale staging files removed"),
            gc_orphans=report.get("orphaned stored objects removed"),
        )  # fmt: skip

        assert not load.problems, "\n".join(load.problems[:20])
        assert by_status.get(500, 0) == 0
        assert not load.no_answer, f"requests with no answer: {dict(load.no_answer)}"
        assert recovered and first_ok is not None, (
            f"no upload succeeded within {RECOVERY_BOUND} s of the restart: {by_status}"
        )
        # The restart was felt (connections were cut under the load) and answered 503.
        assert by_status.get(503, 0) > 0, f"the restart went unnoticed: {by_status}"
        assert set(steady) == {201}, f"concurrent uploads after the restart: {dict(steady)}"
        assert_nothing_half_applied(h)
        assert_nothing_half_applied(after_gc)
    finally:
        live.stop()


# 2. SQLite's filesystem turns read-only ------------------------------------------------------


@pytest.fixture
def read_only_fs(tmp_path: Path) -> Iterator[tuple[ReadOnlySwitch, Path]]:
    """A directory for the SQLite database that can turn read-only under open files, and back:
    a 16 MiB tmpfs (mounted here, root only) seen through ``tests.support.rofs``. Remounting
    the tmpfs itself read-only is what one would try first, but Linux refuses that while a
    file on it is open for writing ("mount point is busy"), and a running Airlock always has
    its database open so; a filesystem that goes read-only by itself under open files (ext4's
    ``errors=remount-ro``) is what the FUSE layer stands for."""
    backing, mount = tmp_path / "db-backing", tmp_path / "db"
    backing.mkdir()
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(backing)], check=True)
    try:
        with ReadOnlySwitch(backing, mount) as fs:
            yield fs, mount
    finally:
        subprocess.run(["umount", "-l", str(backing)], check=True)


WRITABLE = 2.0  # seconds of load before the filesystem turns read-only
READ_ONLY = 3.0  # seconds of load while it is read-only


def test_sqlite_read_only(read_only_fs: tuple[ReadOnlySwitch, Path], tmp_path: Path,
                          fault_report: Any) -> None:  # fmt: skip
    fs, db_dir = read_only_fs
    url = f"sqlite:///{db_dir / 'airlock.db'}"
    live = LiveServer(tmp_path / "data", env={"AIRLOCK_DATABASE_URL": url}).start()
    try:
        live.add_user("alice")
        workers = set(live.worker_pids())
        seeded = [Upload(f"seed-{i}.txt", f"there before {i}\n".encode()) for i in range(3)]
        for upload in seeded:
            r = put_text(live, upload.name, upload.data)
            assert r.status_code == 201, r.text
            upload.file_id, upload.status = r.json()["id"], 201

        # One thread while writable, six while read-only: the servers' pools open connections
        # while the database cannot be written, and keep them for after.
        load = Load(live, threads=1)
        load.uploads.extend(seeded)
        load.start()
        healthz: Counter[int] = Counter()
        try:
            time.sleep(WRITABLE)
            fs.set_read_only(True)
            ro_from = time.monotonic()
            load.start(5)
            while time.monotonic() - ro_from < READ_ONLY:
                healthz[requests.get(live.url + "/healthz", timeout=10).status_code] += 1
                time.sleep(0.2)
            ready_ro = requests.get(live.url + "/readyz", timeout=10).status_code
            ro_until = time.monotonic()
            fs.set_read_only(False)
            fs.stats()
            rw_at = time.monotonic()
            # Load goes on: every upload of the last CLEAN seconds must succeed, with no
            # restart (bounded).
            recovered = wait_for(lambda: time.monotonic() - rw_at >= CLEAN and load.clean(CLEAN),
                                 timeout=RECOVERY_BOUND)  # fmt: skip
            recovered_after = time.monotonic() - rw_at
        finally:
            load.stop()

        # Only what was asked and answered wholly inside the read-only window counts for it.
        inside = [(op, st) for s, f, op, st in load.timeline if s >= ro_from and f <= ro_until]
        ro_uploads = Counter(st for op, st in inside if op in ("post", "put"))
        ro_reads = Counter(st for op, st in inside if op in ("list", "get"))
        after = [(round(s - rw_at, 2), op, st) for s, op, st, _ in load.errors if s >= rw_at]

        # A steady state again: concurrent uploads all answer 201, whichever pooled connection.
        steady = steady_uploads(live, load, "after read-only")
        assert set(live.worker_pids()) == workers, "a worker died or was replaced"

        h = holdings(live, load.uploads, url)
        report = gc(live)
        after_gc = holdings(live, load.uploads, url, download=False)
        by_status = load.by_status()
        fault_report.record(
            "sqlite read-only",
            requests=sum(by_status.values()), by_status=by_status,
            by_op={f"{op} {st}": n for (op, st), n in sorted(load.statuses.items())},
            read_only_uploads=dict(ro_uploads), read_only_reads=dict(ro_reads),
            healthz_while_read_only=dict(healthz), readyz_while_read_only=ready_ro,
            erofs_answers=fs.refused, clean_after_s=round(recovered_after, 2),
            errors_after_rw=len(after),
            uploads_acknowledged=len(load.acknowledged()),
            uploads_refused=len(load.refused()), downloads_verified=load.downloads_checked,
            steady_uploads=dict(steady),
            lost=len(h.lost), corrupt=len(h.corrupt), phantom=len(h.phantom),
            orphan_bytes=len(h.bytes_without_file), files_without_bytes=len(h.files_without_bytes),
            staging_left=len(h.staging), gc_orphans=report.get("orphaned stored objects removed"),
        )  # fmt: skip

        assert fs.errors == 0, "the FUSE server failed requests on a bug of its own"
        assert not load.problems, "\n".join(load.problems[:20])
        assert not load.no_answer, f"requests with no answer: {dict(load.no_answer)}"
        assert by_status.get(500, 0) == 0
        assert fs.refused > 0 and ro_uploads, "nothing tried to write while read-only"
        assert set(ro_uploads) <= {503, 507}, f"uploads while read-only: {dict(ro_uploads)}"
        assert ro_reads and set(ro_reads) == {200}, f"reads while read-only: {dict(ro_reads)}"
        assert set(healthz) == {200}, f"/healthz while read-only: {dict(healthz)}"
        assert recovered, f"uploads did not work again within {RECOVERY_BOUND} s: {after[-20:]}"
        assert set(steady) == {201}, f"concurrent uploads after read-only: {dict(steady)}"
        assert_nothing_half_applied(h)
        assert_nothing_half_applied(after_gc)
    finally:
        live.stop()
