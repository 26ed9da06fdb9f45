"""``airlock upload`` as a subprocess against a live ``airlock serve``: resuming after the client
was killed, retries through a flaky connection, rejections, visibility, usage errors.

Where timing would matter a small TCP proxy makes it deterministic: it can hold the client's
bytes (the client is then killed mid-upload, whatever the machine's speed), cut connections,
or answer 503 in the server's place.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from airlock.client.state import fingerprint_file
from tests.e2e.test_streaming import make_stored_zip
from tests.support import samples
from tests.support.server import AIRLOCK, LiveServer

MiB = 2**20
TUS = {"Tus-Resumable": "1.0.0"}


# -- a proxy that can hold, cut or refuse ---------------------------------------------------------


class Proxy:
    """Forwards 127.0.0.1:port to the server. ``hold_after(n)``: a connection that would pass
    the ``n``-th client byte up stops there (``held`` is set) until ``release()``. ``cut_at``:
    byte counts (over all traffic up) at which the carrying connection is cut. ``refuse``: this
    many new connections get a 503 instead of the server. ``down``: what the server answered."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.up = 0
        self.down = bytearray()
        self.hold_at: int | None = None
        self.cut_at: list[int] = []
        self.refuse = 0
        self.cuts = 0
        self.held = threading.Event()
        self._lock = threading.Lock()
        self._holding: list[tuple[threading.Event, socket.socket, socket.socket]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def hold_after(self, n: int) -> None:
        self.hold_at = n

    def pass_new(self) -> None:
        """New traffic flows again; held connections stay held."""
        self.hold_at = None

    def release(self, cut: bool) -> None:
        """Pass everything from now on; held connections are cut (``cut``) or carry on."""
        self.hold_at = None
        with self._lock:
            holding, self._holding = self._holding, []
        for go, client, server in holding:
            if cut:
                _close(client)
                _close(server)
            go.set()

    def close(self) -> None:
        self.listener.close()
        self.release(cut=True)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                refuse = self.refuse > 0
                self.refuse -= refuse
            if refuse:
                client.recv(65536)
                client.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                               b"Connection: close\r\n\r\n")  # fmt: skip
                _close(client)
                continue
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._pump_up, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pump_down, args=(server, client), daemon=True).start()

    def _pump_up(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                go = None
                with self._lock:
                    if self.hold_at is not None and self.up + len(data) > self.hold_at:
                        data = data[: max(0, self.hold_at - self.up)]
                        go = threading.Event()
                        self._holding.append((go, src, dst))
                    cut = bool(self.cut_at) and self.up + len(data) >= self.cut_at[0]
                    if cut:
                        data = data[: self.cut_at.pop(0) - self.up]
                        self.cuts += 1
                    self.up += len(data)
                dst.sendall(data)
                if cut:
                    break
                if go is not None:
                    self.held.set()
                    go.wait()
                    return  # what was held is lost: the client was killed meanwhile
        except OSError:
            pass
        _close(src)
        _close(dst)

    def _pump_down(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                with self._lock:
                    self.down += data[:4096]
                dst.sendall(data)
        except OSError:
            pass
        _close(src)
        _close(dst)


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()


@pytest.fixture
def proxy(server: LiveServer) -> Iterator[Proxy]:
    p = Proxy(server.port)
    try:
        yield p
    finally:
        p.close()


# -- helpers -------------------------------------------------------------------------------------


def env_for(server: LiveServer, state: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_")}
    return {**env, "AIRLOCK_TOKEN": server.tokens["alice"], "AIRLOCK_SERVER": server.url,
            "AIRLOCK_UPLOAD_STATE": str(state), **extra}  # fmt: skip


def upload(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AIRLOCK, "upload", *args], capture_output=True, text=True,
                          env=env, timeout=600)  # fmt: skip


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(MiB):
            digest.update(block)
    return digest.hexdigest()


def file_json(server: LiveServer, url: str) -> dict[str, object]:
    """The File behind a URL that ``airlock upload`` printed (through a proxy or not)."""
    path = urlsplit(url).path
    assert path.startswith("/api/v1/files/"), url
    r = requests.get(server.url + path, headers=server.auth("alice"), timeout=30)
    assert r.status_code == 200, r.text
    data: dict[str, object] = r.json()
    return data


def wait_for(predicate: Callable[[], object], what: str, timeout: float = 120) -> object:
    """Poll until ``predicate()`` is truthy (the deadline only stops a hung test)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def file_count(server: LiveServer) -> int:
    r = requests.get(server.url + "/api/v1/files?limit=500", headers=server.auth("alice"),
                     timeout=30)  # fmt: skip
    return len(r.json()["files"])


# -- the tests ----------------------------------------------------------------------------------


def test_killed_halfway_then_run_again_resumes_and_the_file_is_intact(
    server: LiveServer, proxy: Proxy, tmp_path: Path
) -> None:
    big = tmp_path / "big.zip"
    sha = make_stored_zip(big, 60 * MiB)
    state = tmp_path / "state.json"
    env = env_for(server, state, AIRLOCK_SERVER=proxy.url)
    proxy.hold_after(25 * MiB)  # the client can send about 24 chunks, then it stalls
    with open(tmp_path / "err1", "w") as err:
        first = subprocess.Popen([*AIRLOCK, "upload", "--chunk-size", "1MiB", str(big)],
                                 stdout=subprocess.PIPE, stderr=err, env=env)  # fmt: skip
    try:
        wait_for(proxy.held.is_set, "the client to stall at the proxy")
        upload_url = wait_for(
            lambda: state.exists() and next(iter(json.loads(state.read_text()).values()))["url"],
            "the upload URL in the state file",
        )
        assert isinstance(upload_url, str)
        direct = server.url + urlsplit(upload_url).path

        def server_offset() -> int:
            r = requests.head(direct, headers={**TUS, **server.auth("alice")}, timeout=30)
            assert r.status_code == 200, r.status_code
            return int(r.headers["Upload-Offset"])

        offset = wait_for(lambda: server_offset() >= MiB and server_offset(), "chunks to arrive")
        assert isinstance(offset, int) and offset < big.stat().st_size
        assert first.poll() is None  # still uploading, stuck behind the proxy
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
        assert first.stdout is not None
        first.stdout.close()
    proxy.release(cut=True)  # the network comes back; the dead client's connection is gone

    second = upload(env, "--chunk-size", "1MiB", str(big))
    assert second.returncode == 0, second.stderr
    resumed = [line for line in second.stderr.splitlines() if line.startswith("resuming ")]
    assert len(resumed) == 1, second.stderr
    at = int(resumed[0].removeprefix("resuming big.zip at ").removesuffix(" bytes"))
    assert at >= offset  # carried on from where the server was, not from zero
    (url,) = second.stdout.split()
    assert url.startswith(proxy.url + "/api/v1/files/")
    info = file_json(server, url)
    assert info["sha256"] == sha and info["size"] == big.stat().st_size
    assert info["visibility"] == "private" and info["name"] == "big.zip"
    assert json.loads(state.read_text()) == {}  # done: nothing left to resume
    r = requests.head(direct, headers={**TUS, **server.auth("alice")}, timeout=30,
                      allow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["Location"].endswith(str(info["id"]))


def test_resuming_waits_out_the_lease_of_a_connection_that_did_not_close(
    server: LiveServer, proxy: Proxy, tmp_path: Path
) -> None:
    path = tmp_path / "lease.zip"
    sha = make_stored_zip(path, 8 * MiB)
    env = env_for(server, tmp_path / "s.json", AIRLOCK_SERVER=proxy.url)
    proxy.hold_after(3 * MiB)
    first = subprocess.Popen(
        [*AIRLOCK, "upload", "--chunk-size", "1MiB", str(path)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for(proxy.held.is_set, "the client to stall at the proxy")
    first.kill()
    first.wait(timeout=30)
    # The dead client's PATCH stays open at the server (a network that vanished without a
    # FIN): the server keeps its lease on the upload and answers 409 to anyone else.
    proxy.pass_new()
    with open(tmp_path / "out", "w") as out, open(tmp_path / "err", "w") as err:
        second = subprocess.Popen([*AIRLOCK, "upload", "--chunk-size", "1MiB", str(path)],
                                  stdout=out, stderr=err, env=env)  # fmt: skip
    try:
        wait_for(lambda: b"HTTP/1.1 409" in proxy.down, "the second run to meet the lease")
        proxy.release(cut=True)  # the stale connection finally dies; the lease goes with it
        assert second.wait(timeout=300) == 0, (tmp_path / "err").read_text()
    finally:
        if second.poll() is None:
            second.kill()
    assert "resuming lease.zip at " in (tmp_path / "err").read_text()
    (url,) = (tmp_path / "out").read_text().split()
    assert file_json(server, url)["sha256"] == sha


def test_retries_through_cut_connections_and_a_503(
    server: LiveServer, proxy: Proxy, tmp_path: Path
) -> None:
    path = tmp_path / "flaky.zip"
    sha = make_stored_zip(path, 5 * MiB)
    proxy.refuse = 1  # the creation POST first meets a 503
    proxy.cut_at = [int(1.5 * MiB), int(3.2 * MiB)]  # then two PATCHes die mid-body
    result = upload(env_for(server, tmp_path / "s.json", AIRLOCK_SERVER=proxy.url),
                    "--chunk-size", "1MiB", str(path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert proxy.cuts == 2 and proxy.refuse == 0
    assert "resuming" not in result.stderr  # retries within a run are not resumes
    (url,) = result.stdout.split()
    assert file_json(server, url)["sha256"] == sha


def test_a_rejected_file_fails_alone_with_one_line(server: LiveServer, tmp_path: Path) -> None:
    bad = tmp_path / "x.txt"
    bad.write_bytes(b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>\n")
    good = tmp_path / "notes.txt"
    good.write_bytes(b"plain words\n" * 1000)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    state = tmp_path / "s.json"
    result = upload(env_for(server, state), "--chunk-size", "4KiB", str(bad), str(good),
                    str(empty))  # fmt: skip
    assert result.returncode == 1
    (url,) = result.stdout.split()
    info = file_json(server, url)
    assert info["name"] == "notes.txt" and info["sha256"] == sha256_of(good)
    reasons = [line for line in result.stderr.splitlines() if line.startswith(("x.txt:", "empty"))]
    assert len(reasons) == 2, result.stderr
    assert reasons[0].startswith("x.txt: ") and reasons[0].endswith("(type_not_allowed)")
    assert reasons[1].startswith("empty.txt: ") and reasons[1].endswith("(empty_file)")
    assert "2 of 3 files failed" in result.stderr
    assert json.loads(state.read_text()) == {}  # rejected uploads are deleted: nothing to resume


def test_public_and_private(server: LiveServer, tmp_path: Path) -> None:
    pic = tmp_path / "pic.png"
    pic.write_bytes(samples.png(3, 3))
    env = env_for(server, tmp_path / "s.json")
    public = upload(env, "--public", str(pic))
    assert public.returncode == 0, public.stderr
    # A public File's printed address is the one anyone may open, without a token.
    printed = public.stdout.strip()
    assert printed.startswith(f"{server.url}/f/") and printed.endswith("/pic.png"), printed
    anonymous = requests.get(printed, timeout=30)
    assert anonymous.status_code == 200 and anonymous.content == pic.read_bytes()
    file_id = printed.split("/f/")[1].split("/")[0]
    assert file_json(server, f"{server.url}/api/v1/files/{file_id}")["visibility"] == "public"
    private = upload(env, str(pic))  # same file, other visibility: a new upload, not a resume
    assert private.returncode == 0, private.stderr
    assert "resuming" not in private.stderr
    assert file_json(server, private.stdout.strip())["visibility"] == "private"


def test_a_finished_upload_is_reported_not_sent_again(server: LiveServer, tmp_path: Path) -> None:
    path = tmp_path / "done.txt"
    path.write_bytes(b"finished earlier\n")
    state = tmp_path / "s.json"
    # An earlier run sent every byte and was killed before it could print the URL.
    r = requests.post(server.url + "/api/v1/tus/", timeout=30, headers={
        **TUS, **server.auth("alice"), "Upload-Length": str(path.stat().st_size),
        "Upload-Metadata": "filename ZG9uZS50eHQ=,visibility cHJpdmF0ZQ==",
    })  # fmt: skip
    assert r.status_code == 201, r.text
    upload_url = urljoin(server.url + "/api/v1/tus/", r.headers["Location"])
    r = requests.patch(upload_url, data=path.read_bytes(), timeout=30, headers={
        **TUS, **server.auth("alice"), "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream",
    })  # fmt: skip
    assert r.status_code == 204, r.text
    file_id = r.headers["Upload-File-Id"]
    key, _ = fingerprint_file(server.url, str(path), "private")
    state.write_text(json.dumps({key: {"url": upload_url, "saved": int(time.time())}}))
    before = file_count(server)

    result = upload(env_for(server, state), str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{server.url}/api/v1/files/{file_id}"
    assert file_count(server) == before
    assert json.loads(state.read_text()) == {}


def test_a_stored_upload_that_is_gone_starts_over(server: LiveServer, tmp_path: Path) -> None:
    path = tmp_path / "again.txt"
    path.write_bytes(b"second try\n")
    state = tmp_path / "s.json"
    key, _ = fingerprint_file(server.url, str(path), "private")
    gone = server.url + "/api/v1/tus/NoSuchUploadAtAll0000000"
    state.write_text(json.dumps({key: {"url": gone, "saved": int(time.time())}}))
    result = upload(env_for(server, state), str(path))
    assert result.returncode == 0, result.stderr
    assert "again.txt: the earlier upload is gone; starting over" in result.stderr
    assert file_json(server, result.stdout.strip())["sha256"] == sha256_of(path)


def test_usage_errors(server: LiveServer, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"a\n")
    env = env_for(server, tmp_path / "s.json")
    del env["AIRLOCK_TOKEN"]
    no_token = upload(env, str(path))
    assert no_token.returncode == 2 and "no API token" in no_token.stderr
    assert no_token.stdout == ""
    bad_size = upload(env, "--token", server.tokens["alice"], "--chunk-size", "lots", str(path))
    assert bad_size.returncode == 2 and "is not a size" in bad_size.stderr
    missing = upload(env, "--token", server.tokens["alice"], str(tmp_path / "nope.txt"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    bad_token = upload(env, "--token", "al_wrong", str(path))
    assert bad_token.returncode == 1
    assert bad_token.stderr.strip().endswith("(unauthorized)"), bad_token.stderr
    # --server and --token on the command line win over the environment.
    ok = upload({**env, "AIRLOCK_SERVER": "http://127.0.0.1:9"}, "--server", server.url,
                "--token", server.tokens["alice"], str(path))  # fmt: skip
    assert ok.returncode == 0, ok.stderr


def test_parallel_uploads_all_arrive(server: LiveServer, tmp_path: Path) -> None:
    paths = []
    for i in range(5):
        p = tmp_path / f"part{i}.zip"
        make_stored_zip(p, (i + 1) * MiB)
        paths.append(p)
    result = upload(env_for(server, tmp_path / "s.json"), "--parallel", "3",
                    "--chunk-size", "512KiB", *map(str, paths))  # fmt: skip
    assert result.returncode == 0, result.stderr
    urls = result.stdout.split()
    assert len(urls) == 5
    got = {file_json(server, u)["name"]: file_json(server, u)["sha256"] for u in urls}
    assert got == {p.name: sha256_of(p) for p in paths}
    assert result.stderr.splitlines()[-1].startswith("total (5 files)")


def test_expires_sets_the_files_lifetime(server: LiveServer, tmp_path: Path) -> None:
    path = tmp_path / "brief.txt"
    path.write_bytes(b"gone tomorrow\n")
    env = env_for(server, tmp_path / "s.json")
    result = upload(env, "--expires", "1d", str(path))
    assert result.returncode == 0, result.stderr
    info = file_json(server, result.stdout.strip())
    assert info["expires_at"] is not None
    bad = upload(env, "--expires", "soon", str(path))
    assert bad.returncode == 2 and "--expires" in bad.stderr


def test_a_server_that_is_not_there_is_said_at_once(tmp_path: Path) -> None:
    """Nobody listens: the first failed attempt is reported while the command goes on
    retrying, instead of saying nothing until it gives up."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    path = tmp_path / "a.txt"
    path.write_bytes(b"x\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_")}
    env.update(AIRLOCK_TOKEN="al_x", AIRLOCK_UPLOAD_STATE=str(tmp_path / "s.json"))
    proc = subprocess.Popen([*AIRLOCK, "upload", "--server", f"http://127.0.0.1:{port}",
                             str(path)], stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # the first lines, long before the attempts run out
            if "retrying" in line:
                assert f"127.0.0.1:{port}" in line and "Ctrl+C" in line
                break
        else:
            raise AssertionError("the command gave up without saying it was retrying")
    finally:
        proc.kill()
        proc.wait(timeout=30)
        if proc.stderr is not None:
            proc.stderr.close()
