"""Real request bodies, captured at test time from real clients (nothing committed, no network).

* ``CaptureServer``: a raw TCP HTTP/1.1 server on 127.0.0.1 (ephemeral port, one thread per
  connection, every socket on a timeout) that reads one request per connection, framed by
  ``Content-Length`` or chunked (``Expect: 100-continue`` answered), keeps its head and its
  de-chunked body, answers ``200`` and closes. ``GET`` of a path in ``pages`` is answered with
  that page (so a browser can submit a form to the same origin); any other ``GET`` gets a 404
  and is not kept.
* ``curl_post``: Debian's ``curl`` sending ``-F`` / ``--form-string`` arguments to it.
* ``in_chromium``: a function run against Debian's Chromium, launched as ``tests/ui`` launches
  it, on a thread of its own (Playwright's sync API refuses to start while another sync
  Playwright, such as the UI suite's session fixture, is running on the same thread).

A missing ``curl`` or ``chromium`` fails the test with a message saying what to install; it
never skips.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import pytest
from playwright.sync_api import Browser, sync_playwright
from werkzeug.http import parse_options_header

from tests.ui.conftest import CHROMIUM_ARGS, chromium_path

T = TypeVar("T")

MAX_HEAD = 64 * 1024
MAX_BODY = 4 * 2**20
SOCKET_TIMEOUT = 10.0


@dataclass(frozen=True)
class Captured:
    """One request as it arrived: request line, headers in order, the body (de-chunked) and
    whether it came chunked."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    chunked: bool

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (any case), if any."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    @property
    def content_type(self) -> tuple[str, dict[str, str]]:
        """The Content-Type's media type and parameters, as Airlock's API parses them."""
        return parse_options_header(self.header("Content-Type") or "")


class _Conn:
    """Buffered reads from one client socket, bounded in size and time."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()

    def _more(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the client closed the connection mid-request")
        self.buf.extend(data)
        if len(self.buf) > MAX_HEAD + MAX_BODY:
            raise ConnectionError("the request is larger than a capture may be")

    def until(self, marker: bytes, limit: int) -> bytes:
        while (at := self.buf.find(marker)) < 0:
            if len(self.buf) > limit:
                raise ConnectionError(f"no {marker!r} within {limit} bytes")
            self._more()
        out = bytes(self.buf[: at + len(marker)])
        del self.buf[: at + len(marker)]
        return out

    def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._more()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def chunked_body(self) -> bytes:
        body = bytearray()
        while True:
            size_line = self.until(b"\r\n", 1024)
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while self.until(b"\r\n", MAX_HEAD) != b"\r\n":  # trailers, up to a blank line
                    pass
                return bytes(body)
            body.extend(self.exactly(size))
            if len(body) > MAX_BODY:
                raise ConnectionError("the chunked body is larger than a capture may be")
            if self.exactly(2) != b"\r\n":
                raise ConnectionError("a chunk is not followed by CRLF")


def _response(status: str, content_type: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class CaptureServer:
    """Keeps every request with a body that reaches it; use as a context manager. All of it
    stops by itself ``lifetime`` seconds after start at the latest."""

    def __init__(self, pages: dict[str, str] | None = None, lifetime: float = 120.0) -> None:
        self.pages = pages or {}
        self.lifetime = lifetime
        self.captured: list[Captured] = []
        self.errors: list[str] = []
        self._cond = threading.Condition()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._thread = threading.Thread(target=self._serve, name="capture-server", daemon=True)
        self._stop = threading.Event()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> CaptureServer:
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._deadline = time.monotonic() + self.lifetime
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(sock,), daemon=True).start()

    def _handle(self, sock: socket.socket) -> None:
        # Browsers open spare connections they may never use: those just time out.
        with sock:
            sock.settimeout(SOCKET_TIMEOUT)
            try:
                self._exchange(_Conn(sock))
            except (OSError, ValueError) as exc:
                with self._cond:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                    self._cond.notify_all()

    def _exchange(self, conn: _Conn) -> None:
        try:
            head = conn.until(b"\r\n\r\n", MAX_HEAD)
        except ConnectionError:
            if not conn.buf:
                return  # a spare connection, closed unused
            raise
        request_line, *lines = head[:-4].decode("latin-1").split("\r\n")
        method, target, _version = request_line.split(" ", 2)
        headers = tuple(
            (k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines)
        )
        fields = {k.lower(): v for k, v in headers}
        if method == "GET":
            page = self.pages.get(target.split("?")[0])
            if page is None:
                conn.sock.sendall(_response("404 Not Found", "text/plain", b"not here"))
            else:
                html = page.encode("utf-8")
                conn.sock.sendall(_response("200 OK", "text/html; charset=utf-8", html))
            return
        if fields.get("expect", "").lower() == "100-continue":
            conn.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        chunked = "chunked" in fields.get("transfer-encoding", "").lower()
        if chunked:
            body = conn.chunked_body()
        else:
            body = conn.exactly(int(fields.get("content-length", "0")))
        with self._cond:
            self.captured.append(Captured(method, target, headers, body, chunked))
            self._cond.notify_all()
        conn.sock.sendall(_response("200 OK", "text/plain; charset=utf-8", b"captured"))

    def wait_for(self, target: str, timeout: float = 30.0) -> Captured:
        """The first request kept for ``target``; fails the test if none came in time."""
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [c for c in self.captured if c.target == target]
                if found:
                    return found[0]
                left = end - time.monotonic()
                if left <= 0:
                    pytest.fail(
                        f"no request to {target} reached the capture server within {timeout}s "
                        f"(kept: {[c.target for c in self.captured]}, errors: {self.errors})"
                    )
                self._cond.wait(left)


def curl_post(url: str, *form: str, chunked: bool = False, timeout: float = 30.0) -> None:
    """POST with Debian's curl: ``form`` are curl's own form arguments (``-F``,
    ``--form-string`` and their values), so curl builds the multipart body itself."""
    curl = shutil.which("curl")
    if curl is None:
        pytest.fail(
            "curl is not installed: the captured-multipart tests drive Debian's `curl` "
            "(apt-get install curl)."
        )
    extra = ["-H", "Transfer-Encoding: chunked"] if chunked else []
    result = subprocess.run(
        [curl, "--silent", "--show-error", "--fail", "--noproxy", "*", "--max-time", "20",
         "-o", "/dev/null", *extra, *form, url],
        capture_output=True, timeout=timeout,
    )  # fmt: skip
    if result.returncode != 0:
        pytest.fail(f"curl failed ({result.returncode}): {result.stderr.decode(errors='replace')}")


def in_chromium(work: Callable[[Browser], T], timeout: float = 60.0) -> T:
    """``work(browser)`` against headless Debian Chromium on a thread of its own; its result,
    or its exception re-raised here."""
    executable = chromium_path()  # fails the test here, on the test's thread, when missing
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=executable, headless=True, args=CHROMIUM_ARGS
                )
                try:
                    outcome.append(work(browser))
                finally:
                    browser.close()
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name="capture-chromium", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        pytest.fail(f"Chromium did not finish within {timeout}s")
    if failure:
        raise failure[0]
    return outcome[0]
