"""Slow clients cannot stall the service: bodies that stop or trickle below the minimum rate are
cut off with ``408`` and leave nothing behind, clients that never finish their headers are
dropped, and meanwhile everyone else is served. A tus upload that keeps the rate completes.

Bounded: at most 64 sockets, for at most about a minute, on 127.0.0.1 only. The server runs
with a 3 s allowance and 2,000 bytes/s, so the cut comes within seconds."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from tests.e2e.conftest import Backend, serving
from tests.support.bodies import Leftovers, RawResponse, assert_alive, expect_error, raw_request
from tests.support.server import LiveServer

GRACE = 3  # AIRLOCK_BODY_TIMEOUT and AIRLOCK_HEADER_TIMEOUT
MIN_RATE = 2000  # AIRLOCK_BODY_MIN_RATE
HOLD = 30  # AIRLOCK_BODY_TIMEOUT of the server whose upload slots are counted
TRICKLERS = 24
STALLED_HEADERS = 24
TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Iterator[LiveServer]:
    env = {"AIRLOCK_BODY_TIMEOUT": str(GRACE), "AIRLOCK_HEADER_TIMEOUT": str(GRACE),
           "AIRLOCK_BODY_MIN_RATE": str(MIN_RATE), "AIRLOCK_MAX_UPLOADS_PER_USER": "32"}  # fmt: skip
    yield from serving(tmp_path_factory, backend, "slow", env)


def _trickle(rate: float, total: int, stop: threading.Event) -> Iterator[bytes]:
    """One byte every 1/rate seconds, until ``total`` or ``stop``."""
    for _ in range(total):
        if stop.wait(1 / rate):
            return
        yield b"x"


def _stalled_headers(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(b"G")  # one byte of a request line, then nothing
    return sock


def test_trickling_bodies_and_stalled_headers_do_not_stall_the_service(
    server: LiveServer,
) -> None:
    before = Leftovers.take(server)
    stop = threading.Event()
    answers: list[RawResponse | BaseException] = []
    lock = threading.Lock()

    def trickler(i: int) -> None:
        headers = {**server.auth("bob"), "Content-Length": "100000"}
        try:
            r = raw_request(server.url, "PUT", f"/api/v1/files/slow-{i}.txt", headers,
                            _trickle(5, 100000, stop), timeout=60)  # fmt: skip
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion below
            r = exc  # type: ignore[assignment]
        with lock:
            answers.append(r)

    stalled = [_stalled_headers(server) for _ in range(STALLED_HEADERS)]
    threads = [threading.Thread(target=trickler, args=(i,), daemon=True) for i in range(TRICKLERS)]
    for t in threads:
        t.start()
    try:
        time.sleep(1)  # every slow client is connected and holding what it can
        # Everyone else is served meanwhile (the timeouts bound the wait, they time nothing).
        assert requests.get(server.url + "/healthz", timeout=10).status_code == 200
        data = b"a normal upload\n" * 65536  # 1 MiB
        r = requests.put(server.url + "/api/v1/files/normal.txt", data=data,
                         headers=server.auth("alice"), timeout=10)  # fmt: skip
        assert r.status_code == 201, r.text
        assert r.json()["size"] == len(data)
        requests.delete(server.url + r.json()["links"]["self"], headers=server.auth("alice"),
                        timeout=10)  # fmt: skip

        for t in threads:
            t.join(timeout=45)
        assert len(answers) == TRICKLERS, "a trickling body was never cut off"
        for answer in answers:
            assert isinstance(answer, RawResponse), answer
            expect_error(answer, 408, "bad_request")
            assert answer.headers["Connection"] == "close"
            assert not answer.sent_all

        # The stalled request lines are dropped without an answer once their time is up.
        for sock in stalled:
            sock.settimeout(30)
            try:
                assert sock.recv(1024) == b""
            except ConnectionResetError:
                pass
    finally:
        stop.set()
        for sock in stalled:
            sock.close()
    before.assert_clean(settle=10)
    assert_alive(server)


def test_a_body_that_stops_is_cut_off(server: LiveServer) -> None:
    before = Leftovers.take(server)
    body = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nabc"
    headers = {**server.auth("bob"), "Content-Type": "multipart/form-data; boundary=b",
               "Transfer-Encoding": "chunked"}  # fmt: skip
    chunk = b"%x\r\n%s\r\n" % (len(body), body)
    stop = threading.Event()

    def then_silence() -> Iterator[bytes]:
        yield chunk
        stop.wait(40)

    r = raw_request(server.url, "POST", "/api/v1/files", headers, then_silence(), timeout=40)
    stop.set()
    expect_error(r, 408, "bad_request")
    before.assert_clean(settle=10)


def test_a_tus_upload_that_keeps_the_rate_completes(server: LiveServer) -> None:
    """At 64 KiB/s, far above the minimum rate: never cut, whatever its length."""
    data = b"steady tus bytes\n" * (320 * 1024 // 17)  # about 320 KiB: 5 s at 64 KiB/s
    headers = {**TUS, **server.auth("alice")}
    meta = "filename " + base64.b64encode(b"steady.txt").decode()
    created = requests.post(server.url + "/api/v1/tus/", timeout=10, headers={
        **headers, "Upload-Length": str(len(data)), "Upload-Metadata": meta})  # fmt: skip
    assert created.status_code == 201, created.text

    def paced() -> Iterator[bytes]:
        for start in range(0, len(data), 8192):
            time.sleep(8192 / (64 * 1024))
            yield data[start : start + 8192]

    r = requests.patch(server.url + created.headers["Location"], data=paced(), timeout=60,
                       headers={**headers, "Upload-Offset": "0",
                                "Content-Type": "application/offset+octet-stream"})  # fmt: skip
    assert r.status_code == 204, r.text
    file_id = r.headers["Upload-File-Id"]
    got = requests.get(f"{server.url}/api/v1/files/{file_id}/content", headers=headers, timeout=10)
    assert got.content == data


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Iterator[LiveServer]:
    # A longer allowance: the slow bodies must hold their slots while the test looks.
    env = {"AIRLOCK_BODY_TIMEOUT": str(HOLD), "AIRLOCK_BODY_MIN_RATE": str(MIN_RATE),
           "AIRLOCK_MAX_UPLOADS_PER_USER": "2", "AIRLOCK_MAX_UPLOADS_PER_ADDRESS": "3"}
    yield from serving(tmp_path_factory, backend, "capped", env)


def test_concurrent_uploads_are_capped_per_user_and_per_address(capped: LiveServer) -> None:
    """Two of bob's bodies arriving at once hold his two slots: a third is 429 at once, from
    any worker; alice may still upload until the address's three are taken. Slots come back
    when the bodies end (here: cut short by their clients)."""
    stop = threading.Event()
    answers: dict[str, RawResponse] = {}

    def slow_put(who: str, name: str) -> None:
        headers = {**capped.auth(who), "Content-Length": "100000"}
        answers[name] = raw_request(capped.url, "PUT", f"/api/v1/files/{name}", headers,
                                    _trickle(5, 100000, stop), half_close=True,
                                    timeout=HOLD + 30)  # fmt: skip

    def hold(who: str, name: str) -> threading.Thread:
        """A slow body that holds one of ``who``'s slots and one of the address's. Started
        while no probe of ours is in flight; sent again if the cap refused it all the same (a
        refusal comes at once, a body being read is still sending a second later)."""
        for _ in range(5):
            sender = threading.Thread(target=slow_put, args=(who, name), daemon=True)
            sender.start()
            sender.join(timeout=1.0)
            if sender.is_alive():
                return sender
            assert answers[name].status == 429, answers[name].body
        raise AssertionError(f"{name} never got a slot")

    threads = [hold("bob", f"hold-{i}.txt") for i in range(2)]
    try:
        deadline = time.monotonic() + 10
        while True:  # until both slow bodies are being read
            r = requests.put(capped.url + "/api/v1/files/third.txt", data=b"x\n",
                             headers=capped.auth("bob"), timeout=10)  # fmt: skip
            if r.status_code == 429 or time.monotonic() > deadline:
                break
            requests.delete(capped.url + r.json()["links"]["self"], headers=capped.auth("bob"),
                            timeout=10)  # fmt: skip
            time.sleep(0.2)
        expect_error(r, 429, "rate_limited")
        assert r.headers["Retry-After"] == "1"
        ok = requests.put(capped.url + "/api/v1/files/alice.txt", data=b"mine\n",
                          headers=capped.auth("alice"), timeout=10)  # fmt: skip
        assert ok.status_code == 201, ok.text  # the address's third slot
        requests.delete(capped.url + ok.json()["links"]["self"], headers=capped.auth("alice"),
                        timeout=10)  # fmt: skip
        threads.append(hold("alice", "hold-alice.txt"))
        deadline = time.monotonic() + 10
        while True:  # until alice's slow body holds the address's last slot
            r = requests.put(capped.url + "/api/v1/files/fourth.txt", data=b"x\n",
                             headers=capped.auth("alice"), timeout=10)  # fmt: skip
            if r.status_code == 429 or time.monotonic() > deadline:
                break
            requests.delete(capped.url + r.json()["links"]["self"],
                            headers=capped.auth("alice"), timeout=10)  # fmt: skip
            time.sleep(0.2)
        expect_error(r, 429, "rate_limited")
        assert "address" in r.json()["error"]["message"]
        stop.set()  # the slow bodies end short of their length: 400, and their slots are free
        for t in threads:
            t.join(timeout=HOLD + 30)
        assert [a.status for a in answers.values()] == [400, 400, 400], [
            a.body for a in answers.values()]  # fmt: skip
        again = requests.put(capped.url + "/api/v1/files/after.txt", data=b"x\n",
                             headers=capped.auth("bob"), timeout=10)  # fmt: skip
        assert again.status_code == 201, again.text
    finally:
        stop.set()
