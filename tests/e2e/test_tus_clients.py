"""tus interoperability: the server's ``/api/v1/tus/`` driven by tus clients nobody here wrote,
tuspy (Python) and tus-js-client (Node.js, through ``tests/js/tus_upload.mjs``).

For each client: an upload in several chunks, a resume after the connection was cut at the
transport level mid-PATCH (by ``tests.support.cutproxy``), and termination. tus-js-client also
covers resuming from its URL storage in a new process, a lost response to the last PATCH,
creation-with-upload, deferred length, concatenation (its ``parallelUploads``) and how a
rejection reaches it; tuspy also sends checksums and meets a rejection.

Needs tuspy (test extras) and ``tests/js/node_modules`` (``scripts/setup`` runs ``npm ci``); a
missing Node.js or tus-js-client fails these tests, it never skips them.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError
from tusclient.storage.filestorage import FileStorage

from tests.support import samples
from tests.support.cutproxy import CutProxy
from tests.support.server import LiveServer

# On local storage and on S3 storage, where tus uploads stage in the bucket (tests/e2e/conftest.py).
BACKENDS = ("local", "s3")

REPO = Path(__file__).resolve().parents[2]
JS_DIR = REPO / "tests" / "js"
JS_DRIVER = JS_DIR / "tus_upload.mjs"

SIZE = 3 * 2**20
CHUNK = 512 * 2**10
TUS = {"Tus-Resumable": "1.0.0"}


# -- payloads -------------------------------------------------------------------------------------


def text_payload(seed: int, size: int = SIZE) -> bytes:
    """Plain text (lines of hex), deterministic for a seed."""
    rng = random.Random(seed)
    out = io.StringIO()
    n = 0
    while n < size:
        line = f"{n:010d} {rng.getrandbits(256):064x}\n"
        out.write(line)
        n += len(line)
    return out.getvalue().encode()[:size - 1] + b"\n"


def zip_payload(seed: int, size: int = SIZE) -> bytes:
    """A stored (uncompressed) zip of random bytes."""
    return samples.zip_of({"data.bin": random.Random(seed).randbytes(size)}, stored=True)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- server-side checks ----------------------------------------------------------------------------


def endpoint(base: str) -> str:
    return base + "/api/v1/tus/"


def direct(server: LiveServer, upload_url: str) -> str:
    """The upload URL on the server itself (the client may have reached it through the proxy)."""
    return server.url + urlsplit(upload_url).path


def file_by_id(server: LiveServer, user: str, file_id: str, data: bytes) -> dict[str, Any]:
    """The File ``file_id``: its metadata and its bytes must be ``data``."""
    r = requests.get(f"{server.url}/api/v1/files/{file_id}", headers=server.auth(user), timeout=10)
    assert r.status_code == 200, r.text
    meta = r.json()
    assert meta["id"] == file_id
    assert meta["size"] == len(data)
    assert meta["sha256"] == sha256(data)
    assert meta["owner"] == user
    content = requests.get(
        server.url + meta["links"]["content"], headers=server.auth(user), timeout=30
    )
    assert content.status_code == 200
    assert sha256(content.content) == sha256(data)
    return meta


def assert_redirects_to_file(server: LiveServer, user: str, upload_url: str, file_id: str) -> None:
    """A finished upload's URL answers 303 to its File, for HEAD and GET."""
    url = direct(server, upload_url)
    for method in ("HEAD", "GET"):
        r = requests.request(
            method, url, headers={**TUS, **server.auth(user)}, allow_redirects=False, timeout=10
        )
        assert r.status_code == 303, f"{method} {url}: {r.status_code} {r.text}"
        assert urlsplit(urljoin(url, r.headers["Location"])).path == f"/api/v1/files/{file_id}"


def assert_gone(server: LiveServer, user: str, upload_url: str) -> None:
    """A terminated (or rejected) upload: HEAD answers 404 and a PATCH cannot revive it."""
    url = direct(server, upload_url)
    head = requests.head(url, headers={**TUS, **server.auth(user)}, timeout=10)
    assert head.status_code == 404, f"HEAD {url} after termination: {head.status_code}"
    patch = requests.patch(
        url, data=b"x", timeout=10,
        headers={**TUS, **server.auth(user), "Upload-Offset": "0",
                 "Content-Type": "application/offset+octet-stream"},
    )  # fmt: skip
    assert patch.status_code in (404, 410), f"PATCH {url} after termination: {patch.status_code}"


def staging(server: LiveServer) -> dict[str, int]:
    """Files in the data dir's staging area and their sizes; with S3 storage, the manifests
    and tails of resumable uploads in the bucket."""
    if server.bucket_sizes is not None:
        return {k: v for k, v in server.bucket_sizes().items() if "." in k}
    result = {}
    root = server.data_dir / "staging"
    for p in root.iterdir() if root.is_dir() else ():
        try:
            if p.is_file():
                result[p.name] = p.stat().st_size
        except FileNotFoundError:
            continue
    return result


def new_staging(server: LiveServer, before: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in staging(server).items() if k not in before}


def file_count(server: LiveServer, user: str) -> int:
    r = requests.get(server.url + "/api/v1/files?limit=500", headers=server.auth(user), timeout=10)
    assert r.status_code == 200, r.text
    return len(r.json()["files"])


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def proxy(server: LiveServer) -> Iterator[CutProxy]:
    with CutProxy("127.0.0.1", server.port) as p:
        yield p


def test_server_speaks_tus(server: LiveServer) -> None:
    """The discovery both clients rely on (fails first and plainly when the endpoint is missing)."""
    r = requests.options(endpoint(server.url), timeout=10)
    assert r.status_code in (200, 204), r.status_code
    assert r.headers.get("Tus-Resumable") == "1.0.0"
    assert "1.0.0" in r.headers.get("Tus-Version", "")
    extensions = {e.strip() for e in r.headers.get("Tus-Extension", "").split(",")}
    assert {"creation", "creation-with-upload", "creation-defer-length", "termination",
            "expiration", "checksum", "concatenation"} <= extensions  # fmt: skip
    assert int(r.headers["Tus-Max-Size"]) > 0


# -- tuspy -----------------------------------------------------------------------------------------


class _Unclosable(io.BytesIO):
    """tuspy closes the stream after fingerprinting it (``with uploader.get_file_stream()``) and
    then reads it again; and given a path instead, it leaves files open. A stream that ignores
    close() sidesteps both."""

    def close(self) -> None:
        pass


def tuspy_client(base: str, server: LiveServer, user: str = "alice") -> tus_client.TusClient:
    return tus_client.TusClient(endpoint(base), headers=server.auth(user))


def test_tuspy_upload_in_chunks(server: LiveServer) -> None:
    data = zip_payload(1)
    uploader = tuspy_client(server.url, server).uploader(
        file_stream=_Unclosable(data), chunk_size=CHUNK, upload_checksum=True,
        metadata={"filename": "bundle.zip", "filetype": "text/html", "visibility": "private"},
    )  # fmt: skip
    offsets = []
    uploader.upload_chunk()  # creates the upload, then sends the first chunk
    offsets.append(uploader.offset)
    while uploader.offset < len(data):
        uploader.upload_chunk()
        offsets.append(uploader.offset)
    assert offsets == [min(i * CHUNK, len(data)) for i in range(1, len(offsets) + 1)]
    assert len(offsets) == -(-len(data) // CHUNK) > 1

    file_id = uploader.request.response_headers.get("upload-file-id")
    assert file_id, f"last PATCH answered no Upload-File-Id: {uploader.request.response_headers}"
    meta = file_by_id(server, "alice", file_id, data)
    assert meta["name"] == "bundle.zip"
    assert meta["content_type"] == "application/zip"  # the bytes decide, not filetype
    assert meta["visibility"] == "private"
    assert_redirects_to_file(server, "alice", uploader.url, file_id)
    # Other users see no trace of it.
    other = requests.head(uploader.url, headers={**TUS, **server.auth("bob")}, timeout=10)
    assert other.status_code == 404


def test_tuspy_resume_after_connection_cut(
    server: LiveServer, proxy: CutProxy, tmp_path: Path
) -> None:
    data = zip_payload(2)
    storage = FileStorage(str(tmp_path / "tuspy-urls.json"))
    try:
        client = tuspy_client(proxy.url, server)
        options = dict(chunk_size=CHUNK, store_url=True, url_storage=storage,
                       metadata={"filename": "resumed.zip"})  # fmt: skip
        first = client.uploader(file_stream=_Unclosable(data), **options)
        cut_at = int(len(data) * 0.45)  # inside the third PATCH's body
        proxy.arm(cut_at)
        with pytest.raises(TusCommunicationError):
            first.upload()
        assert proxy.cut.is_set()
        assert first.url is not None and first.offset >= 2 * CHUNK

        # A new uploader finds the URL in its storage and asks the server where to go on. Its
        # retries cover a 409 should the server still be finishing the cut request.
        second = client.uploader(file_stream=_Unclosable(data), retries=3, retry_delay=0.2,
                                 **options)  # fmt: skip
        assert second.url == first.url
        assert 2 * CHUNK <= second.offset <= cut_at, second.offset
        second.upload()
    finally:
        storage.close()
    file_id = second.request.response_headers.get("upload-file-id")
    assert file_id, f"last PATCH answered no Upload-File-Id: {second.request.response_headers}"
    assert file_by_id(server, "alice", file_id, data)["name"] == "resumed.zip"
    assert_redirects_to_file(server, "alice", second.url, file_id)


def test_tuspy_terminate(server: LiveServer) -> None:
    data = text_payload(3)
    before = staging(server)
    files_before = file_count(server, "alice")
    uploader = tuspy_client(server.url, server).uploader(
        file_stream=_Unclosable(data), chunk_size=CHUNK, metadata={"filename": "dropped.txt"}
    )
    uploader.upload(stop_at=2 * CHUNK)
    assert uploader.offset == 2 * CHUNK
    head = requests.head(uploader.url, headers={**TUS, **server.auth("alice")}, timeout=10)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == str(2 * CHUNK)
    assert head.headers["Upload-Length"] == str(len(data))
    # The received bytes are in staging (so the check below is not vacuous).
    assert sum(new_staging(server, before).values()) >= 2 * CHUNK

    # tuspy has no termination call of its own: the extension is one DELETE.
    r = requests.delete(uploader.url, headers={**TUS, **server.auth("alice")}, timeout=10)
    assert r.status_code == 204, r.text
    assert_gone(server, "alice", uploader.url)
    assert new_staging(server, before) == {}
    assert file_count(server, "alice") == files_before


def test_tuspy_rejection_reaches_the_client(server: LiveServer) -> None:
    data = b"\x7fELF\x02\x01\x01" + bytes(9) + random.Random(4).randbytes(2 * CHUNK)
    before = staging(server)
    uploader = tuspy_client(server.url, server).uploader(
        file_stream=_Unclosable(data), chunk_size=CHUNK, metadata={"filename": "notes.txt"}
    )
    with pytest.raises(TusCommunicationError) as exc:
        uploader.upload()
    assert exc.value.status_code == 415
    assert json.loads(exc.value.response_content)["error"]["code"] == "type_not_allowed"
    assert_gone(server, "alice", uploader.url)
    assert new_staging(server, before) == {}


# -- tus-js-client ---------------------------------------------------------------------------------


def node() -> str:
    """The node binary; a plain failure (never a skip) when it or tus-js-client is missing."""
    path = shutil.which("node")
    if path is None:
        pytest.fail(
            "node is not on PATH: the tus-js-client tests need Node.js >= 18 "
            "(apt-get install nodejs npm, then scripts/setup)", pytrace=False,
        )  # fmt: skip
    if not (JS_DIR / "node_modules" / "tus-js-client" / "package.json").is_file():
        pytest.fail(
            "tus-js-client is not installed in tests/js/node_modules: run scripts/setup "
            "(it runs `npm ci --prefix tests/js`)", pytrace=False,
        )  # fmt: skip
    return path


@dataclass
class JsRun:
    returncode: int
    events: list[dict[str, Any]]
    stderr: str

    def __str__(self) -> str:
        lines = "\n".join(json.dumps(e) for e in self.events if e["event"] not in ("progress",))
        return f"exit {self.returncode}\n{lines}\nstderr: {self.stderr}"

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == kind]

    def one(self, kind: str) -> dict[str, Any]:
        found = self.of(kind)
        assert len(found) == 1, f"expected one {kind!r} event:\n{self}"
        return found[0]

    def requests(self, method: str) -> list[dict[str, Any]]:
        return [e for e in self.of("request") if e["method"] == method]

    def responses(self, method: str) -> list[dict[str, Any]]:
        return [e for e in self.of("response") if e["method"] == method]


def run_js(args: dict[str, Any], timeout: float = 60) -> JsRun:
    proc = subprocess.run(
        [node(), str(JS_DRIVER), json.dumps(args)],
        cwd=JS_DIR, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    events = []
    for line in proc.stdout.splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            events.append({"event": "stdout", "line": line})
    return JsRun(proc.returncode, events, proc.stderr)


def js_upload(base: str, server: LiveServer, path: Path, **extra: Any) -> JsRun:
    args = {"endpoint": endpoint(base), "token": server.tokens["alice"], "file": str(path),
            "chunkSize": CHUNK, "metadata": {"filename": path.name}, **extra}  # fmt: skip
    return run_js(args)


def succeeded(run: JsRun) -> str:
    """The ``Upload-File-Id`` the finishing response carried."""
    assert run.returncode == 0 and not run.of("error"), str(run)
    success = run.one("success")
    assert success["fileId"], f"the last response carried no Upload-File-Id:\n{run}"
    return str(success["fileId"])


def test_js_upload_in_chunks(server: LiveServer, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(data := text_payload(5))
    metadata = {"filename": path.name, "filetype": "image/png", "visibility": "public"}
    run = js_upload(server.url, server, path, metadata=metadata)
    file_id = succeeded(run)
    assert len(run.requests("POST")) == 1
    patches = run.responses("PATCH")
    assert [p["status"] for p in patches] == [204] * len(patches)
    expected = [min(i * CHUNK, len(data)) for i in range(1, len(patches) + 1)]
    assert [int(p["offset"]) for p in patches] == expected
    assert len(patches) == -(-len(data) // CHUNK) > 1
    assert [p["fileId"] for p in patches[:-1]] == [None] * (len(patches) - 1)
    assert run.of("chunk")[-1]["accepted"] == len(data)
    meta = file_by_id(server, "alice", file_id, data)
    assert meta["name"] == "notes.txt"
    assert meta["content_type"] == "text/plain"
    assert meta["visibility"] == "public"
    assert_redirects_to_file(server, "alice", run.one("success")["url"], file_id)


def test_js_resume_after_connection_cut(
    server: LiveServer, proxy: CutProxy, tmp_path: Path
) -> None:
    path = tmp_path / "cut.txt"
    path.write_bytes(data := text_payload(6))
    cut_at = int(len(data) * 0.45)  # inside the third PATCH's body
    proxy.arm(cut_at)
    run = js_upload(proxy.url, server, path, retryDelays=[0, 200, 500, 1000, 2000])
    file_id = succeeded(run)
    assert proxy.cut.is_set()
    assert proxy.connections >= 2
    # It resumed (HEAD, then PATCH from the server's offset) instead of starting over.
    assert len(run.requests("POST")) == 1, str(run)
    heads = run.responses("HEAD")
    assert heads and all(h["status"] == 200 for h in heads), str(run)
    assert 2 * CHUNK <= int(heads[0]["offset"]) <= cut_at, str(run)
    assert file_by_id(server, "alice", file_id, data)["name"] == "cut.txt"
    assert_redirects_to_file(server, "alice", run.one("success")["url"], file_id)


def test_js_lost_final_response(server: LiveServer, tmp_path: Path) -> None:
    """The connection drops right after the last byte went out: the server gets everything and
    makes the File, the client never hears back. Resuming, it must learn the File (HEAD: 303
    with Upload-File-Id), and there must be one File, not two; nor may a HEAD call the upload
    finished (Upload-Offset == Upload-Length) before it is a File that passed its checks."""
    warmup, path = tmp_path / "warmup.txt", tmp_path / "final.txt"
    warmup.write_bytes(text_payload(12))
    path.write_bytes(data := text_payload(13))
    metadata = {"filename": "final.txt"}  # the same requests, byte for byte in length
    with CutProxy("127.0.0.1", server.port) as proxy:
        succeeded(js_upload(proxy.url, server, warmup, metadata=metadata))
        files_before = file_count(server, "alice")
        proxy.arm(proxy.forwarded_up)  # cut right after the last byte of the same requests
        run = js_upload(proxy.url, server, path, metadata=metadata,
                        retryDelays=[0, 200, 500, 1000, 2000])  # fmt: skip
        assert proxy.cut.is_set()
    assert run.returncode == 0, str(run)
    # HEAD does not wait for the PATCH the server is still finishing: it may answer that
    # PATCH's starting offset, and the PATCH the client sends from there then meets a 409.
    answered = [r for r in run.responses("PATCH") if r["status"] == 204]
    assert len(answered) == len(data) // CHUNK - 1, f"no lost response?\n{run}"
    assert all(r["status"] in (204, 409) for r in run.responses("PATCH")), str(run)
    for head in run.responses("HEAD"):
        assert not (head["status"] == 200 and head["offset"] == str(len(data))), (
            f"HEAD answered 200 with Upload-Offset == Upload-Length and no File yet:\n{run}"
        )
    success = run.one("success")
    assert (success["status"], bool(success["fileId"])) == (303, True), str(run)
    assert len(run.requests("POST")) == 1, f"the client started over:\n{run}"
    assert file_count(server, "alice") == files_before + 1
    file_by_id(server, "alice", success["fileId"], data)


def test_js_resume_in_a_new_process(server: LiveServer, tmp_path: Path) -> None:
    """The first process stops after two chunks; the second finds the upload in the URL storage
    (findPreviousUploads / resumeFromPreviousUpload) and finishes it."""
    path = tmp_path / "later.txt"
    path.write_bytes(data := text_payload(7))
    store = str(tmp_path / "tus-js-urls.json")
    first = js_upload(server.url, server, path, urlStorage=store, abortAfter=2 * CHUNK)
    assert first.returncode == 0, str(first)
    aborted = first.one("aborted")
    assert aborted["terminated"] is False and aborted["accepted"] == 2 * CHUNK

    second = js_upload(server.url, server, path, urlStorage=store, resumePrevious=True)
    file_id = succeeded(second)
    assert second.one("resumed")["url"] == aborted["url"]
    assert second.requests("POST") == []
    assert second.of("request")[0]["method"] == "HEAD"
    assert int(second.responses("HEAD")[0]["offset"]) == 2 * CHUNK
    file_by_id(server, "alice", file_id, data)
    assert_redirects_to_file(server, "alice", aborted["url"], file_id)


def test_js_resume_by_upload_url(server: LiveServer, tmp_path: Path) -> None:
    path = tmp_path / "by-url.txt"
    path.write_bytes(data := text_payload(8))
    first = js_upload(server.url, server, path, abortAfter=CHUNK)
    url = first.one("aborted")["url"]
    second = js_upload(server.url, server, path, uploadUrl=url, endpoint=None, source="buffer")
    file_id = succeeded(second)
    assert second.requests("POST") == []
    assert int(second.responses("HEAD")[0]["offset"]) == CHUNK
    file_by_id(server, "alice", file_id, data)


def test_js_abort_and_terminate(server: LiveServer, tmp_path: Path) -> None:
    path = tmp_path / "dropped.txt"
    path.write_bytes(text_payload(9))
    before = staging(server)
    files_before = file_count(server, "alice")
    run = js_upload(server.url, server, path, abortAfter=2 * CHUNK, terminate=True)
    assert run.returncode == 0, str(run)
    assert run.one("aborted")["terminated"] is True
    assert [r["status"] for r in run.responses("DELETE")] == [204], str(run)
    assert_gone(server, "alice", run.one("aborted")["url"])
    assert new_staging(server, before) == {}
    assert file_count(server, "alice") == files_before


def test_js_terminate_by_url(server: LiveServer, tmp_path: Path) -> None:
    """``tus.Upload.terminate(url)`` from a process that did not start the upload."""
    path = tmp_path / "left.txt"
    path.write_bytes(text_payload(10))
    before = staging(server)
    first = js_upload(server.url, server, path, abortAfter=CHUNK)
    url = first.one("aborted")["url"]
    assert sum(new_staging(server, before).values()) >= CHUNK

    # Another user cannot terminate it: 404, and it stays.
    denied = run_js({"action": "terminate", "uploadUrl": url, "token": server.tokens["bob"],
                     "retryDelays": None})  # fmt: skip
    assert denied.returncode == 1 and denied.one("error")["status"] == 404, str(denied)
    head = requests.head(url, headers={**TUS, **server.auth("alice")}, timeout=10)
    assert head.status_code == 200 and head.headers["Upload-Offset"] == str(CHUNK)

    done = run_js({"action": "terminate", "uploadUrl": url, "token": server.tokens["alice"]})
    assert done.returncode == 0 and done.one("terminated")["url"] == url, str(done)
    assert_gone(server, "alice", url)
    assert new_staging(server, before) == {}


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"options": {"uploadDataDuringCreation": True}}, id="creation-with-upload"),
        pytest.param({"options": {"uploadLengthDeferred": True}, "source": "stream"},
                     id="deferred-length"),
        pytest.param({"options": {"parallelUploads": 3}}, id="concatenation"),
    ],
)  # fmt: skip
def test_js_extensions(server: LiveServer, tmp_path: Path, extra: dict[str, Any]) -> None:
    path = tmp_path / "ext.txt"
    path.write_bytes(data := text_payload(11))
    run = js_upload(server.url, server, path, **extra)
    file_id = succeeded(run)
    file_by_id(server, "alice", file_id, data)
    assert_redirects_to_file(server, "alice", run.one("success")["url"], file_id)
    posts = [r["headers"] for r in run.requests("POST")]
    patches = [r["headers"] for r in run.requests("PATCH")]
    options = extra["options"]
    if options.get("uploadDataDuringCreation"):
        # The first chunk rides on the POST; the PATCHes carry the rest.
        assert len(posts) == 1 and posts[0].get("Content-Type") == "application/offset+octet-stream"
        assert run.responses("POST")[0]["offset"] == str(CHUNK), str(run)
        assert len(patches) == len(data) // CHUNK - 1
    elif options.get("uploadLengthDeferred"):
        # A plain stream of unknown length: no length at creation, the last PATCH declares it.
        assert len(posts) == 1 and posts[0].get("Upload-Defer-Length") == "1"
        assert "Upload-Length" not in posts[0]
        assert [p.get("Upload-Length") for p in patches].count(str(len(data))) == 1
        assert patches[-1].get("Upload-Length") == str(len(data))
    else:
        # Three partial uploads, then the final one that concatenates them (and carries the id).
        assert [p.get("Upload-Concat") for p in posts[:3]] == ["partial"] * 3, str(run)
        assert len(posts) == 4 and posts[3]["Upload-Concat"].startswith("final;"), str(run)
        assert run.responses("POST")[-1]["fileId"] == file_id


@pytest.mark.parametrize("name", ["page.html", "page.txt"])
def test_js_rejection_reaches_the_client(server: LiveServer, tmp_path: Path, name: str) -> None:
    """HTML is refused: by its name when the upload is created (``page.html``), else by its first
    bytes on the first PATCH (``page.txt``). The client gets the status and the error JSON."""
    path = tmp_path / name
    path.write_bytes(b"<!DOCTYPE html><html><body><script>alert(1)</script>" + b"<p>x</p>" * CHUNK)
    before = staging(server)
    files_before = file_count(server, "alice")
    run = js_upload(server.url, server, path)
    assert run.returncode == 1, str(run)
    error = run.one("error")
    assert error["status"] == 415, str(run)
    assert json.loads(error["body"])["error"]["code"] == "type_not_allowed"
    # Answered by the first request that could know, and not retried (a 4xx).
    assert len(run.requests("POST")) == 1, str(run)
    assert len(run.requests("PATCH")) == (0 if name.endswith(".html") else 1), str(run)
    if run.of("url"):
        assert_gone(server, "alice", run.one("url")["url"])
    assert new_staging(server, before) == {}
    assert file_count(server, "alice") == files_before
