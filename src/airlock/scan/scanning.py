"""The scanning policy: ``off``, ``optional`` (a scanner that cannot answer is logged and the
upload stored) or ``required`` (fail closed: ``ScannerUnavailable``, and the upload is refused).

Bodies that arrive in one pass (multipart parts, PUT, direct uploads read back from the store)
are scanned while they arrive: a ``StreamScan`` is one more chunk observer, feeding clamd on a
thread of its own, so the verdict is ready about when the last byte is. Resumable uploads are
scanned when complete, by streaming their staged bytes. A streamed scan that failed (clamd
restarted mid-upload, or closed an idle stream while a slow client paused) is tried once more
from the staged bytes before the scanner counts as unavailable.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import TYPE_CHECKING, BinaryIO

from airlock.config import SCAN_MODES
from airlock.errors import MalwareDetected, ScannerUnavailable
from airlock.pipeline.staging import Staged
from airlock.pipeline.writer import immutable
from airlock.scan.clamd import Clamd, ClamdError, Verdict
from airlock.storage.base import Chunk

if TYPE_CHECKING:  # prometheus_client must load only after the metrics dir is set
    from airlock.metrics import Metrics

log = logging.getLogger("airlock.scan")

READ_CHUNK = 1024 * 1024
# Chunks of one upload held for clamd at a time (queued, or being sent): each is a MiB of the
# worker's memory. The stream's socket buffer (clamd.SEND_BUFFER, 4 MiB in the kernel) absorbs
# the moments when clamd is off the CPU; with it, 4 here were no faster than 2 (bench/run_scan.py)
# and held 4 MiB more.
SCAN_AHEAD = 2
_END, _CANCEL = b"", None  # what ends a StreamScan's queue: finished, or dropped


class StreamScan:
    """One upload's bytes on their way to clamd, as they arrive. ``update`` never blocks longer
    than the scanner's timeout: a clamd that stops reading fails the scan instead of stalling
    the upload. At most ``SCAN_AHEAD`` chunks are held for clamd at a time; ``update`` waits
    for clamd to take one before it keeps another."""

    def __init__(self, clamd: Clamd) -> None:
        self._clamd = clamd
        self._queue: queue.SimpleQueue[Chunk | None] = queue.SimpleQueue()
        # A slot is given back once its chunk is sent, not when it is taken from the queue: the
        # chunk being sent is memory too.
        self._room = threading.Semaphore(SCAN_AHEAD)
        self._verdict: Verdict | None = None
        self.error: str | None = None
        self._done = threading.Event()
        threading.Thread(target=self._run, name="airlock-scan", daemon=True).start()

    def update(self, chunk: Chunk) -> None:
        if self.error is not None or not chunk:
            return
        if not self._room.acquire(timeout=self._clamd.timeout):
            self.error = "clamd did not keep up with the upload"
            return
        # The very chunk the writer and the hasher hold, unless its owner may reuse it.
        self._queue.put(immutable(chunk))

    def _run(self) -> None:
        stream, ended = None, False
        try:
            stream = self._clamd.stream()
            while True:
                chunk = self._queue.get(timeout=3600)
                if chunk is _CANCEL or chunk == _END:
                    ended = True
                    if chunk == _END:
                        self._verdict = stream.verdict()
                    return
                try:
                    stream.send(chunk)
                finally:
                    # Dropped before its slot is given back, or it would stay alive beside the
                    # next chunk until the next get() returns.
                    del chunk
                    self._room.release()
        except (ClamdError, queue.Empty) as exc:
            self.error = str(exc) or "the upload stopped sending"
            if not ended:
                self._drain()
        finally:
            if stream is not None and self._verdict is None:
                stream.close()
            self._done.set()

    def _drain(self) -> None:
        """Keep taking chunks (and dropping them) until the upload ends, so it never waits."""
        while True:
            try:
                if self._queue.get(timeout=3600) in (_END, _CANCEL):
                    return
            except queue.Empty:
                return
            self._room.release()

    def finish(self) -> None:
        """Every byte was given: ask for the verdict."""
        self._queue.put(_END)

    def cancel(self) -> None:
        """The upload is dropped: end the scan without a verdict."""
        self._queue.put(_CANCEL)

    def result(self) -> Verdict:
        """The verdict (``ClamdError`` when there is none), waiting for clamd a bounded time."""
        if not self._done.wait(self._clamd.timeout + 1):
            self.error = self.error or "clamd did not answer in time"
        if self._verdict is not None:
            return self._verdict
        raise ClamdError(self.error or "the scan did not finish")


class Scanning:
    """Decides an upload's malware verdict under the configured mode."""

    def __init__(self, mode: str, clamd: Clamd | None, metrics: Metrics | None = None) -> None:
        if mode not in SCAN_MODES:
            raise ValueError(f"scan mode must be one of {', '.join(SCAN_MODES)}")
        if mode != "off" and clamd is None:
            raise ValueError("scanning needs clamd's address")
        self.mode = mode
        self.clamd = clamd if mode != "off" else None
        self._metrics = metrics

    def start(self) -> StreamScan | None:
        """A scan to feed with a one-pass body as it arrives (None when scanning is off). Its
        thread connects to clamd; if that fails, the check scans the staged bytes instead."""
        return StreamScan(self.clamd) if self.clamd is not None else None

    def check(self, staged: Staged, name: str) -> None:
        """``MalwareDetected`` for an infected upload; ``ScannerUnavailable`` when scanning is
        required and no verdict could be had (``optional``: logged, and the upload passes)."""
        if self.clamd is None:
            return
        started = time.monotonic()
        try:
            verdict = self._verdict(staged)
        except ClamdError as exc:
            self._observe("unavailable", started)
            if self.mode == "required":
                log.warning("scan of %r refused: no verdict (%s)", name, exc)
                raise ScannerUnavailable() from None
            log.warning("scan of %r skipped (scanning is optional): %s", name, exc)
            return
        if verdict.signature is not None:
            self._observe("infected", started)
            log.info("upload %r refused: %s", name, verdict.signature)
            raise MalwareDetected(signature=verdict.signature)
        self._observe("clean", started)

    def _verdict(self, staged: Staged) -> Verdict:
        assert self.clamd is not None
        if isinstance(staged.scan, StreamScan):
            try:
                return staged.scan.result()
            except ClamdError as exc:
                log.info("streamed scan failed (%s); scanning the staged bytes", exc)
        return self.scan(staged.reader())

    def scan(self, stream: BinaryIO) -> Verdict:
        """Scan all of ``stream`` (``ClamdError`` when clamd gives no verdict)."""
        assert self.clamd is not None
        with stream:
            scan = self.clamd.stream()
            try:
                while chunk := stream.read(READ_CHUNK):
                    scan.send(chunk)
            except BaseException:
                scan.close()
                raise
            return scan.verdict()

    def _observe(self, outcome: str, started: float) -> None:
        if self._metrics is not None:
            self._metrics.scans.labels(outcome).inc()
            self._metrics.scan_seconds.observe(time.monotonic() - started)
