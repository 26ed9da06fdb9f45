"""Helpers for the kill -9 fault tests (``tests/faults/test_crashes.py``).

* ``SlowUpload``: one upload request over a raw socket whose body goes out in small pieces with
  small sleeps (and, optionally, holds back its last bytes until told), so a fault lands while
  the server is still reading it; ``received()`` says how much of the body the server process
  has read from its socket (from the kernel's queues in ``/proc/net/tcp``), and
  ``serving_pid()`` which worker holds the connection (psutil).
* ``Ledger``: the uploads the server acknowledged (2xx) with their bytes, and the check that
  each is still listed with its SHA-256 and downloads byte-identical.
* ``Inventory``: everything a server holds that could be upload bytes (staging files, the
  ``files/`` tree, the bucket's objects and unfinished multipart uploads, with sizes), and which
  of it no File refers to (the File rows' keys, read from the SQLite database).
* Small uploads of each kind (multipart, PUT, tus) through ``requests``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import requests
from urllib3.exceptions import NewConnectionError

from tests.support.bodies import BOUNDARY, file_part, multipart, multipart_type
from tests.support.server import LiveServer, cli

MiB = 1024 * 1024
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"


def text_bytes(size: int) -> bytes:
    """``size`` bytes of plain text (lines of random hex): each call different, always a txt."""
    raw = os.urandom(size // 2 + 32).hex("\n", 32).encode() + b"\n"
    return raw[: size - 1] + b"\n"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def wait_until(what: str, check: Callable[[], Any], timeout: float, every: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy (returned); fails after ``timeout``
    seconds, naming ``what`` was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


# A slow upload over a raw socket ----------------------------------------------------------------


def _tcp_queues() -> dict[tuple[int, int], tuple[int, int]]:
    """(local port, remote port) → (send queue, receive queue) of every IPv4 TCP socket."""
    out: dict[tuple[int, int], tuple[int, int]] = {}
    with open("/proc/net/tcp") as fh:
        next(fh)
        for line in fh:
            cols = line.split()
            local, remote, queues = cols[1], cols[2], cols[4]
            tx, rx = (int(q, 16) for q in queues.split(":"))
            out[(int(local.split(":")[1], 16), int(remote.split(":")[1], 16))] = (tx, rx)
    return out


@dataclass
class SlowUpload:
    """An upload request whose body is sent ``piece`` bytes at a time, ``pause`` seconds apart,
    from a thread; the response is read by another. With ``hold_back``, the last that many
    bytes wait for ``release()`` (so the body cannot end before the fault does)."""

    base_url: str
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    piece: int = 64 * 1024
    pause: float = 0.005
    hold_back: int = 0
    sent: int = 0  # body bytes handed to the kernel
    status: int | None = None  # the response's, if one came
    response_body: bytes = b""
    failure: str = ""  # how the exchange ended when no response came
    head_size: int = 0
    client_port: int = 0
    server_port: int = 0
    _sock: socket.socket | None = field(default=None, repr=False)
    _release: threading.Event = field(default_factory=threading.Event, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)
    _threads: list[threading.Thread] = field(default_factory=list, repr=False)

    def connect(self) -> SlowUpload:
        """Open the connection, sending nothing yet (``start`` sends)."""
        port = int(self.base_url.rsplit(":", 1)[1])
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.client_port, self.server_port = self._sock.getsockname()[1], port
        return self

    def close(self) -> None:
        """Hang up a connection that ``start`` was never called on."""
        if self._sock is not None:
            self._sock.close()

    def start(self) -> SlowUpload:
        if self._sock is None:
            self.connect()
        port = self.server_port
        lines = [f"{self.method} {self.target} HTTP/1.1", f"Host: 127.0.0.1:{port}",
                 f"Content-Length: {len(self.body)}", "Connection: close",
                 *(f"{k}: {v}" for k, v in self.headers.items())]  # fmt: skip
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.head_size = len(head)
        for fn in (self._send, self._read):
            thread = threading.Thread(target=fn, args=(head,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _send(self, head: bytes) -> None:
        assert self._sock is not None
        try:
            self._sock.sendall(head)
            view = memoryview(self.body)
            free = len(view) - self.hold_back
            while self.sent < len(view):
                if self.sent >= free and not self._release.wait(120):
                    return
                n = min(self.piece, (free if self.sent < free else len(view)) - self.sent)
                self._sock.sendall(view[self.sent : self.sent + n])
                self.sent += n
                if self.sent < free:
                    time.sleep(self.pause)
        except OSError:
            pass  # the server went away: what was sent is in ``sent``

    def _read(self, _head: bytes) -> None:
        assert self._sock is not None
        resp = http.client.HTTPResponse(self._sock, method=self.method)
        try:
            resp.begin()
            self.status = resp.status
            with contextlib.suppress(http.client.IncompleteRead, OSError):
                self.response_body = resp.read()
        except (http.client.HTTPException, OSError) as exc:
            self.failure = f"{type(exc).__name__}: {exc}"
        finally:
            resp.close()
            self._done.set()

    def release(self) -> None:
        """Let the held-back bytes go."""
        self._release.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def received(self) -> int:
        """Body bytes the server process has read from its socket: what we sent, less what
        still sits in our send queue and in the server's receive queue."""
        queues = _tcp_queues()
        ends = (self.client_port, self.server_port), (self.server_port, self.client_port)
        assert all(end in queues for end in ends), f"connection {ends[0]} not in /proc/net/tcp"
        return max(0, self.sent - queues[ends[0]][0] - queues[ends[1]][1])

    def serving_pid(self, among: list[int]) -> int | None:
        """The process of ``among`` (the server's workers) holding the server side of this
        connection."""
        for pid in among:
            try:
                proc = psutil.Process(pid)
                for conn in proc.net_connections(kind="tcp4"):
                    if (conn.laddr and conn.raddr and conn.laddr.port == self.server_port
                            and conn.raddr.port == self.client_port):  # fmt: skip
                        return int(proc.pid)
            except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
                continue
        return None

    def finish(self, timeout: float = 60) -> SlowUpload:
        """Wait for the exchange to end (a response, or the connection gone)."""
        self.release()
        if not self._done.wait(timeout):
            raise AssertionError(f"no end to the {self.method} {self.target} after {timeout} s")
        if self._sock is not None:
            self._sock.close()
        for thread in self._threads:
            thread.join(timeout)
        return self


def slow_multipart(server: LiveServer, name: str, data: bytes, **kw: Any) -> SlowUpload:
    body = multipart([file_part(name, data, "text/plain")])
    return SlowUpload(server.url, "POST", "/api/v1/files",
                      {**server.auth("alice"), "Content-Type": multipart_type(BOUNDARY)},
                      body, **kw)  # fmt: skip


def slow_put(server: LiveServer, name: str, data: bytes, **kw: Any) -> SlowUpload:
    return SlowUpload(server.url, "PUT", f"/api/v1/files/{name}", server.auth("alice"), data, **kw)


def tus_create(server: LiveServer, name: str, length: int) -> str:
    """A new tus upload's path (``/api/v1/tus/ID``)."""
    r = requests.post(server.url + "/api/v1/tus/", timeout=30, headers={
        **TUS, **server.auth("alice"), "Upload-Length": str(length),
        "Upload-Metadata": "filename " + base64.b64encode(name.encode()).decode()})  # fmt: skip
    assert r.status_code == 201, r.text
    return str(r.headers["Location"])


def slow_patch(server: LiveServer, path: str, data: bytes, **kw: Any) -> SlowUpload:
    return SlowUpload(server.url, "PATCH", path, {
        **TUS, **server.auth("alice"), "Upload-Offset": "0", "Content-Type": OCTETS},
        data, **kw)  # fmt: skip


# Acknowledged uploads ---------------------------------------------------------------------------


@dataclass
class Ledger:
    """What the server acknowledged: File id → (name, bytes); names of uploads in doubt (no
    answer came, so they may or may not have become Files) and of uploads that must not have."""

    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    in_doubt: set[str] = field(default_factory=set)
    interrupted: set[str] = field(default_factory=set)

    def add(self, file: dict[str, Any], name: str, data: bytes) -> None:
        assert file["size"] == len(data) and file["sha256"] == sha256(data), file
        self.files[file["id"]] = (name, data)

    def check(self, server: LiveServer) -> tuple[list[str], list[str], list[tuple[str, str]]]:
        """(lost, corrupt, unexpected): acknowledged Files not listed or whose bytes are gone;
        listed with another SHA-256 or size, or downloading other bytes; Files listed that are
        neither acknowledged nor in doubt, as (name, id) (interrupted uploads among them)."""
        listed = list_files(server)
        lost, corrupt = [], []
        for file_id, (name, data) in self.files.items():
            got = listed.get(file_id)
            if got is None:
                lost.append(f"{name} ({file_id}): not listed")
                continue
            if (got["sha256"], got["size"], got["name"]) != (sha256(data), len(data), name):
                corrupt.append(f"{name} ({file_id}): listed as {got}")
                continue
            r = requests.get(f"{server.url}/api/v1/files/{file_id}/content",
                             headers=server.auth("alice"), timeout=60)  # fmt: skip
            if r.status_code != 200:
                lost.append(f"{name} ({file_id}): content answers {r.status_code} {r.text[:200]}")
            elif r.content != data:
                corrupt.append(f"{name} ({file_id}): {len(r.content)} bytes, "
                               f"SHA-256 {sha256(r.content)} downloaded")  # fmt: skip
        unexpected = [(f["name"], i) for i, f in listed.items()
                      if i not in self.files and f["name"] not in self.in_doubt]  # fmt: skip
        return lost, corrupt, unexpected


def list_files(server: LiveServer) -> dict[str, dict[str, Any]]:
    """alice's Files by id, every page."""
    out: dict[str, dict[str, Any]] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        r = requests.get(server.url + "/api/v1/files", params=params,
                         headers=server.auth("alice"), timeout=30)  # fmt: skip
        assert r.status_code == 200, r.text
        page = r.json()
        out.update((f["id"], f) for f in page["files"])
        cursor = page.get("next_cursor")
        if not cursor:
            return out


def put_file(server: LiveServer, ledger: Ledger, name: str, data: bytes) -> None:
    r = requests.put(f"{server.url}/api/v1/files/{name}", data=data,
                     headers=server.auth("alice"), timeout=60)  # fmt: skip
    assert r.status_code == 201, r.text
    ledger.add(r.json(), name, data)


def post_files(server: LiveServer, ledger: Ledger, files: dict[str, bytes]) -> None:
    body = multipart([file_part(n, d, "text/plain") for n, d in files.items()])
    r = requests.post(server.url + "/api/v1/files", data=body, timeout=60, headers={
        **server.auth("alice"), "Content-Type": multipart_type(BOUNDARY)})  # fmt: skip
    assert r.status_code == 201, r.text
    stored = r.json()["files"]
    assert [f["name"] for f in stored] == list(files), r.text
    for f in stored:
        ledger.add(f, f["name"], files[f["name"]])


def tus_patch(server: LiveServer, path: str, offset: int, data: bytes) -> requests.Response:
    headers = {**TUS, **server.auth("alice"), "Upload-Offset": str(offset), "Content-Type": OCTETS}
    return requests.patch(server.url + path, data=data, timeout=120, headers=headers)


def tus_file(server: LiveServer, ledger: Ledger, name: str, data: bytes, chunk: int) -> None:
    """A tus upload in PATCHes of ``chunk`` bytes, acknowledged by the last one."""
    path = tus_create(server, name, len(data))
    for start in range(0, len(data), chunk):
        r = tus_patch(server, path, start, data[start : start + chunk])
        assert r.status_code == 204, r.text
    file_id = r.headers["Upload-File-Id"]
    got = requests.get(f"{server.url}/api/v1/files/{file_id}", headers=server.auth("alice"),
                       timeout=30)  # fmt: skip
    assert got.status_code == 200, got.text
    ledger.add(got.json(), name, data)


def tus_offset(server: LiveServer, path: str) -> int:
    r = requests.head(server.url + path, headers={**TUS, **server.auth("alice")}, timeout=30)
    assert r.status_code == 200, (r.status_code, dict(r.headers))
    return int(r.headers["Upload-Offset"])


def tus_resume(server: LiveServer, path: str, data: bytes, timeout: float) -> requests.Response:
    """Send the rest from the upload's offset; a ``409`` (the dead writer's lease has not
    lapsed yet) is asked again until ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        offset = tus_offset(server, path)
        r = tus_patch(server, path, offset, data[offset:])
        if r.status_code != 409 or time.monotonic() >= deadline:
            return r
        time.sleep(0.5)


BACKGROUND_MAX = 400  # uploads at most: each one is downloaded and checked afterwards


class Background:
    """Small PUTs one after another from a thread while a fault happens: the answered ones go
    into the ledger, the unanswered ones are in doubt."""

    def __init__(self, server: LiveServer, ledger: Ledger, prefix: str) -> None:
        self.server, self.ledger, self.prefix = server, ledger, prefix
        self.answered = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Background:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(120)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set() and n < BACKGROUND_MAX:
            n += 1
            name = f"{self.prefix}-{n}.txt"
            data = text_bytes(32 * 1024)
            self.ledger.in_doubt.add(name)
            try:
                r = requests.put(f"{self.server.url}/api/v1/files/{name}", data=data,
                                 headers=self.server.auth("alice"), timeout=60)  # fmt: skip
            except requests.RequestException as exc:
                self.errors.append(f"{name}: {type(exc).__name__}")
                if isinstance(getattr(exc.args[0] if exc.args else None, "reason", None),
                              NewConnectionError):  # fmt: skip
                    self.ledger.in_doubt.discard(name)  # refused: it never reached a server
                    self.ledger.interrupted.add(name)
                self._stop.wait(0.05)
                continue
            if r.status_code == 201:
                self.ledger.in_doubt.discard(name)
                self.ledger.add(r.json(), name, data)
                self.answered += 1
            else:
                self.errors.append(f"{name}: {r.status_code} {r.text[:200]}")
                self.ledger.in_doubt.discard(name)
                self.ledger.interrupted.add(name)  # refused: it must not be a File
            self._stop.wait(0.05)


# What a server holds ----------------------------------------------------------------------------


@dataclass
class Inventory:
    """Everything that may hold upload bytes: ``staging:NAME`` and ``files:PATH`` under the data
    dir, ``s3:KEY`` objects and ``mpu:KEY:ID`` unfinished multipart uploads, each with its size;
    and the storage keys the File rows name."""

    items: dict[str, int]
    referenced: set[str]

    @classmethod
    def take(cls, server: LiveServer, s3: Any = None, bucket: str = "") -> Inventory:
        items: dict[str, int] = {}
        for area in ("staging", "files"):
            root = server.data_dir / area
            if root.exists():
                for p in root.rglob("*"):
                    if p.is_file():
                        items[f"{area}:{p.relative_to(root)}"] = p.stat().st_size
        if s3 is not None:
            client = s3.client()
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for obj in page.get("Contents", []):
                    items[f"s3:{obj['Key']}"] = int(obj["Size"])
            for up in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
                parts = client.list_parts(Bucket=bucket, Key=up["Key"], UploadId=up["UploadId"])
                size = sum(int(p["Size"]) for p in parts.get("Parts", []))
                items[f"mpu:{up['Key']}:{up['UploadId']}"] = size
        return cls(items, file_keys(server.data_dir))

    @staticmethod
    def key_of(item: str) -> str:
        """The storage key (or staging id) an item is named by."""
        kind, _, rest = item.partition(":")
        if kind == "mpu":
            return rest.rsplit(":", 1)[0]
        if kind == "staging":
            return Path(rest).name.removesuffix(".part")
        return Path(rest).name

    def unreferenced(self, keep: Callable[[str], bool] = lambda _key: False) -> dict[str, int]:
        """Items no File refers to, less those whose key ``keep`` says to keep."""
        return {i: n for i, n in self.items.items()
                if self.key_of(i) not in self.referenced and not keep(self.key_of(i))}  # fmt: skip


def file_keys(data_dir: Path) -> set[str]:
    """Every storage key a File row names (its bytes and its thumbnail)."""
    conn = sqlite3.connect(data_dir / "airlock.db", timeout=30)
    try:
        rows = conn.execute("SELECT storage_key, thumbnail_key FROM files").fetchall()
    finally:
        conn.close()
    return {k for row in rows for k in row if k}


def belongs_to_upload(upload_id: str) -> Callable[[str], bool]:
    """For ``Inventory.unreferenced``: the bytes of this tus upload (its staging file; with S3
    its object, manifest, tails and multipart upload, all named from its id)."""
    return lambda key: key == upload_id or key.startswith(upload_id + ".")


def total(items: dict[str, int]) -> int:
    return sum(items.values())


def gc(server: LiveServer) -> str:
    """``airlock gc`` on the server's data dir and settings; its output."""
    return cli(server.data_dir, "gc", env=server.env)
