"""Files in any S3-compatible object store, through boto3.

Writes stream as multipart uploads in bounded memory (a few parts in flight at once, each sent
while the next is being read); reads are ranged GETs; a seekable view built on ranged reads
lets the inspector read a zip's central directory without fetching the whole object. Keys are
Airlock's own random ids, so ``list`` (for gc) ignores anything else in the bucket.
"""

from __future__ import annotations

import abc
import datetime as dt
import io
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from airlock.core.ids import new_id
from airlock.errors import StorageFull, Unavailable
from airlock.storage.base import Chunk, PresignedPost, Removable, Staging, StoredObject

PART_SIZE = 8 * 1024 * 1024
MIN_PART = 5 * 1024 * 1024  # S3's smallest part, but for the last
COPY_PART = 1024 * 1024 * 1024  # what one server-side part copy takes (S3 allows 5 GiB)
MANIFEST_SUFFIX = ".tus"  # beside a resumable upload's key: what its bytes are (s3_tus)
# Per upload, parts being sent while the next one fills: memory stays at about
# (PARTS_IN_FLIGHT + 1) * PART_SIZE, whatever the file's size. Two keep the store busy; more
# only cost memory on a store that is itself the bottleneck.
PARTS_IN_FLIGHT = 2
_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_MISSING = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchUpload"})
_FULL = frozenset({"EntityTooLarge", "QuotaExceeded", "InsufficientStorage", "507"})
_PROBE_KEY = ".airlock-probe/{pid}-{tid}"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


@contextmanager
def translated() -> Iterator[None]:
    """Turn the store's failures into Airlock's: out of space is ``StorageFull``; unreachable,
    timing out or failing on its side (5xx) is ``Unavailable``; a missing key is
    ``FileNotFoundError``. Anything else (a request the store refuses) propagates."""
    try:
        yield
    except ClientError as exc:
        code = _code(exc)
        if code in _MISSING or _status(exc) == 404:
            raise FileNotFoundError(code) from exc
        if code in _FULL or _status(exc) == 507:
            raise StorageFull() from exc
        if _status(exc) >= 500 or code in ("SlowDown", "ServiceUnavailable", "RequestTimeout"):
            raise Unavailable(
                "The storage service is failing right now; try again shortly."
            ) from exc
        raise
    except BotoCoreError as exc:  # connection refused or reset, timeouts
        raise Unavailable("The storage service cannot be reached; try again shortly.") from exc


class S3Storage:
    """Objects in one bucket of an S3-compatible service."""

    def __init__(
        self,
        bucket: str,
        endpoint: str = "",
        region: str = "us-east-1",
        access_key_id: str = "",
        secret_access_key: str = "",
        public_endpoint: str = "",
        content_origin: str = "",
        transfer_threads: int = 8,
    ) -> None:
        self.bucket = bucket
        self.endpoint = endpoint
        self._region = region
        self._credentials = (access_key_id, secret_access_key)
        self.client = self._client(endpoint)
        self._public = self._client(public_endpoint) if public_endpoint else self.client
        self._content = self._client(content_origin) if content_origin else None
        self._pool = ThreadPoolExecutor(transfer_threads, thread_name_prefix="airlock-s3")
        self.buffers = PartBuffers(PART_SIZE, keep=PARTS_IN_FLIGHT + 1)

    def _client(self, endpoint: str) -> Any:
        key, secret = self._credentials
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            max_pool_connections=32,
            # Checksums only where S3 requires them: not every S3-compatible store knows the
            # newer flexible checksums, and SHA-256 is taken by Airlock itself anyway.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        return boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint or None,
            region_name=self._region or "us-east-1",
            aws_access_key_id=key or None,
            aws_secret_access_key=secret or None,
            config=config,
        )

    # The Storage protocol ------------------------------------------------------------------

    def put(self, key: str, src: BinaryIO, size: int) -> None:
        sink = self.sink(key)
        copied = 0
        try:
            while chunk := src.read(PART_SIZE):
                copied += len(chunk)
                if copied > size:
                    break
                sink.write(chunk)
            if copied != size:
                raise ValueError(f"expected {size} bytes, got {copied}")
            sink.close()
        except BaseException:
            sink.abort()
            raise

    def open(self, key: str, start: int = 0, stop: int | None = None) -> BinaryIO:
        if stop is not None and stop <= start:
            return io.BytesIO(b"")
        spec = f"bytes={start}-" if stop is None else f"bytes={start}-{stop - 1}"
        try:
            with translated():
                if start == 0 and stop is None:
                    answer = self.client.get_object(Bucket=self.bucket, Key=key)
                else:
                    answer = self.client.get_object(Bucket=self.bucket, Key=key, Range=spec)
        except ClientError as exc:
            if _code(exc) == "InvalidRange":  # starts at or past the end: nothing to read
                return io.BytesIO(b"")
            raise
        body: BinaryIO = answer["Body"]
        return body

    def stat(self, key: str) -> StoredObject | None:
        try:
            with translated():
                head = self.client.head_object(Bucket=self.bucket, Key=key)
        except FileNotFoundError:
            return None
        return StoredObject(key, int(head["ContentLength"]), head["LastModified"].timestamp())

    def delete(self, key: str) -> None:
        with translated():
            self.client.delete_object(Bucket=self.bucket, Key=key)

    # Capabilities --------------------------------------------------------------------------

    def list(self) -> Iterator[StoredObject]:
        return (obj for obj in self.list_all() if _KEY_RE.match(obj.key))

    def sweep(self, removable: Removable) -> int:
        """Abort the multipart uploads that ``removable`` lets go: their writer never finished
        them (their parts take space but are no object)."""
        removed = 0
        paginator = self.client.get_paginator("list_multipart_uploads")
        with translated():
            for page in paginator.paginate(Bucket=self.bucket):
                for upload in page.get("Uploads", ()):
                    if not _KEY_RE.match(upload["Key"]):
                        continue
                    if not removable(upload["Key"], upload["Initiated"].timestamp()):
                        continue
                    try:
                        self.client.abort_multipart_upload(
                            Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                        removed += 1
                    except ClientError as exc:
                        if _code(exc) not in _MISSING:
                            raise
        return removed

    def presign_post(self, key: str, size: int, expires_in: int) -> PresignedPost:
        with translated():
            post = self._public.generate_presigned_post(
                Bucket=self.bucket,
                Key=key,
                Conditions=[["content-length-range", size, size]],
                ExpiresIn=expires_in,
            )
        expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=expires_in)
        # The bucket's URL with its trailing slash (S3 takes both forms): a browser sends a CORS
        # preflight to it first, and some S3-compatible stores (SeaweedFS) fail a preflight of
        # the path-style bucket URL without it.
        url = post["url"] if post["url"].endswith("/") else post["url"] + "/"
        return PresignedPost(url, dict(post["fields"]), expires_at)

    def presign_get(self, key: str, content_type: str, disposition: str, expires_in: int) -> str:
        client = self._content or self._public
        with translated():
            url: str = client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": key,
                    "ResponseContentType": content_type,
                    "ResponseContentDisposition": disposition,
                },
                ExpiresIn=expires_in,
            )
        return url

    def probe(self) -> None:
        key = _PROBE_KEY.format(pid=os.getpid(), tid=threading.get_ident())
        with translated():
            self.client.head_bucket(Bucket=self.bucket)
            self.client.put_object(Bucket=self.bucket, Key=key, Body=b"ok")
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            self.client.delete_object(Bucket=self.bucket, Key=key)
        if body != b"ok":
            raise OSError("storage probe read back different bytes")

    def describe(self) -> str:
        return f"S3 bucket {self.bucket!r} at {self.endpoint or 'the AWS default endpoint'}"

    # Building blocks for staging -------------------------------------------------------------

    def staging(self, keys: Callable[[], str] = new_id) -> Staging:
        from airlock.storage.s3_staging import S3Staging

        return S3Staging(self, keys)

    def resumable_staging(self, keys: Callable[[], str] = new_id) -> Staging:
        from airlock.storage.s3_tus import S3TusStaging

        return S3TusStaging(self, keys)

    def sink(self, key: str) -> MultipartSink:
        """A sink that writes ``key`` in one pass (a multipart upload once it outgrows one
        part); the object appears only when the sink is closed."""
        return MultipartSink(self, key)

    def reader(self, key: str) -> BinaryIO:
        """A seekable view of ``key`` made of ranged reads."""
        stat = self.stat(key)
        if stat is None:
            raise FileNotFoundError(key)
        return io.BufferedReader(RangedReader(self, key, stat.size), buffer_size=256 * 1024)

    def submit(self, fn: Any, *args: Any, **kwargs: Any) -> Future[Any]:
        return self._pool.submit(fn, *args, **kwargs)

    def put_small(self, key: str, data: bytes) -> None:
        """Store ``data`` (a few MiB at most) under ``key`` in one PUT."""
        with translated():
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data)

    def list_all(self, prefix: str = "", suffix: str = "") -> Iterator[StoredObject]:
        """Every object in the bucket whose key has ``prefix`` and ``suffix``."""
        paginator = self.client.get_paginator("list_objects_v2")
        with translated():
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for obj in page.get("Contents", ()):
                    key = obj["Key"]
                    if key.endswith(suffix):
                        yield StoredObject(key, int(obj["Size"]), obj["LastModified"].timestamp())

    def join(self, key: str, sources: Sequence[tuple[str, int]]) -> None:
        """Make ``key`` the objects ``sources`` (key, size) joined in order. The store copies
        every stretch of 5 MiB and more itself; shorter ones (S3's smallest part) are merged
        through memory with their neighbours, so at most a part's worth is held here."""
        total = sum(size for _, size in sources)
        if total < MIN_PART:
            data = b"".join(self.read_range(src, 0, size) for src, size in sources)
            self.put_small(key, data)
            return
        client, bucket = self.client, self.bucket
        with translated():
            upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        try:
            parts = _Joiner(self, key, upload).run(sources)
            with translated():
                client.complete_multipart_upload(
                    Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts}
                )
        except BaseException:
            with translated():
                client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
            raise

    def copy_part(
        self, key: str, upload: str, number: int, src: str, start: int, stop: int
    ) -> str:
        """Make bytes ``start`` to ``stop`` of ``src`` part ``number`` of the multipart upload
        ``upload`` of ``key``, copied by the store itself; the part's ETag."""
        with translated():
            answer = self.client.upload_part_copy(
                Bucket=self.bucket, Key=key, UploadId=upload, PartNumber=number,
                CopySource={"Bucket": self.bucket, "Key": src},
                CopySourceRange=f"bytes={start}-{stop - 1}",
            )  # fmt: skip
        return str(answer["CopyPartResult"]["ETag"])

    def read_range(self, key: str, start: int, stop: int) -> bytes:
        """Bytes ``start`` to ``stop`` of ``key``, in memory."""
        with self.open(key, start, stop) as fh:
            data: bytes = fh.read()
        return data


class _Joiner:
    """The parts of one multipart upload made of byte ranges of other objects."""

    def __init__(self, storage: S3Storage, key: str, upload: str) -> None:
        self._s3 = storage
        self._key = key
        self._upload = upload
        self.parts: list[dict[str, Any]] = []
        self._buf = bytearray()

    def run(self, sources: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
        for src, size in sources:
            at = 0
            while at < size:
                if self._buf or size - at < MIN_PART:
                    # A short stretch: merged through the buffer, sent once it makes a part
                    # (or as the last part).
                    n = min(size - at, MIN_PART - len(self._buf))
                    self._buf += self._s3.read_range(src, at, at + n)
                    if len(self._buf) >= MIN_PART:
                        self._upload_buffer()
                else:  # at least a part's worth: the store copies it
                    n = min(size - at, COPY_PART)
                    self._copy(src, at, at + n)
                at += n
        if self._buf:
            self._upload_buffer()
        return self.parts

    def _upload_buffer(self) -> None:
        number = len(self.parts) + 1
        data, self._buf = bytes(self._buf), bytearray()
        with translated():
            answer = self._s3.client.upload_part(
                Bucket=self._s3.bucket, Key=self._key, UploadId=self._upload,
                PartNumber=number, Body=data,
            )  # fmt: skip
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def _copy(self, src: str, start: int, stop: int) -> None:
        number = len(self.parts) + 1
        etag = self._s3.copy_part(self._key, self._upload, number, src, start, stop)
        self.parts.append({"PartNumber": number, "ETag": etag})


class PartBuffers:
    """Part-sized buffers, reused. Allocating and freeing 8 MiB for every part leaves the
    allocator holding freed buffers in each thread's arena (a worker's memory creeps up with
    every upload) and costs fresh pages each time; a few kept buffers hold it flat."""

    def __init__(self, size: int, keep: int) -> None:
        self.size = size
        self._keep = keep
        self._free: list[bytearray] = []
        self._lock = threading.Lock()

    def take(self) -> bytearray:
        with self._lock:
            if self._free:
                return self._free.pop()
        return bytearray(self.size)

    def give(self, buf: bytearray) -> None:
        with self._lock:
            if len(self._free) < self._keep:
                self._free.append(buf)


class MultipartSink:
    """One object written in one pass. Small objects go up in one PUT at ``close``; larger
    ones as a multipart upload whose parts are sent on the storage's threads while the next
    part is read, at most ``PARTS_IN_FLIGHT`` at a time."""

    def __init__(self, storage: S3Storage, key: str) -> None:
        self._s3 = storage
        self._key = key
        self._buf: bytearray | None = None  # the part being filled, ``_fill`` bytes of it
        self._fill = 0
        self._upload_id: str | None = None
        self._parts: list[Future[dict[str, Any]]] = []
        self._done = False

    def write(self, chunk: Chunk) -> None:
        view = memoryview(chunk)
        while view:
            if self._buf is None:
                self._buf, self._fill = self._s3.buffers.take(), 0
            n = min(len(view), PART_SIZE - self._fill)
            self._buf[self._fill : self._fill + n] = view[:n]
            self._fill += n
            view = view[n:]
            if self._fill == PART_SIZE:
                buf, self._buf = self._buf, None
                self._send(buf, PART_SIZE)

    def sync(self) -> None:
        """Nothing before ``close``: until then the object does not exist."""

    def _send(self, buf: bytearray, length: int) -> None:
        client, bucket = self._s3.client, self._s3.bucket
        if self._upload_id is None:
            try:
                with translated():
                    started = client.create_multipart_upload(Bucket=bucket, Key=self._key)
            except BaseException:
                self._s3.buffers.give(buf)
                raise
            self._upload_id = started["UploadId"]
        # Bounded memory: wait for the oldest part before putting another in flight.
        in_flight = [f for f in self._parts if not f.done()]
        if len(in_flight) >= PARTS_IN_FLIGHT:
            in_flight[0].exception()
        number = len(self._parts) + 1
        self._parts.append(self._s3.submit(self._upload_part, number, buf, length))
        for part in self._parts:  # surface a failed part at once
            if part.done() and part.exception() is not None:
                part.result()

    def _upload_part(self, number: int, buf: bytearray, length: int) -> dict[str, Any]:
        body = buf if length == len(buf) else bytes(memoryview(buf)[:length])
        try:
            with translated():
                answer = self._s3.client.upload_part(
                    Bucket=self._s3.bucket, Key=self._key, UploadId=self._upload_id,
                    PartNumber=number, Body=body,
                )  # fmt: skip
        finally:
            self._s3.buffers.give(buf)
        return {"PartNumber": number, "ETag": answer["ETag"]}

    def close(self) -> None:
        client, bucket = self._s3.client, self._s3.bucket
        last, fill, self._buf = self._buf, self._fill, None
        if self._upload_id is None:  # it all fit in one part: one PUT
            body = bytes(memoryview(last)[:fill]) if last is not None else b""
            if last is not None:
                self._s3.buffers.give(last)
            with translated():
                client.put_object(Bucket=bucket, Key=self._key, Body=body)
        else:
            if last is not None:
                self._send(last, fill)
            parts = [f.result() for f in self._parts]
            with translated():
                client.complete_multipart_upload(
                    Bucket=bucket, Key=self._key, UploadId=self._upload_id,
                    MultipartUpload={"Parts": parts},
                )  # fmt: skip
        self._done = True

    def release(self) -> None:
        """The object is this sink's alone: releasing it is undoing it."""
        self.abort()

    def abort(self) -> None:
        if self._buf is not None:
            self._s3.buffers.give(self._buf)
            self._buf = None
        for part in self._parts:
            part.cancel()
        for part in self._parts:
            if not part.cancelled():
                part.exception()  # wait; its error no longer matters
        client, bucket = self._s3.client, self._s3.bucket
        try:
            with translated():
                if self._done:
                    client.delete_object(Bucket=bucket, Key=self._key)
                elif self._upload_id is not None:
                    client.abort_multipart_upload(
                        Bucket=bucket, Key=self._key, UploadId=self._upload_id
                    )
        except (OSError, Unavailable, StorageFull, ClientError):
            # The store is away: gc sweeps the unfinished upload (or orphan) later.
            pass
        self._upload_id = None
        self._done = False


class SeekableRanges(io.RawIOBase):
    """A seekable, read-only file of ``size`` bytes whose reads are ranged reads
    (``read_at``), for views of bytes in an object store."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self._size = size
        self._pos = 0

    @abc.abstractmethod
    def read_at(self, pos: int, n: int) -> bytes:
        """Up to ``n`` bytes from ``pos`` (fewer is fine; at least one while any are left)."""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        data = self.read_at(self._pos, want)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


class RangedReader(SeekableRanges):
    """One object, by ranged GETs."""

    def __init__(self, storage: S3Storage, key: str, size: int) -> None:
        super().__init__(size)
        self._s3 = storage
        self._key = key

    def read_at(self, pos: int, n: int) -> bytes:
        with self._s3.open(self._key, pos, pos + n) as body:
            return body.read()
