"""Two ``airlock serve`` instances with separate data dirs, one PostgreSQL database and one S3
bucket (SeaweedFS), behind HAProxy round robin with no stickiness: they act as one for uploads,
downloads, browser sessions, share-link download counts, gc and migrations. (tus uploads still
stage on the disk of the instance that takes them, so they are not part of this yet.)"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import reset_pg
from tests.support.haproxy import HAProxy
from tests.support.server import AIRLOCK, LiveServer

pytestmark = [pytest.mark.postgres, pytest.mark.s3]


@dataclass
class Cluster:
    a: LiveServer
    b: LiveServer
    lb: HAProxy
    env: dict[str, str]
    pg_url: str

    @property
    def url(self) -> str:
        return self.lb.url

    def auth(self) -> dict[str, str]:
        return self.a.auth("alice")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, pg_url: str, s3_server: Any) -> Iterator[Cluster]:
    reset_pg(pg_url)  # an empty database: both instances start at once and migrate it
    root = tmp_path_factory.mktemp("two")
    bucket = s3_server.create_bucket("two-instances")
    env = {**s3_server.env(bucket), "AIRLOCK_DATABASE_URL": pg_url}
    a, b = LiveServer(root / "a", env=env), LiveServer(root / "b", env=env)
    errors: list[BaseException] = []

    def start(live: LiveServer) -> None:
        try:
            live.start()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lb = None
    try:
        assert not errors, errors
        a.add_user("alice")
        b.tokens = a.tokens
        lb = HAProxy(root / "haproxy", [f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"]).start()
        yield Cluster(a, b, lb, env, pg_url)
    finally:
        if lb is not None:
            lb.stop()
        a.stop()
        b.stop()


def test_both_started_at_once_migrated_the_database_once(cluster: Cluster) -> None:
    engine = sa.create_engine(cluster.pg_url)
    try:
        with engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    finally:
        engine.dispose()
    assert len(versions) == 1
    for live in (cluster.a, cluster.b):
        assert requests.get(live.url + "/readyz", timeout=10).status_code == 200


def test_any_instance_serves_what_another_stored(cluster: Cluster) -> None:
    data = b"stored through one instance, read through the other\n" * 1000
    r = requests.put(cluster.a.url + "/api/v1/files/shared.txt", data=data,
                     headers=cluster.auth(), timeout=30)  # fmt: skip
    assert r.status_code == 201, r.text
    content = r.json()["links"]["content"]
    got = requests.get(cluster.b.url + content, headers=cluster.auth(), timeout=30)
    assert got.status_code == 200 and got.content == data
    assert not (cluster.a.data_dir / "files").exists()  # the bytes are in the bucket
    for _ in range(4):  # and through the balancer, whichever instance answers
        r = requests.get(cluster.url + content, headers=cluster.auth(), timeout=30)
        assert r.status_code == 200 and r.content == data


def test_a_browser_session_works_on_both(cluster: Cluster) -> None:
    session = requests.Session()
    r = session.post(cluster.url + "/api/v1/session",
                     json={"username": "alice", "password": "correct horse battery"}, timeout=10)
    assert r.status_code == 200, r.text
    csrf = r.json()["csrf_token"]
    for live in (cluster.a, cluster.b):  # the cookie was set by one of them
        me = session.get(live.url + "/api/v1/me", timeout=10)
        assert me.status_code == 200 and me.json()["username"] == "alice"
        made = session.post(live.url + "/api/v1/tokens", json={"name": "from the browser"},
                            headers={"X-CSRF-Token": csrf}, timeout=10)  # fmt: skip
        assert made.status_code == 201, made.text
    out = session.delete(cluster.a.url + "/api/v1/session", headers={"X-CSRF-Token": csrf},
                         timeout=10)  # fmt: skip
    assert out.status_code in (200, 204)
    assert session.get(cluster.b.url + "/api/v1/me", timeout=10).status_code == 401


def test_sign_in_failures_count_on_both_instances(cluster: Cluster) -> None:
    """The sign-in limit (10 failures per user name per window, the default) is one count in
    the database: failures spread over both instances lock the name out on both."""
    attempts = 10
    for i in range(attempts):
        live = (cluster.a, cluster.b)[i % 2]
        r = requests.post(live.url + "/api/v1/session", timeout=10,
                          json={"username": "guessed", "password": f"wrong {i}"})  # fmt: skip
        assert r.status_code == 401, (i, r.status_code, r.text)
    for live in (cluster.a, cluster.b):
        r = requests.post(live.url + "/api/v1/session", timeout=10,
                          json={"username": "guessed", "password": "one more"})  # fmt: skip
        assert r.status_code == 429, r.text
        assert r.json()["error"]["code"] == "rate_limited" and int(r.headers["Retry-After"]) > 0
    other = requests.post(cluster.b.url + "/api/v1/session", timeout=10,
                          json={"username": "alice", "password": "correct horse battery"})
    assert other.status_code == 200, "another name is not locked out"


def test_a_share_link_counts_downloads_across_instances(cluster: Cluster) -> None:
    r = requests.put(cluster.url + "/api/v1/files/counted.txt", data=b"five downloads only\n",
                     headers=cluster.auth(), timeout=30)  # fmt: skip
    assert r.status_code == 201, r.text
    link = requests.post(cluster.url + r.json()["links"]["self"] + "/links",
                         json={"expires_in": 3600, "max_downloads": 5}, headers=cluster.auth(),
                         timeout=10).json()["url"]  # fmt: skip

    def fetch(_: int) -> int:
        with requests.Session() as s:  # a new connection each: round robin spreads them
            return s.get(cluster.url + link, timeout=30).status_code

    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(fetch, range(50)))
    assert statuses.count(200) == 5, statuses
    assert statuses.count(410) == 45, statuses


def test_gc_on_both_at_once_removes_each_thing_once(cluster: Cluster) -> None:
    live_file = requests.put(cluster.url + "/api/v1/files/keep.txt", data=b"keep me\n",
                             headers=cluster.auth(), timeout=30).json()  # fmt: skip
    for i in range(6):
        r = requests.put(cluster.url + f"/api/v1/files/brief-{i}.txt?expires_in=1",
                         data=b"gone soon\n", headers=cluster.auth(), timeout=30)  # fmt: skip
        assert r.status_code == 201, r.text
    time.sleep(1.5)
    procs = [subprocess.Popen(
        [*AIRLOCK, "--data-dir", str(live.data_dir), "gc"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, **cluster.env},
    ) for live in (cluster.a, cluster.b)]  # fmt: skip
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    removed = [int(re.search(r"expired files removed: (\d+)", out).group(1))  # type: ignore[union-attr]
               for out, _err in outs]  # fmt: skip
    assert sum(removed) == 6, outs
    got = requests.get(cluster.url + live_file["links"]["content"], headers=cluster.auth(),
                       timeout=10)  # fmt: skip
    assert got.status_code == 200 and got.content == b"keep me\n"


def test_tus_patches_alternating_between_instances_make_one_file(cluster: Cluster) -> None:
    """PATCHes sent to the two instances in turn (and HEADs through the balancer): tus uploads
    stage in the bucket, so either instance appends, and the last one makes the File."""
    chunk = 6 * 1024 * 1024
    line = b"bytes of a resumable upload that crosses instances\n"
    data = (line * (4 * chunk // len(line) + 1))[: 4 * chunk + 12345]
    tus = {**cluster.auth(), "Tus-Resumable": "1.0.0"}
    created = requests.post(cluster.url + "/api/v1/tus/", timeout=10, headers={
        **tus, "Upload-Length": str(len(data)),
        "Upload-Metadata": "filename " + base64.b64encode(b"crossing.txt").decode()})  # fmt: skip
    assert created.status_code == 201, created.text
    path = created.headers["Location"]
    last = None
    for n, offset in enumerate(range(0, len(data), chunk)):
        instance = (cluster.a, cluster.b)[n % 2]
        body = data[offset : offset + chunk]
        last = requests.patch(instance.url + path, data=body, timeout=60, headers={
            **tus, "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream"})  # fmt: skip
        assert last.status_code == 204, last.text
        if offset + len(body) < len(data):
            with requests.Session() as s:
                head = s.head(cluster.url + path, headers=tus, timeout=10)
            assert head.headers["Upload-Offset"] == str(offset + len(body))
    assert last is not None
    file_id = last.headers["Upload-File-Id"]
    got = requests.get(f"{cluster.b.url}/api/v1/files/{file_id}", headers=cluster.auth(),
                       timeout=10).json()  # fmt: skip
    assert got["size"] == len(data) and got["sha256"] == hashlib.sha256(data).hexdigest()
    for live in (cluster.a, cluster.b):
        staging = live.data_dir / "staging"
        assert not staging.exists() or not any(staging.iterdir())


def _tus_patches(live: LiveServer) -> float:
    """How many tus PATCHes this instance has answered (from its /metrics)."""
    text = requests.get(live.url + "/metrics", timeout=10).text
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
        if line.startswith("airlock_request_seconds_count") and 'method="PATCH"' in line
        and "/tus/" in line
    )  # fmt: skip


def test_real_tus_clients_through_the_balancer(cluster: Cluster, tmp_path: Path) -> None:
    from tests.e2e.test_tus_clients import js_upload, succeeded, text_payload, tuspy_client

    before = (_tus_patches(cluster.a), _tus_patches(cluster.b))
    data = text_payload(11, 3 * 2**20)
    path = tmp_path / "through-haproxy.txt"
    path.write_bytes(data)
    js_id = succeeded(js_upload(cluster.url, cluster.a, path, chunkSize=256 * 1024))
    uploader = tuspy_client(cluster.url, cluster.a).uploader(
        file_stream=io.BytesIO(data), chunk_size=256 * 1024, metadata={"filename": "tuspy.txt"})
    uploader.upload()
    py_id = uploader.request.response_headers.get("upload-file-id")
    for file_id in (js_id, py_id):
        got = requests.get(f"{cluster.url}/api/v1/files/{file_id}", headers=cluster.auth(),
                           timeout=10).json()  # fmt: skip
        assert got["sha256"] == hashlib.sha256(data).hexdigest(), got
    after = (_tus_patches(cluster.a), _tus_patches(cluster.b))
    assert after[0] > before[0] and after[1] > before[1], (before, after)  # both took PATCHes


def test_killed_instance_mid_patch_the_other_finishes_the_upload(cluster: Cluster) -> None:
    """Last in this module: it kills instance a (the fixture's teardown copes)."""
    total, before_kill = 40 * 2**20, 24 * 2**20
    line = b"a long tus PATCH to an instance that is about to die\n"
    data = (line * (total // len(line) + 1))[:total]
    tus = {**cluster.auth(), "Tus-Resumable": "1.0.0"}
    created = requests.post(cluster.b.url + "/api/v1/tus/", timeout=10, headers={
        **tus, "Upload-Length": str(total),
        "Upload-Metadata": "filename " + base64.b64encode(b"survivor.txt").decode()})  # fmt: skip
    path = created.headers["Location"]
    sent = threading.Event()

    def body() -> Iterator[bytes]:
        for start in range(0, before_kill, 2**20):
            yield data[start : start + 2**20]
        sent.set()
        time.sleep(30)
        yield b""

    def patch() -> None:
        try:
            requests.patch(cluster.a.url + path, data=body(), timeout=40, headers={
                **tus, "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream"})  # fmt: skip
        except requests.RequestException:
            pass

    t = threading.Thread(target=patch, daemon=True)
    t.start()
    assert sent.wait(60)
    time.sleep(1.0)
    assert cluster.a.proc is not None
    os.killpg(cluster.a.proc.pid, signal.SIGKILL)  # the whole instance, master and workers
    head = requests.head(cluster.b.url + path, headers=tus, timeout=30)
    offset = int(head.headers["Upload-Offset"])
    assert before_kill - 8 * 2**20 <= offset <= before_kill, offset  # at most 8 MiB to resend
    deadline, done = time.monotonic() + 30, None
    while time.monotonic() < deadline:
        done = requests.patch(cluster.b.url + path, data=data[offset:], timeout=60, headers={
            **tus, "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream"})  # fmt: skip
        if done.status_code != 409:
            break
        time.sleep(0.5)  # the dead instance's lease has not lapsed yet
    assert done is not None and done.status_code == 204, (done.status_code, done.text)
    got = requests.get(f"{cluster.b.url}/api/v1/files/{done.headers['Upload-File-Id']}",
                       headers=cluster.auth(), timeout=10).json()  # fmt: skip
    assert got["size"] == total and got["sha256"] == hashlib.sha256(data).hexdigest()
