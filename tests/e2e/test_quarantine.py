"""Admins deciding on quarantined Files, against a real ``airlock serve`` and a real clamd
(tests/support/clamd.py): a File is quarantined for real (stored clean, then a signature for it
is added and ``airlock rescan`` runs), then listed and released through the admin API and the
``airlock quarantine`` commands."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.e2e.conftest import Backend, serving
from tests.support.clamd import Clamd
from tests.support.server import AIRLOCK, LiveServer

QUARANTINE = "/api/v1/admin/quarantine"


@pytest.fixture(scope="module")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clamd]:
    daemon = Clamd(tmp_path_factory.mktemp("clamd")).start()
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, backend: Backend,
           clamd: Clamd) -> Iterator[LiveServer]:  # fmt: skip
    """Scanning required; ``alice`` is an admin, ``bob`` owns the Files that get quarantined."""
    env = {"AIRLOCK_SCAN": "required", "AIRLOCK_CLAMD": clamd.url, "AIRLOCK_SCAN_TIMEOUT": "3"}
    yield from serving(tmp_path_factory, backend, "quarantine", env)


def airlock(server: LiveServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AIRLOCK, "--data-dir", str(server.data_dir), *args],
                          env={**os.environ, **server.env}, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def upload(server: LiveServer, name: str, data: bytes, user: str = "bob") -> dict[str, Any]:
    r = requests.put(f"{server.url}/api/v1/files/{name}", data=data, headers=server.auth(user),
                     timeout=30)  # fmt: skip
    assert r.status_code == 201, r.text
    file: dict[str, Any] = r.json()
    return file


def quarantine(server: LiveServer, clamd: Clamd, *names: str) -> dict[str, tuple[str, bytes, str]]:
    """Store one clean File per name (in that order), then let a signature update flag them
    and rescan: ``{name: (file id, bytes, signature)}``, every one quarantined."""
    stored = {}
    for name in names:
        sample = f"{name}: harmless until a signature says otherwise {secrets.token_hex(8)}\n"
        data = sample.encode()
        signature = f"Airlock.Test.Q{secrets.token_hex(4)}"
        stored[name] = (upload(server, name, data)["id"], data, signature)
        clamd.add_signature(signature, data)
    clamd.stop()
    clamd.start()
    run = airlock(server, "rescan", "--rate", "0")
    assert run.returncode == 0, run.stdout + run.stderr
    for name, (file_id, _, signature) in stored.items():
        assert f"quarantined {file_id} {name!r}: {signature}" in run.stdout, run.stdout
    return stored


def release(server: LiveServer, file_id: str, user: str = "alice") -> requests.Response:
    return requests.post(f"{server.url}/api/v1/admin/files/{file_id}/release",
                         headers=server.auth(user), timeout=10)  # fmt: skip


def listed(server: LiveServer) -> list[dict[str, Any]]:
    """Every quarantined File, following the cursor one File a page."""
    files: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        r = requests.get(server.url + QUARANTINE, params=params, headers=server.auth("alice"),
                         timeout=10)  # fmt: skip
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"files", "next_cursor"} and len(body["files"]) <= 1
        files += body["files"]
        cursor = body["next_cursor"]
        if cursor is None:
            return files


def log_entries(text: str, event: str) -> list[dict[str, Any]]:
    """The structured (one JSON object a line) log entries of one event."""
    found = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("event") == event:
            found.append(entry)
    return found


def test_admins_list_and_release_quarantined_files(server: LiveServer, clamd: Clamd) -> None:
    bob = server.auth("bob")
    found = quarantine(server, clamd, "first.txt", "second.txt")
    (first_id, first_bytes, first_sig), (second_id, _, second_sig) = found.values()
    link = requests.post(f"{server.url}/api/v1/files/{first_id}/links", headers=bob,
                         json={"expires_in": 600}, timeout=10)  # fmt: skip
    assert link.status_code == 201, link.text
    share = server.url + link.json()["url"]
    assert requests.get(share, timeout=10).status_code == 410

    # Listed newest quarantine first (the rescan reached "first" first), as File objects of
    # every owner, each saying why; one File a page, by the cursor.
    files = listed(server)
    ids = [f["id"] for f in files]
    assert ids.index(second_id) < ids.index(first_id)
    by_id = {f["id"]: f for f in files}
    assert by_id[first_id]["owner"] == "bob" and by_id[first_id]["name"] == "first.txt"
    assert by_id[first_id]["links"]["content"] == f"/api/v1/files/{first_id}/content"
    assert by_id[first_id]["quarantine"]["reason"].startswith(first_sig)
    assert by_id[second_id]["quarantine"]["reason"].startswith(second_sig)
    everything = requests.get(server.url + QUARANTINE, headers=server.auth("alice"), timeout=10)
    assert [f["id"] for f in everything.json()["files"]] == ids
    assert everything.json()["next_cursor"] is None

    released = release(server, first_id)
    assert released.status_code == 200, released.text
    assert released.json()["id"] == first_id and released.json()["quarantine"] is None
    # Served again, the same bytes, to its owner and through its share link.
    content = requests.get(f"{server.url}/api/v1/files/{first_id}/content", headers=bob,
                           timeout=10)  # fmt: skip
    assert content.status_code == 200, content.text
    assert content.content == first_bytes
    assert content.headers["ETag"] == f'"{released.json()["sha256"]}"'
    shared = requests.get(share, timeout=10)
    assert shared.status_code == 200 and shared.content == first_bytes
    info = requests.get(f"{server.url}/api/v1/files/{first_id}", headers=bob, timeout=10)
    assert info.json()["quarantine"] is None
    # Off the list; the other stays on it, and stays unserved.
    ids = [f["id"] for f in listed(server)]
    assert first_id not in ids and second_id in ids
    assert requests.get(f"{server.url}/api/v1/files/{second_id}/content", headers=bob,
                        timeout=10).status_code == 410  # fmt: skip

    # The log names the admin, the File and the signature released.
    (entry,) = [e for e in log_entries(server.log(), "quarantine_release")
                if e["file_id"] == first_id]  # fmt: skip
    assert entry["admin"] == "alice" and entry["via"] == "api"
    assert entry["signature"].startswith(first_sig)

    # Twice is a conflict, and changes nothing.
    again = release(server, first_id)
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "conflict"
    assert requests.get(f"{server.url}/api/v1/files/{first_id}/content", headers=bob,
                        timeout=10).status_code == 200  # fmt: skip


def test_a_file_never_quarantined_or_missing(server: LiveServer) -> None:
    clean = upload(server, "clean.txt", b"never flagged\n")
    r = release(server, clean["id"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict", r.text
    r = release(server, "no-such-file-" + secrets.token_hex(8))
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text
    for query in ({"limit": "0"}, {"limit": "501"}, {"limit": "ten"}, {"cursor": "!!"}):
        r = requests.get(server.url + QUARANTINE, params=query, headers=server.auth("alice"),
                         timeout=10)  # fmt: skip
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request", query


def test_only_admins_see_and_release(server: LiveServer, clamd: Clamd) -> None:
    ((file_id, _, _),) = quarantine(server, clamd, "owned-by-bob.txt").values()
    for credentials, status, code in (({}, 401, "unauthorized"),
                                      (server.auth("bob"), 403, "forbidden")):  # fmt: skip
        r = requests.get(server.url + QUARANTINE, headers=credentials, timeout=10)
        assert r.status_code == status and r.json()["error"]["code"] == code, r.text
        # Not even the File's owner may release it.
        r = requests.post(f"{server.url}/api/v1/admin/files/{file_id}/release",
                          headers=credentials, timeout=10)  # fmt: skip
        assert r.status_code == status and r.json()["error"]["code"] == code, r.text
    # An admin's browser session needs its CSRF token to release.
    browser = requests.Session()
    signed_in = browser.post(server.url + "/api/v1/session", timeout=10,
                             json={"username": "alice", "password": "correct horse battery"})
    assert signed_in.status_code == 200, signed_in.text
    assert browser.get(server.url + QUARANTINE, timeout=10).status_code == 200
    forged = browser.post(f"{server.url}/api/v1/admin/files/{file_id}/release", timeout=10)
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "forbidden"
    assert file_id in [f["id"] for f in listed(server)]
    assert requests.get(f"{server.url}/api/v1/files/{file_id}/content",
                        headers=server.auth("bob"), timeout=10).status_code == 410
    done = browser.post(f"{server.url}/api/v1/admin/files/{file_id}/release", timeout=10,
                        headers={"X-CSRF-Token": signed_in.json()["csrf_token"]})
    assert done.status_code == 200, done.text


def test_the_command_line_lists_and_releases(server: LiveServer, clamd: Clamd) -> None:
    ((file_id, data, signature),) = quarantine(server, clamd, "cli-flagged.txt").values()
    shown = airlock(server, "quarantine", "list")
    assert shown.returncode == 0, shown.stderr
    rows = [line.split("\t") for line in shown.stdout.splitlines()]
    (row,) = [r for r in rows if r[0] == file_id]
    assert row[2] == "bob" and row[3].startswith(signature) and row[4] == "cli-flagged.txt"
    assert row[1].endswith("Z")  # RFC 3339, UTC
    assert "quarantined file" in shown.stderr

    freed = airlock(server, "quarantine", "release", file_id)
    assert freed.returncode == 0, freed.stderr
    assert f"released {file_id} 'cli-flagged.txt': {signature}" in freed.stdout
    (entry,) = log_entries(freed.stderr, "quarantine_release")
    assert entry["file_id"] == file_id and entry["via"] == "cli" and entry["admin"]
    assert entry["signature"].startswith(signature)
    r = requests.get(f"{server.url}/api/v1/files/{file_id}/content", headers=server.auth("bob"),
                     timeout=10)  # fmt: skip
    assert r.status_code == 200 and r.content == data
    after = airlock(server, "quarantine", "list")
    assert file_id not in after.stdout

    twice = airlock(server, "quarantine", "release", file_id)
    assert twice.returncode == 1 and "not quarantined" in twice.stderr
    missing = airlock(server, "quarantine", "release", "no-such-file")
    assert missing.returncode == 1 and "No such file" in missing.stderr
