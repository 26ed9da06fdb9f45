"""The one writer: every way bytes arrive (multipart parts, PUT bodies, tus PATCHes, direct
uploads read back from the store) passes through here, once, feeding the chunk observers (size,
SHA-256, the head for type detection, and whatever else watches the bytes) on the way to a
staging ``Sink``."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from airlock.errors import BadRequest, TooLarge
from airlock.storage.base import Chunk, Sink

HEAD_BYTES = 64 * 1024  # what type detection looks at
READ_CHUNK = 1024 * 1024


class Observer(Protocol):
    """Anything that watches the bytes go by (``hashlib`` objects are observers too)."""

    def update(self, chunk: Chunk, /) -> None: ...


class Head:
    """Keeps the first ``limit`` bytes."""

    def __init__(self, limit: int = HEAD_BYTES) -> None:
        self._buf = bytearray()
        self._limit = limit

    def update(self, chunk: Chunk) -> None:
        if len(self._buf) < self._limit:
            self._buf += chunk[: self._limit - len(self._buf)]

    @property
    def value(self) -> bytes:
        return bytes(self._buf)


def immutable(chunk: Chunk) -> Chunk:
    """``chunk`` itself when no one can change it (bytes, a read-only view of bytes), for
    keeping beyond the call; a copy of a buffer its owner may reuse."""
    if isinstance(chunk, bytes) or (isinstance(chunk, memoryview) and chunk.readonly):
        return chunk
    return bytes(chunk)


INLINE_HASH = 256 * 1024  # smaller chunks are hashed on the spot: a hand-off costs more


class Sha256:
    """SHA-256 of the bytes. With an executor, a large chunk is hashed on a helper thread while
    the writer writes it (both release the GIL), so hashing and writing overlap; a small one
    (a whole small upload, or a slow body's trickle) is hashed in the caller's thread, where it
    costs less than waking a helper and waiting for it."""

    def __init__(self, executor: Executor | None = None, state: Any = None) -> None:
        self.state = state if state is not None else hashlib.sha256()
        self._executor = executor
        self._pending: Future[None] | None = None

    def update(self, chunk: Chunk) -> None:
        if self._executor is None:
            self.state.update(chunk)
            return
        self.wait()
        if len(chunk) < INLINE_HASH:
            self.state.update(chunk)
            return
        self._pending = self._executor.submit(self.state.update, immutable(chunk))

    def wait(self) -> None:
        """Until every chunk given so far is in the hash."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def hexdigest(self) -> str:
        self.wait()
        return str(self.state.hexdigest())


class Writer:
    """One pass of bytes into a sink: refuses to go past ``room`` bytes (raising ``too_large``
    and writing nothing of the chunk that would), feeds every observer, and counts."""

    def __init__(
        self,
        sink: Sink,
        room: int | None,
        too_large: Callable[[], TooLarge],
        observers: Sequence[Observer] = (),
    ) -> None:
        self.sink = sink
        self.room = room
        self.size = 0
        self._too_large = too_large
        self._observers = observers

    def write(self, chunk: Chunk) -> None:
        """Append ``chunk``; ``TooLarge`` once past the room, ``StorageFull`` when out of
        space."""
        if self.room is not None and self.size + len(chunk) > self.room:
            raise self._too_large()
        for observer in self._observers:
            observer.update(chunk)
        self.sink.write(chunk)
        self.size += len(chunk)

    def close(self) -> None:
        """Keep what was written."""
        for observer in self._observers:
            if isinstance(observer, Sha256):
                observer.wait()
        self.sink.close()

    def abort(self) -> None:
        """Undo what was written."""
        self.sink.abort()


@dataclass(frozen=True)
class Pumped:
    """What one pass did: bytes written, and the client's disconnect if it cut the body short
    (the bytes before it were written)."""

    written: int
    interrupted: BadRequest | None = None


def pump(
    chunks: Iterable[bytes],
    writer: Writer,
    before_write: Callable[[], None] | None = None,
    after_chunk: Callable[[int], None] | None = None,
) -> Pumped:
    """Drive ``chunks`` through ``writer``. ``before_write()`` runs before each chunk (it may
    raise to stop, e.g. when a lease was lost); ``after_chunk(bytes_so_far)`` after each one.
    A client disconnect (``BadRequest`` from the chunk source) ends the pass without raising;
    any other error propagates and the caller decides what to undo."""
    start = writer.size
    try:
        for chunk in chunks:
            if before_write is not None:
                before_write()
            writer.write(chunk)
            if after_chunk is not None:
                after_chunk(writer.size - start)
    except BadRequest as exc:
        return Pumped(writer.size - start, exc)
    return Pumped(writer.size - start)


def measure(stream: BinaryIO, observers: Sequence[Observer]) -> int:
    """Feed every byte of ``stream`` to ``observers``; how many there were."""
    size = 0
    while chunk := stream.read(READ_CHUNK):
        for observer in observers:
            observer.update(chunk)
        size += len(chunk)
    return size
