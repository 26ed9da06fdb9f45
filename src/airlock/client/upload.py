"""One file, start to finish: resume or create its upload, send it chunk by chunk, retry what
is worth retrying, and end with the File's URL or one line that says why not.

Policy, in one place:
- a remembered upload is resumed from the offset the server reports (``HEAD``); if it is gone
  the file starts over, once it is done its File is reported without sending anything;
- network errors, 5xx without a final error code, 423, 429, 409 and 460 are retried with
  exponential backoff (0.5 s doubling to 10 s, jittered; ``Retry-After`` when given), after
  re-reading the offset; a run of ``attempts`` failures without progress ends the file (more
  for 409 conflicts, which last as long as the server's lease on the upload);
- a refusal (the checks' error codes, 401, 403, ...) ends the file at once, never retried;
- an upload that vanishes mid-way (404/410) is started over once.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BufferedReader
from typing import Protocol, TypeVar

from airlock.client.state import ResumeStore
from airlock.client.transport import NetworkError
from airlock.client.tus import Finished, Gone, OutOfSync, Refused, Transient, TusClient, TusError

T = TypeVar("T")
BLOCK = 1 << 20  # bytes read and sent at a time: memory per upload, whatever the chunk size

# Refusals after which Airlock has deleted the upload (a check failed): nothing to resume.
REJECTIONS = frozenset({
    "too_large", "empty_file", "type_not_allowed", "content_mismatch", "unsafe_content",
    "malware_detected", "scanner_unavailable", "quota_exceeded", "storage_full",
})  # fmt: skip


class Failed(Exception):
    """The file was not uploaded; ``reason`` is one line for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Cancelled(Exception):
    """The run was interrupted; the upload stays resumable."""


class Events(Protocol):
    """What an upload tells the outside world (``Progress`` fits)."""

    def start(self, key: object, done: int) -> None: ...
    def update(self, key: object, done: int) -> None: ...
    def message(self, text: str) -> None: ...


@dataclass(frozen=True)
class Job:
    """One file to upload, as it was when the run began."""

    path: str
    name: str  # the name sent to the server
    label: str  # the name shown to people (terminal-safe)
    key: str  # the fingerprint
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Policy:
    """How chunks are cut and how hard we try."""

    chunk_size: int = 8 * 2**20
    attempts: int = 8
    # A 409 "another request is writing" lasts until the server's lease on the upload lapses
    # (Airlock: 60 s after the last byte of a connection that died without closing, e.g. our
    # own before a network change): be patient for well over that.
    conflict_attempts: int = 20
    first_delay: float = 0.5
    max_delay: float = 10.0


def backoff(failures: int, policy: Policy, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after the ``failures``-th failure in a row: the doubling delay, capped,
    of which a random half is taken off so that many clients do not retry in step."""
    base = min(policy.max_delay, policy.first_delay * 2.0 ** max(0, failures - 1))
    return base / 2 + rand() * base / 2


class FileUpload:
    """Uploads one ``Job``; ``run()`` returns the File's URL or raises ``Failed``/``Cancelled``."""

    def __init__(
        self, client: TusClient, job: Job, visibility: str, store: ResumeStore, events: Events,
        cancel: threading.Event, policy: Policy = Policy(), expires_in: int | None = None,
    ) -> None:  # fmt: skip
        self.client, self.job, self.visibility = client, job, visibility
        self.store, self.events, self.cancel, self.policy = store, events, cancel, policy
        self.expires_in = expires_in  # seconds the File is kept; None: until deleted
        self._failures = 0

    def run(self) -> str:
        """Upload the file (resuming if we can); the File's URL."""
        try:
            fh = open(self.job.path, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise Failed(f"cannot read the file: {exc.strerror or exc}") from None
        with fh:
            return self._run(fh)

    def _run(self, fh: BufferedReader) -> str:
        job = self.job
        url, offset = self._resume()
        if isinstance(url, Finished):
            return url.url
        if url is None:
            created = self._create()
            if isinstance(created, Finished):
                return created.url
            url, offset = created, 0
        self.events.start(job.key, offset)
        return self._send(fh, url, offset)

    def _resume(self) -> tuple[str | Finished | None, int]:
        url = self.store.get(self.job.key)
        if url is None:
            return None, 0
        try:
            state = self._retrying(lambda: self.client.head(url))
        except Gone:
            self.store.drop(self.job.key)
            self.events.message(f"{self.job.label}: the earlier upload is gone; starting over")
            return None, 0
        if isinstance(state, Finished):
            self.store.drop(self.job.key)
            return state, 0
        offset, length = state
        if length != self.job.size or offset > length:
            self.store.drop(self.job.key)
            self.events.message(
                f"{self.job.label}: the earlier upload does not match the file; starting over"
            )
            return None, 0
        self.events.message(f"resuming {self.job.label} at {offset} bytes")
        return url, offset

    def _create(self) -> str | Finished:
        metadata = {"filename": self.job.name, "visibility": self.visibility}
        if self.expires_in is not None:
            metadata["expires_in"] = str(self.expires_in)
        try:
            created = self._retrying(lambda: self.client.create(self.job.size, metadata))
        except Gone as exc:
            raise Failed(exc.reason) from None
        if isinstance(created, str):
            self.store.put(self.job.key, created)
        return created

    def _send(self, fh: BufferedReader, url: str, offset: int) -> str:
        job, restarted = self.job, False
        # Every byte already there (a run killed while the server checked the file): ask for
        # the File rather than send an empty chunk.
        resync = offset >= job.size
        while True:
            try:
                if resync:
                    state = self.client.head(url)
                    if isinstance(state, Finished):
                        self.store.drop(job.key)
                        return state.url
                    offset = state[0]
                    self.events.update(job.key, offset)
                    if offset >= job.size:
                        raise Transient("the server has every byte but has made no File yet")
                    resync = False
                self._check_unchanged(fh)
                result = self._patch(fh, url, offset)
            except (NetworkError, Transient, OutOfSync) as exc:
                conflict = isinstance(exc, OutOfSync) and exc.code == "conflict"
                self._failed(exc, self.policy.conflict_attempts if conflict else None)
                resync = True
                continue
            except Gone as exc:
                self.store.drop(job.key)
                if restarted:
                    raise Failed(f"the server dropped the upload again: {exc.reason}") from None
                restarted = True
                self.events.message(f"{job.label}: the server lost the upload; starting over")
                created = self._create()
                if isinstance(created, Finished):  # pragma: no cover - only for empty files
                    return created.url
                url, offset, resync = created, 0, False
                self.events.update(job.key, 0)
                continue
            except Refused as exc:
                if exc.code in REJECTIONS:
                    self.store.drop(job.key)
                raise Failed(exc.reason) from None
            if isinstance(result, Finished):
                self.store.drop(job.key)
                self.events.update(job.key, job.size)
                return result.url
            if result <= offset or result > job.size:
                self._failed(Transient(f"the server answered with offset {result} at {offset}"))
                resync = True
                continue
            self._failures = 0  # progress: only failures in a row count
            offset = result
            self.events.update(job.key, offset)
            if offset == job.size:
                resync = True  # every byte is there but no File was named: ask where it went

    def _patch(self, fh: BufferedReader, url: str, offset: int) -> int | Finished:
        length = min(self.policy.chunk_size, self.job.size - offset)
        digest = hashlib.sha256()
        for block in self._blocks(fh, offset, length):
            digest.update(block)
        return self.client.patch(
            url, offset, length, self._blocks(fh, offset, length), digest.digest(),
            last=offset + length == self.job.size,
            on_sent=lambda sent: self.events.update(self.job.key, offset + sent),
        )  # fmt: skip

    def _blocks(self, fh: BufferedReader, offset: int, length: int) -> Iterator[memoryview]:
        """The file's bytes ``offset .. offset+length``, one reused buffer at a time. Read
        twice per chunk (once to hash, once to send) so memory never holds a chunk."""
        buf = memoryview(bytearray(min(BLOCK, max(length, 1))))
        fh.seek(offset)
        while length > 0:
            if self.cancel.is_set():
                raise Cancelled()
            try:
                n = fh.readinto(buf[: min(length, len(buf))])
            except OSError as exc:  # not a network error: must not be retried as one
                raise Failed(f"cannot read the file: {exc.strerror or exc}") from None
            if not n:
                raise Failed("the file got shorter while it was being uploaded")
            length -= n
            yield buf[:n]

    def _check_unchanged(self, fh: BufferedReader) -> None:
        st = os.fstat(fh.fileno())
        if st.st_size != self.job.size or st.st_mtime_ns != self.job.mtime_ns:
            self.store.drop(self.job.key)
            raise Failed("the file changed while it was being uploaded; upload it again")

    def _retrying(self, request: Callable[[], T]) -> T:
        """``request()`` until it answers, with backoff; ``Gone`` passes through."""
        while True:
            try:
                return request()
            except (NetworkError, Transient, OutOfSync) as exc:
                self._failed(exc)
            except Refused as exc:
                raise Failed(exc.reason) from None

    def _failed(self, exc: Exception, attempts: int | None = None) -> None:
        """Count a failure; wait before the next try, or give up after ``attempts`` in a row."""
        self._failures += 1
        if isinstance(exc, TusError):
            reason = exc.reason
        else:
            reason = f"network error talking to {self.client.server}: {exc}"
        if self._failures >= (attempts or self.policy.attempts):
            raise Failed(f"{reason} (gave up after {self._failures} attempts)")
        delay = getattr(exc, "delay", None) or backoff(self._failures, self.policy)
        if self._failures == 1 or self._failures % 5 == 0:  # never silent while it retries
            self.events.message(f"{self.job.label}: {reason}; retrying in {delay:.0f} s "
                                f"(Ctrl+C stops)")  # fmt: skip
        if self.cancel.wait(delay):
            raise Cancelled()
