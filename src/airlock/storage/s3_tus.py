"""Resumable (tus) staging in the object store itself, so any instance can append to, finish or
read any upload and no instance's disk holds any of it.

An upload's bytes become the parts of one S3 multipart upload under the key the File will
have; sealing completes it, so the object is finished in place and nothing is copied. S3 wants
every part but the last to be at least 5 MiB, and a PATCH may end anywhere: bytes that do not
yet fill a part wait in a *tail* object (under 5 MiB) and are merged into the next part.

What belongs to the upload is written down in its *manifest*, the object ``SID.tus``: the
multipart upload's id, the parts in order (size and ETag) and the tail. The manifest is the
truth: a part or tail it does not name (left by a writer that crashed or was undone) is ignored,
overwritten by the next part of that number, or dropped when the upload is sealed. It is
rewritten whenever a writer syncs or closes, so the bytes a sync reported are in the store.

A manifest or tail has a dot in its key, which no File key has: gc never takes them for
orphans. Parts of an unfinished multipart upload cannot be read back, so before ``seal`` only an
upload that still fits in its tail can be read (the type check of the first 64 KiB needs no
more).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO

from airlock.core.ids import new_id
from airlock.storage.base import Chunk, Removable
from airlock.storage.s3 import (
    COPY_PART,
    MANIFEST_SUFFIX,
    MIN_PART,
    PART_SIZE,
    PARTS_IN_FLIGHT,
    S3Storage,
    translated,
)

Tail = tuple[str, int]  # an object's key, and how many of its first bytes count
State = tuple[int, Tail | None]  # the first N parts, then a tail


@dataclass(frozen=True)
class Manifest:
    """What an upload's bytes are: ``parts`` (size, ETag) of the multipart upload ``upload``,
    in order, then the ``tail``. ``previous`` is the state the save before this one described
    (a prefix of it): a writer reports an offset only after its save, so if it died between the
    two, the next writer cuts back to that state, whose tail this save may have merged into a
    part."""

    upload: str | None = None
    parts: tuple[tuple[int, str], ...] = ()
    tail: Tail | None = None
    previous: State | None = None

    @property
    def size(self) -> int:
        return self._upto(len(self.parts)) + (self.tail[1] if self.tail else 0)

    def _upto(self, n: int) -> int:
        return sum(size for size, _ in self.parts[:n])

    def cut(self, offset: int) -> tuple[Manifest, Tail | None]:
        """This manifest's parts up to ``offset``, and the tail holding the bytes after them
        (a prefix of a stored tail). ``ValueError`` when ``offset`` lies inside a part, which
        cannot be read back: only the states a writer saved can be returned to."""
        states: list[State] = [(len(self.parts), self.tail)]
        states += [(n, None) for n in range(len(self.parts), -1, -1)]
        if self.previous is not None:
            states.append(self.previous)
        for n, tail in states:
            base = self._upto(n)
            if base <= offset <= base + (tail[1] if tail else 0):
                kept = Manifest(self.upload, self.parts[:n])
                return kept, ((tail[0], offset - base) if offset > base and tail else None)
        raise ValueError("cannot cut inside a part of an unfinished multipart upload")

    def referenced(self) -> set[str]:
        """The tail objects this manifest needs."""
        tails = [self.tail, self.previous[1] if self.previous else None]
        return {tail[0] for tail in tails if tail is not None}

    def dumps(self) -> bytes:
        return json.dumps(
            {"upload": self.upload, "parts": self.parts, "tail": self.tail,
             "previous": self.previous}  # fmt: skip
        ).encode()

    @classmethod
    def loads(cls, raw: bytes) -> Manifest:
        data = json.loads(raw)
        previous = data.get("previous")
        return cls(
            data.get("upload"),
            tuple((int(size), str(etag)) for size, etag in data.get("parts", ())),
            _tail(data.get("tail")),
            (int(previous[0]), _tail(previous[1])) if previous else None,
        )


def _tail(raw: Any) -> Tail | None:
    return (str(raw[0]), int(raw[1])) if raw else None


class NotSealed(ValueError):
    """The bytes asked for lie in parts of an unfinished multipart upload."""


@dataclass
class _Pending:
    size: int
    future: Future[str] = field(repr=False)


class TusSink:
    """Appends to one upload from ``offset``: full parts go up on the storage's threads (at most
    ``PARTS_IN_FLIGHT`` at once) while the body arrives; ``sync`` and ``close`` send what is
    left (as a part when it is large enough, else as the tail) and save the manifest."""

    def __init__(self, staging: S3TusStaging, sid: str, offset: int) -> None:
        self._staging = staging
        self._s3 = staging.s3
        self._sid = sid
        self._finished = False
        self._pending: list[_Pending] = []
        self._created: list[str] = []  # tails this sink wrote
        self._original = staging.manifest(sid)
        if self._original is None and offset:
            self._original = self._unseal(offset)
        self._saved = self._original
        if self._original is None:
            self._manifest, tail = Manifest(), None
        elif offset > self._original.size:
            raise ValueError("cannot append past the staged bytes")
        else:
            self._manifest, tail = self._original.cut(offset)
        # Where this sink starts: the state its first save names as the previous one.
        self._start: State = (len(self._manifest.parts), tail)
        self._buf = bytearray(self._s3.read_range(tail[0], 0, tail[1]) if tail else b"")
        self._stored_tail = tail  # the stored object holding exactly ``_buf``, if one does

    def _unseal(self, offset: int) -> Manifest | None:
        """Append to a sealed upload: its first ``offset`` bytes become the parts (copied by
        the store) and tail of a new multipart upload; the sealed object stays until the next
        seal replaces it. This happens only when the request that sealed it died before its
        checks decided, and the client sends the last bytes again; ``None`` when every byte is
        there already (nothing may be added)."""
        stat = self._s3.stat(self._sid)
        if stat is None or stat.size < offset:
            raise ValueError("nothing is staged to append to")
        if stat.size == offset:
            self._finished = True
            return None
        with translated():
            started = self._s3.client.create_multipart_upload(
                Bucket=self._s3.bucket, Key=self._sid
            )
        upload, at = started["UploadId"], 0
        parts: list[tuple[int, str]] = []
        while offset - at >= MIN_PART:
            n = min(offset - at, COPY_PART)
            parts.append((n, self._s3.copy_part(self._sid, upload, len(parts) + 1, self._sid,
                                                at, at + n)))  # fmt: skip
            at += n
        tail = None
        if at < offset:
            key = f"{self._sid}.tail.{new_id()}"
            self._s3.put_small(key, self._s3.read_range(self._sid, at, offset))
            tail = (key, offset - at)
        manifest = Manifest(upload, tuple(parts), tail)
        self._staging.save(self._sid, manifest)
        return manifest

    def write(self, chunk: Chunk) -> None:
        if self._finished:
            raise ValueError("this sink is finished")
        self._buf += chunk
        self._stored_tail = None
        while len(self._buf) >= PART_SIZE:
            data = bytes(self._buf[:PART_SIZE])
            del self._buf[:PART_SIZE]
            self._send(data)

    def _send(self, data: bytes) -> None:
        """Put ``data`` in flight as the next part."""
        if self._manifest.upload is None:
            with translated():
                started = self._s3.client.create_multipart_upload(
                    Bucket=self._s3.bucket, Key=self._sid
                )
            self._manifest = replace(self._manifest, upload=started["UploadId"])
        in_flight = [p for p in self._pending if not p.future.done()]
        if len(in_flight) >= PARTS_IN_FLIGHT:
            in_flight[0].future.exception()
        number = len(self._manifest.parts) + len(self._pending) + 1
        upload = self._manifest.upload
        future = self._s3.submit(self._staging.upload_part, self._sid, upload, number, data)
        self._pending.append(_Pending(len(data), future))
        for part in self._pending:  # surface a failed part at once
            if part.future.done() and part.future.exception() is not None:
                part.future.result()

    def sync(self) -> None:
        if self._finished:
            return
        if len(self._buf) >= MIN_PART:  # a part may be this small, if not the last
            data, self._buf = bytes(self._buf), bytearray()
            self._send(data)
        pending, self._pending = self._pending, []
        parts = self._manifest.parts + tuple((p.size, p.future.result()) for p in pending)
        tail = self._stored_tail
        if self._buf and tail is None:
            key = f"{self._sid}.tail.{new_id()}"
            self._s3.put_small(key, bytes(self._buf))
            self._created.append(key)
            tail = self._stored_tail = (key, len(self._buf))
        previous = self._start if self._saved is self._original else self._saved_state()
        self._manifest = replace(
            self._manifest, parts=parts, tail=tail if self._buf else None, previous=previous
        )
        if self._manifest == self._saved:
            return
        self._staging.save(self._sid, self._manifest)
        self._saved = self._manifest
        needed = self._manifest.referenced()
        for key in [k for k in self._created if k not in needed]:
            self._s3.delete(key)
            self._created.remove(key)

    def _saved_state(self) -> State:
        assert self._saved is not None
        return (len(self._saved.parts), self._saved.tail)

    def close(self) -> None:
        if self._finished:
            return
        self.sync()
        self._finished = True
        if self._original is not None and self._saved is not self._original:
            assert self._saved is not None
            for key in self._original.referenced() - self._saved.referenced():
                self._s3.delete(key)

    def abort(self) -> None:
        self.release()
        if self._saved is not self._original:
            if self._original is None:
                self._s3.delete(self._staging.manifest_key(self._sid))
            else:
                self._staging.save(self._sid, self._original)
            self._saved = self._original
        for key in self._created:
            self._s3.delete(key)
        self._created = []

    def release(self) -> None:
        """Stop at once, writing nothing more (another writer owns the upload now)."""
        self._finished = True
        self._buf = bytearray()
        for part in self._pending:
            part.future.cancel()
        for part in self._pending:
            if not part.future.cancelled():
                part.future.exception()
        self._pending = []


class S3TusStaging:
    """Resumable staging in an ``S3Storage``'s bucket."""

    def __init__(self, storage: S3Storage, keys: Callable[[], str] = new_id) -> None:
        self.s3 = storage
        self._keys = keys

    # The manifest ------------------------------------------------------------------------

    def manifest_key(self, sid: str) -> str:
        return sid + MANIFEST_SUFFIX

    def manifest(self, sid: str) -> Manifest | None:
        try:
            with self.s3.open(self.manifest_key(sid)) as fh:
                return Manifest.loads(fh.read())
        except FileNotFoundError:
            return None

    def save(self, sid: str, manifest: Manifest) -> None:
        self.s3.put_small(self.manifest_key(sid), manifest.dumps())

    def upload_part(self, sid: str, upload: str, number: int, data: bytes) -> str:
        """Send one part; its ETag."""
        with translated():
            answer = self.s3.client.upload_part(
                Bucket=self.s3.bucket, Key=sid, UploadId=upload, PartNumber=number, Body=data
            )
        return str(answer["ETag"])

    # The Staging protocol ----------------------------------------------------------------

    def create(self) -> str:
        return self._keys()  # nothing exists in the store until bytes arrive

    def writer(self, sid: str, offset: int) -> TusSink:
        """Drops what lies past ``offset`` (which must be where a sync or close left off)."""
        return TusSink(self, sid, offset)

    def size(self, sid: str) -> int:
        manifest = self.manifest(sid)
        if manifest is not None:
            return manifest.size
        stat = self.s3.stat(sid)
        return stat.size if stat is not None else 0

    def reader(self, sid: str) -> BinaryIO:
        """The sealed object; before ``seal``, the bytes while they all lie in the tail
        (``NotSealed`` once they do not)."""
        manifest = self.manifest(sid)
        if manifest is None:
            return self.s3.reader(sid)
        if manifest.parts:
            raise NotSealed("the upload's first bytes are in an unfinished multipart upload")
        if manifest.tail is None:
            return io.BytesIO(b"")
        return io.BytesIO(self.s3.read_range(manifest.tail[0], 0, manifest.tail[1]))  # under 5 MiB

    def seal(self, sid: str) -> None:
        """Finish the object ``sid`` from the parts and the tail (the tail is the last part);
        a no-op when sealed already."""
        manifest = self.manifest(sid)
        if manifest is None:
            if self.s3.stat(sid) is None:  # nothing ever arrived: an empty upload
                self.s3.put_small(sid, b"")
            return
        tail = b""
        if manifest.tail is not None:
            tail = self.s3.read_range(manifest.tail[0], 0, manifest.tail[1])
        client, bucket = self.s3.client, self.s3.bucket
        if not manifest.parts:
            self.s3.put_small(sid, tail)
            if manifest.upload is not None:
                self._abort(sid, manifest.upload)
        else:
            parts = [(i + 1, etag) for i, (_, etag) in enumerate(manifest.parts)]
            if tail:  # the last part may be any size
                assert manifest.upload is not None
                number = len(parts) + 1
                parts.append((number, self.upload_part(sid, manifest.upload, number, tail)))
            with translated():
                client.complete_multipart_upload(
                    Bucket=bucket, Key=sid, UploadId=manifest.upload,
                    MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in parts]},
                )  # fmt: skip
        self._remove_leftovers(sid)

    def commit(self, sid: str) -> str:
        """The sealed object is the File's from now on: nothing to copy."""
        self.seal(sid)
        return sid

    def discard(self, sid: str) -> None:
        manifest = self.manifest(sid)
        if manifest is not None and manifest.upload is not None:
            self._abort(sid, manifest.upload)
        self._remove_leftovers(sid)
        self.s3.delete(sid)

    def concatenate(self, sid: str, parts: list[str]) -> None:
        """Join sealed uploads: the store copies them into place, part by part."""
        sources = []
        for part in parts:
            self.seal(part)
            stat = self.s3.stat(part)
            if stat is None:
                raise FileNotFoundError(part)
            sources.append((part, stat.size))
        self.s3.join(sid, sources)

    def sweep(self, removable: Removable) -> int:
        """Remove the uploads whose manifest ``removable`` lets go: uploads gone without their
        bytes (removed while the store was away, or never recorded: their writer died)."""
        removed = 0
        for obj in self.s3.list_all(suffix=MANIFEST_SUFFIX):
            if removable(obj.key[: -len(MANIFEST_SUFFIX)], obj.modified):
                self.discard(obj.key[: -len(MANIFEST_SUFFIX)])
                removed += 1
        return removed

    def _abort(self, sid: str, upload: str) -> None:
        try:
            with translated():
                self.s3.client.abort_multipart_upload(
                    Bucket=self.s3.bucket, Key=sid, UploadId=upload
                )
        except FileNotFoundError:
            pass  # finished or aborted already

    def _remove_leftovers(self, sid: str) -> None:
        """The upload's tails (named or stray) and its manifest, last."""
        keys = [obj.key for obj in self.s3.list_all(prefix=f"{sid}.")]
        manifest = self.manifest_key(sid)
        for key in sorted(keys, key=lambda k: k == manifest):
            self.s3.delete(key)
