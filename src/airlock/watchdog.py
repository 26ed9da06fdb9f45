"""Cutting off slow clients: one thread per process watches the deadlines of the sockets being
read (a request's headers, its body) and, once one has passed, shuts that socket's reading side.
A read blocked on it then returns at once, so no thread waits on a client longer than its
allowance, while the answer (``408``) can still be written."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass

PERIOD = 0.25  # seconds between looks: how late past its deadline a client may be cut


@dataclass
class _Watch:
    sock: socket.socket
    deadline: float
    fired: bool = False


class Watchdog:
    """Deadlines of sockets, enforced by a thread started on first use (so after a fork)."""

    def __init__(self, period: float = PERIOD) -> None:
        self._period = period
        self._lock = threading.Lock()
        self._watched: dict[int, _Watch] = {}
        self._thread: threading.Thread | None = None

    def arm(self, sock: socket.socket, deadline: float) -> None:
        """Cut ``sock`` off at ``deadline`` (``time.monotonic()``), replacing any earlier one."""
        with self._lock:
            watch = self._watched.get(id(sock))
            if watch is None or watch.sock is not sock:
                self._watched[id(sock)] = _Watch(sock, deadline)
            else:
                watch.deadline = deadline
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="airlock-watchdog",
                                                daemon=True)  # fmt: skip
                self._thread.start()

    def disarm(self, sock: socket.socket) -> None:
        """Stop watching ``sock``."""
        with self._lock:
            watch = self._watched.get(id(sock))
            if watch is not None and watch.sock is sock:
                del self._watched[id(sock)]

    def fired(self, sock: socket.socket) -> bool:
        """Whether ``sock`` was cut off (and is still watched)."""
        with self._lock:
            watch = self._watched.get(id(sock))
            return watch is not None and watch.sock is sock and watch.fired

    def _run(self) -> None:
        while True:
            time.sleep(self._period)
            now = time.monotonic()
            with self._lock:
                due = [w for w in self._watched.values() if not w.fired and w.deadline <= now]
                for watch in due:
                    watch.fired = True
            for watch in due:
                with contextlib.suppress(OSError):  # already closed by its request
                    watch.sock.shutdown(socket.SHUT_RD)


WATCHDOG = Watchdog()
