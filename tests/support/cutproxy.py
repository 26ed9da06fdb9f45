"""A TCP proxy on 127.0.0.1 that can cut a connection mid-request, for resumable-upload tests.

It forwards bytes both ways between each client connection and one upstream ``host:port``.
After ``arm(n)``, once ``n`` more bytes of client→server traffic have passed (counted over all
connections), it forwards exactly up to the ``n``-th byte and then closes both sides of the
connection that carried it: the client sees its request fail at the transport level, the server
sees the body end early. It cuts once per ``arm``; ``cut`` is set when it has.

    with CutProxy("127.0.0.1", server_port) as proxy:
        proxy.arm(3 * 2**20 // 2)
        ... point the client at proxy.url ...
        assert proxy.cut.is_set()

Optionally it is also slow: ``throttle(bytes_per_second)`` paces the client→server bytes of each
connection (``throttle(None)``, the default, forwards at full speed), so a browser upload takes
long enough to be interrupted on purpose. A slow proxy keeps its receive buffers small, so the
client's own progress (bytes written to its socket) stays close to what reached the server.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

_BUF = 64 * 1024
_SLOW_BUF = 16 * 1024  # read size and receive buffer while throttled


class CutProxy:
    def __init__(
        self, upstream_host: str, upstream_port: int, rate: float | None = None
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._rate = rate  # client→server bytes per second per connection; None: unthrottled
        if rate is not None:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _SLOW_BUF)
        self.port: int = self._listener.getsockname()[1]
        self.cut = threading.Event()
        self.connections = 0  # accepted so far
        self.forwarded_up = 0  # client→server bytes forwarded, all connections
        self._lock = threading.Lock()
        self._budget: int | None = None  # client→server bytes left before the cut; None: unarmed
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._acceptor = threading.Thread(
            target=self._accept_loop, name="cutproxy-accept", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> CutProxy:
        self._acceptor.start()
        return self

    def arm(self, after_bytes: int) -> None:
        """Cut the connection that carries the ``after_bytes``-th client→server byte from now."""
        if after_bytes < 1:
            raise ValueError("after_bytes must be at least 1")
        with self._lock:
            self._budget = after_bytes
            self.cut.clear()

    def throttle(self, bytes_per_second: float | None) -> None:
        """Pace client→server bytes to ``bytes_per_second`` per connection from now on (None:
        full speed). Connections accepted while throttled get small receive buffers; to keep
        the client's progress honest, throttle before the client connects."""
        if bytes_per_second is not None and bytes_per_second <= 0:
            raise ValueError("bytes_per_second must be positive")
        with self._lock:
            self._rate = bytes_per_second
        if bytes_per_second is not None:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _SLOW_BUF)

    def close(self) -> None:
        """Stop accepting, close every connection and wait for the forwarding threads."""
        with self._lock:
            self._closed = True
            socks = list(self._open)
        if self._acceptor.is_alive():
            # close() does not wake a thread blocked in accept(); a connection does.
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=5).close()
            except OSError:
                pass
        self._acceptor.join(timeout=10)
        self._listener.close()
        for s in socks:
            _hard_close(s)
        for t in list(self._threads):
            t.join(timeout=10)

    def __enter__(self) -> CutProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # listener closed
            if self._closed:
                client.close()
                return
            try:
                server = socket.create_connection(self.upstream, timeout=10)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._closed:
                    client.close()
                    server.close()
                    return
                self.connections += 1
                self._open.update((client, server))
            pair = _Pair(client, server)
            for target in (self._pump_up, self._pump_down):
                t = threading.Thread(target=target, args=(pair,), name="cutproxy-pump", daemon=True)
                self._threads.append(t)
                t.start()

    def _pump_up(self, pair: _Pair) -> None:
        """client → server, counting bytes against the armed budget."""
        try:
            while True:
                rate = self._rate
                data = pair.client.recv(_BUF if rate is None else _SLOW_BUF)
                if not data:
                    break
                if rate is not None:
                    time.sleep(len(data) / rate)
                cut_here = False
                with self._lock:
                    if self._budget is not None:
                        if len(data) >= self._budget:
                            data, cut_here = data[: self._budget], True
                            self._budget = None
                        else:
                            self._budget -= len(data)
                    self.forwarded_up += len(data)
                if cut_here:
                    # From here on nothing the server answers may reach the client, however fast
                    # the answer comes back: the pump down drops it.
                    pair.severed.set()
                pair.server.sendall(data)
                if cut_here:
                    self.cut.set()  # before the close, which the client may notice at once
                    pair.close()
                    return
            # The client finished sending: pass the half-close on, keep reading the answer.
            pair.server.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            pair.done(self)

    def _pump_down(self, pair: _Pair) -> None:
        """server → client, untouched until a cut severs the connection."""
        try:
            while True:
                data = pair.server.recv(_BUF)
                if not data or pair.severed.is_set():
                    break
                pair.client.sendall(data)
            pair.client.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            pair.done(self)


class _Pair:
    """The two sockets of one proxied connection; closed when both pumps are done or on a cut."""

    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client, self.server = client, server
        self.severed = threading.Event()
        self._pending = 2
        self._lock = threading.Lock()

    def close(self) -> None:
        _hard_close(self.client)
        _hard_close(self.server)

    def done(self, proxy: CutProxy) -> None:
        with self._lock:
            self._pending -= 1
            last = self._pending == 0
        if last:
            self.close()
            with proxy._lock:
                proxy._open.discard(self.client)
                proxy._open.discard(self.server)


def _hard_close(s: socket.socket) -> None:
    """Shut both directions (waking any thread blocked in recv) and close."""
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()
