"""Direct uploads through a real S3 server: presign, the browser-style POST straight to the
store (which enforces the policy), and the completion that inspects the object."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import Backend
from tests.support import samples
from tests.support.server import LiveServer

pytestmark = pytest.mark.s3
BACKENDS = ("s3",)


@pytest.fixture(scope="module")
def s3live(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Iterator[LiveServer]:
    live = backend.server(tmp_path_factory.mktemp("direct") / "data")
    try:
        live.add_user("alice")
        live.add_user("bob")
        yield live
    finally:
        live.stop()


def presign(server: LiveServer, user: str, name: str, size: int, **extra: Any) -> requests.Response:
    return requests.post(server.url + "/api/v1/uploads/presign", json={"name": name, "size": size,
                         **extra}, headers=server.auth(user), timeout=10)  # fmt: skip


def send(presigned: dict[str, Any], body: bytes) -> requests.Response:
    """What a browser's form POST to the store does."""
    return requests.post(presigned["url"], data=presigned["fields"],
                         files={"file": ("blob", body)}, timeout=30)  # fmt: skip


def complete(server: LiveServer, user: str, upload_id: str) -> requests.Response:
    return requests.post(f"{server.url}/api/v1/uploads/{upload_id}/complete",
                         headers=server.auth(user), timeout=60)  # fmt: skip


def file_ids(server: LiveServer, user: str) -> set[str]:
    r = requests.get(server.url + "/api/v1/files", headers=server.auth(user), timeout=10)
    return {f["id"] for f in r.json()["files"]}


def test_a_direct_upload_becomes_a_file_with_hash_and_type_from_the_bytes(s3live: LiveServer) -> None:
    data = samples.png(40, 30)
    r = presign(s3live, "alice", "picture.png", len(data), visibility="public")
    assert r.status_code == 201, r.text
    presigned = r.json()
    assert set(presigned) == {"upload_id", "url", "fields", "expires_at"}
    assert r.headers["Cache-Control"] == "no-store"
    assert send(presigned, data).status_code in (200, 201, 204)
    done = complete(s3live, "alice", presigned["upload_id"])
    assert done.status_code == 201, done.text
    file = done.json()
    assert file["sha256"] == hashlib.sha256(data).hexdigest()
    assert file["content_type"] == "image/png" and file["visibility"] == "public"
    assert done.headers["Location"] == file["links"]["self"]
    got = requests.get(s3live.url + file["links"]["content"], headers=s3live.auth("alice"),
                       timeout=10)  # fmt: skip
    assert got.content == data and got.headers["X-Content-Type-Options"] == "nosniff"
    thumb = requests.get(s3live.url + file["links"]["thumbnail"], headers=s3live.auth("alice"),
                         timeout=10)  # made from the object, stored beside it in the bucket
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/webp"
    assert thumb.content[:4] == b"RIFF"


def test_the_store_refuses_a_body_larger_than_presigned(s3live: LiveServer) -> None:
    before = s3live.bucket_contents()  # type: ignore[misc]
    presigned = presign(s3live, "alice", "notes.txt", 10).json()
    assert send(presigned, b"far more than ten bytes\n").status_code == 400
    r = complete(s3live, "alice", presigned["upload_id"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert s3live.bucket_contents() == before  # type: ignore[misc]


@pytest.mark.parametrize(("name", "data", "status", "code"), [
    ("page.txt", b"<!DOCTYPE html><html><script>alert(1)</script></html>\n", 415,
     "type_not_allowed"),
    ("photo.png", b"%PDF-1.4\n" + b"0" * 200, 422, "content_mismatch"),
])  # fmt: skip
def test_disallowed_content_is_deleted_and_refused(
    s3live: LiveServer, name: str, data: bytes, status: int, code: str
) -> None:
    before = s3live.bucket_contents()  # type: ignore[misc]
    ids = file_ids(s3live, "alice")
    presigned = presign(s3live, "alice", name, len(data)).json()
    assert send(presigned, data).status_code in (200, 201, 204)
    r = complete(s3live, "alice", presigned["upload_id"])
    assert r.status_code == status and r.json()["error"]["code"] == code, r.text
    assert s3live.bucket_contents() == before  # type: ignore[misc]
    assert file_ids(s3live, "alice") == ids
    assert complete(s3live, "alice", presigned["upload_id"]).status_code == 404


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"name": "evil.html", "size": 10}, 415, "type_not_allowed"),
    ({"name": "empty.txt", "size": 0}, 422, "empty_file"),
    ({"name": "huge.txt", "size": 10**12}, 413, "too_large"),
    ({"name": "", "size": 10}, 400, "bad_request"),
    ({"name": "x.txt", "size": "10"}, 400, "bad_request"),
    ({"name": "x.txt", "size": 10, "visibility": "everyone"}, 400, "bad_request"),
])  # fmt: skip
def test_presign_refuses_what_could_never_pass(
    s3live: LiveServer, body: dict[str, Any], status: int, code: str
) -> None:
    r = requests.post(s3live.url + "/api/v1/uploads/presign", json=body,
                      headers=s3live.auth("alice"), timeout=10)  # fmt: skip
    assert r.status_code == status and r.json()["error"]["code"] == code, r.text


def test_a_forged_presign_is_refused_by_the_store(s3live: LiveServer) -> None:
    before = s3live.bucket_contents()  # type: ignore[misc]
    data = b"some text\n"
    presigned = presign(s3live, "alice", "a.txt", len(data)).json()
    forged = {**presigned, "fields": {**presigned["fields"], "key": "A" * 24}}
    assert send(forged, data).status_code == 403
    policy = {k: v for k, v in presigned["fields"].items() if k.lower() != "policy"}
    assert send({**presigned, "fields": {**policy, "policy": "e30="}}, data).status_code == 403
    assert s3live.bucket_contents() == before  # type: ignore[misc]


def test_completing_someone_elses_upload_is_not_found(s3live: LiveServer) -> None:
    data = b"alice's words\n"
    presigned = presign(s3live, "alice", "mine.txt", len(data)).json()
    send(presigned, data)
    r = complete(s3live, "bob", presigned["upload_id"])
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert complete(s3live, "bob", "no-such-upload-at-all").status_code == 404
    assert complete(s3live, "alice", presigned["upload_id"]).status_code == 201


def test_completing_twice_gives_one_file(s3live: LiveServer) -> None:
    data = b"once only\n" * 1000
    ids = file_ids(s3live, "alice")
    presigned = presign(s3live, "alice", "once.txt", len(data)).json()
    send(presigned, data)
    answers: list[requests.Response] = []
    threads = [threading.Thread(target=lambda: answers.append(
        complete(s3live, "alice", presigned["upload_id"]))) for _ in range(4)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    made = [r for r in answers if r.status_code == 201]
    assert len(made) == 1, [(r.status_code, r.text) for r in answers]
    assert all(r.status_code in (200, 201, 409) for r in answers)
    again = complete(s3live, "alice", presigned["upload_id"])
    assert again.status_code == 200 and again.json()["id"] == made[0].json()["id"]
    assert file_ids(s3live, "alice") - ids == {made[0].json()["id"]}


def test_direct_uploads_are_not_found_on_local_storage(tmp_path: Path) -> None:
    live = LiveServer(tmp_path / "data").start()
    try:
        live.add_user("alice")
        r = presign(live, "alice", "a.txt", 3)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    finally:
        live.stop()
