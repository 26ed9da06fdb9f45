"""Malware scanning against a real clamd (tests/support/clamd.py): infected uploads refused on
every way in, the scanner's outages failing closed (``required``) or open (``optional``), and
the scanner in readiness, ``airlock check`` and the metrics. On local storage and on S3."""

from __future__ import annotations

import base64
import os
import secrets
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.e2e.conftest import Backend
from tests.support import samples
from tests.support.clamd import EICAR, EICAR_SIGNATURE, HASHED_SAMPLE, HASHED_SIGNATURE, Clamd
from tests.support.server import AIRLOCK, LiveServer

BACKENDS = ("local", "s3")
TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture(scope="module")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clamd]:
    daemon = Clamd(tmp_path_factory.mktemp("clamd")).start()
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture
def running(clamd: Clamd) -> Iterator[Clamd]:
    """clamd up for this test, and up again after it whatever the test did to it."""
    if clamd.proc is None:
        clamd.start()
    yield clamd
    if clamd.proc is None:
        clamd.start()
    else:
        clamd.resume()


def _serving(tmp_path_factory: pytest.TempPathFactory, backend: Backend, clamd: Clamd,
             mode: str) -> Iterator[LiveServer]:  # fmt: skip
    env = {"AIRLOCK_SCAN": mode, "AIRLOCK_CLAMD": clamd.url, "AIRLOCK_SCAN_TIMEOUT": "3"}
    live = backend.server(tmp_path_factory.mktemp(f"scan-{mode}") / "data", env=env)
    try:
        live.add_user("alice", admin=True)
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def required(tmp_path_factory: pytest.TempPathFactory, backend: Backend,
             clamd: Clamd) -> Iterator[LiveServer]:  # fmt: skip
    yield from _serving(tmp_path_factory, backend, clamd, "required")


@pytest.fixture(scope="module")
def optional(tmp_path_factory: pytest.TempPathFactory, backend: Backend,
             clamd: Clamd) -> Iterator[LiveServer]:  # fmt: skip
    yield from _serving(tmp_path_factory, backend, clamd, "optional")


def file_names(server: LiveServer) -> list[str]:
    r = requests.get(server.url + "/api/v1/files?limit=500", headers=server.auth("alice"),
                     timeout=10)  # fmt: skip
    return [f["name"] for f in r.json()["files"]]


def post_files(server: LiveServer, *files: tuple[str, bytes]) -> requests.Response:
    return requests.post(server.url + "/api/v1/files", headers=server.auth("alice"),
                         files=[("file", f) for f in files], timeout=60)  # fmt: skip


def assert_infected(r: requests.Response, signature: str = EICAR_SIGNATURE) -> None:
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "malware_detected", r.text
    assert error["details"]["signature"].startswith(signature), r.text


def test_a_clean_file_is_stored(required: LiveServer, running: Clamd) -> None:
    r = post_files(required, ("clean.txt", b"nothing to see here\n"))
    assert r.status_code == 201, r.text


def test_eicar_through_multipart_is_refused_and_nothing_stays(required: LiveServer,
                                                              running: Clamd) -> None:  # fmt: skip
    before = file_names(required)
    assert_infected(post_files(required, ("eicar.txt", EICAR)))
    assert file_names(required) == before


def test_eicar_through_put(required: LiveServer, running: Clamd) -> None:
    r = requests.put(required.url + "/api/v1/files/eicar-put.txt", data=EICAR,
                     headers=required.auth("alice"), timeout=30)  # fmt: skip
    assert_infected(r)
    assert "eicar-put.txt" not in file_names(required)


def test_eicar_through_tus(required: LiveServer, running: Clamd) -> None:
    headers = {**TUS, **required.auth("alice")}
    meta = "filename " + base64.b64encode(b"eicar-tus.txt").decode()
    created = requests.post(required.url + "/api/v1/tus/", timeout=10, headers={
        **headers, "Upload-Length": str(len(EICAR)), "Upload-Metadata": meta})  # fmt: skip
    assert created.status_code == 201, created.text
    url = required.url + created.headers["Location"]
    r = requests.patch(url, data=EICAR, timeout=30, headers={
        **headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert_infected(r)
    assert requests.head(url, headers=headers, timeout=10).status_code == 404
    assert "eicar-tus.txt" not in file_names(required)


@pytest.mark.s3
def test_eicar_through_a_direct_upload(tmp_path_factory: pytest.TempPathFactory, s3_server: Any,
                                       clamd: Clamd) -> None:  # fmt: skip
    """Direct uploads need S3 storage: one server of its own, whatever the module's backend."""
    if clamd.proc is None:
        clamd.start()
    bucket = s3_server.create_bucket("scan-direct")
    live = Backend("s3", dict(s3_server.env(bucket)), s3_server, bucket).server(
        tmp_path_factory.mktemp("scan-direct") / "data",
        env={"AIRLOCK_SCAN": "required", "AIRLOCK_CLAMD": clamd.url,
             "AIRLOCK_DIRECT_UPLOADS": "true"},
    )  # fmt: skip
    try:
        live.add_user("alice")
        auth = live.auth("alice")
        presigned = requests.post(live.url + "/api/v1/uploads/presign", headers=auth,
                                  json={"name": "eicar-direct.txt", "size": len(EICAR)},
                                  timeout=10).json()  # fmt: skip
        sent = requests.post(presigned["url"], data=presigned["fields"],
                             files={"file": ("blob", EICAR)}, timeout=30)  # fmt: skip
        assert sent.status_code in (200, 201, 204), sent.text  # the store's own answer
        done = requests.post(f"{live.url}/api/v1/uploads/{presigned['upload_id']}/complete",
                             headers=auth, timeout=60)  # fmt: skip
        assert_infected(done)
        assert "eicar-direct.txt" not in file_names(live)
    finally:
        live.stop()


def test_eicar_inside_a_zip_is_found(required: LiveServer, running: Clamd) -> None:
    for stored in (True, False):  # clamd opens the archive itself, deflated or not
        archive = samples.zip_of({"readme.txt": b"hello\n", "notes/eicar.txt": EICAR}, stored)
        assert_infected(post_files(required, (f"bundle-{stored}.zip", archive)))


def test_a_hash_signature_is_found_too(required: LiveServer, running: Clamd) -> None:
    assert_infected(post_files(required, ("hashed.txt", HASHED_SAMPLE)), HASHED_SIGNATURE)


def test_eicar_beside_a_good_png_in_one_request(required: LiveServer, running: Clamd) -> None:
    r = post_files(required, ("good.png", samples.png(8, 8)), ("bad.txt", EICAR))
    assert r.status_code == 201, r.text
    body = r.json()
    assert [f["name"] for f in body["files"]] == ["good.png"]
    (rejected,) = body["rejected"]
    assert rejected["name"] == "bad.txt"
    assert rejected["error"]["code"] == "malware_detected"


def test_required_fails_closed_when_clamd_is_down(required: LiveServer, running: Clamd) -> None:
    running.stop()
    r = post_files(required, ("while-down.txt", b"harmless, but unscanned\n"))
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "scanner_unavailable"
    assert "while-down.txt" not in file_names(required)
    ready = requests.get(required.url + "/readyz", timeout=10)
    assert ready.status_code == 503 and ready.json()["checks"]["scanner"] == "unavailable"


def test_optional_stores_when_clamd_is_down(optional: LiveServer, running: Clamd) -> None:
    assert_infected(post_files(optional, ("eicar.txt", EICAR)))  # up: it still scans
    running.stop()
    r = post_files(optional, ("unscanned.txt", b"stored without a scan\n"))
    assert r.status_code == 201, r.text
    ready = requests.get(optional.url + "/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json()["checks"]["scanner"] == "skipped"
    assert "scan of 'unscanned.txt' skipped" in optional.log()


def test_a_hanging_clamd_is_waited_for_a_bounded_time(required: LiveServer,
                                                      running: Clamd) -> None:  # fmt: skip
    running.pause()  # AIRLOCK_SCAN_TIMEOUT=3: each wait on it gives up after 3 s
    started = time.monotonic()
    r = post_files(required, ("while-frozen.txt", b"x" * 100_000))
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "scanner_unavailable"
    assert time.monotonic() - started < 60, "the wait on a frozen clamd must be bounded"
    running.resume()
    assert post_files(required, ("after-thaw.txt", b"fine again\n")).status_code == 201


def test_clamd_killed_mid_scan(required: LiveServer, running: Clamd) -> None:
    """clamd dies while a large upload streams into it: no verdict, so 503, nothing stored."""
    chunk = b"harmless line of text that goes on and on\n" * 24_000  # about 1 MiB

    def body() -> Iterator[bytes]:
        for i in range(40):
            if i == 10:
                running.stop()  # mid-stream, the scan's connection dies with it
            yield chunk

    r = requests.put(required.url + "/api/v1/files/killed-mid-scan.txt", data=body(),
                     headers=required.auth("alice"), timeout=120)  # fmt: skip
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "scanner_unavailable"
    assert "killed-mid-scan.txt" not in file_names(required)


def test_check_readyz_and_metrics_report_the_scanner(required: LiveServer,
                                                     running: Clamd) -> None:  # fmt: skip
    ready = requests.get(required.url + "/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json()["checks"]["scanner"] == "ok"
    env = {**required.env}
    checked = subprocess.run([*AIRLOCK, "--data-dir", str(required.data_dir), "check"],
                             env={**os.environ, **env}, capture_output=True, text=True,
                             timeout=120)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ClamAV 1.4" in checked.stdout and "required scanning" in checked.stdout
    metrics = requests.get(required.url + "/metrics", timeout=10).text
    assert 'airlock_scans_total{outcome="infected"}' in metrics
    assert "airlock_scan_seconds_count" in metrics
    running.stop()
    down = subprocess.run([*AIRLOCK, "--data-dir", str(required.data_dir), "check"],
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert down.returncode != 0
    assert "every upload is refused" in down.stdout + down.stderr


def test_eicar_at_the_end_of_a_slow_body(required: LiveServer, running: Clamd) -> None:
    """A body that arrives in pieces, with pauses, is scanned whole: EICAR in its last one."""
    pieces = [b"padding line\n" * 5000] * 5 + [EICAR]

    def body() -> Iterator[bytes]:
        for piece in pieces:
            time.sleep(0.2)
            yield piece

    r = requests.put(required.url + "/api/v1/files/slow.txt", data=body(),
                     headers=required.auth("alice"), timeout=60)  # fmt: skip
    assert_infected(r)



def test_rescan_quarantines_a_file_stored_before_its_signature_existed(
    required: LiveServer, running: Clamd
) -> None:
    auth = required.auth("alice")
    sample = f"stored before anyone knew it was bad ({secrets.token_hex(8)})\n".encode()
    stored = post_files(required, ("late.txt", sample))
    assert stored.status_code == 201, stored.text
    file_id = stored.json()["files"][0]["id"]
    made = requests.patch(f"{required.url}/api/v1/files/{file_id}", json={"visibility": "public"},
                          headers=auth, timeout=10).json()  # fmt: skip
    link = requests.post(f"{required.url}/api/v1/files/{file_id}/links", json={"expires_in": 600},
                         headers=auth, timeout=10).json()["url"]  # fmt: skip
    running.add_signature("Airlock.Test.Late", sample)
    running.stop()
    running.start()
    run = subprocess.run([*AIRLOCK, "--data-dir", str(required.data_dir), "rescan", "--rate", "0"],
                         env={**os.environ, **required.env}, capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"quarantined {file_id} 'late.txt': Airlock.Test.Late" in run.stdout
    assert "0 could not be scanned" in run.stdout
    info = requests.get(f"{required.url}/api/v1/files/{file_id}", headers=auth, timeout=10)
    assert info.status_code == 200
    assert info.json()["quarantine"]["reason"].startswith("Airlock.Test.Late")
    for url, headers in ((f"/api/v1/files/{file_id}/content", auth), (made["links"]["public"], {}),
                         (link, {})):  # fmt: skip
        r = requests.get(required.url + url, headers=headers, timeout=10)
        assert r.status_code == 410, (url, r.status_code)
        assert r.headers.get("Content-Type", "").startswith(("application/json", "text/html"))
        assert sample not in r.content
    # gc's expiry passes it by: it stays for an admin to decide.
    past = requests.patch(f"{required.url}/api/v1/files/{file_id}", headers=auth, timeout=10,
                          json={"expires_at": "2000-01-01T00:00:00Z"})  # fmt: skip
    assert past.status_code == 200, past.text
    gc = subprocess.run([*AIRLOCK, "--data-dir", str(required.data_dir), "gc"],
                        env={**os.environ, **required.env}, capture_output=True, text=True,
                        timeout=300)  # fmt: skip
    assert gc.returncode == 0, gc.stderr
    with sqlite3.connect(required.data_dir / "airlock.db") as db:
        row = db.execute("SELECT quarantine_reason FROM files WHERE id = ?", (file_id,)).fetchone()
    assert row is not None and row[0].startswith("Airlock.Test.Late")
    # A second rescan does not scan it again.
    again = subprocess.run([*AIRLOCK, "--data-dir", str(required.data_dir), "rescan",
                            "--since", "2100-01-01"], env={**os.environ, **required.env},
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert again.returncode == 0 and "rescanned 0 files" in again.stdout, again.stdout
