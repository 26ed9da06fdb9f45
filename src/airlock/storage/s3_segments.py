"""Resumable (tus) staging in the object store itself: an upload's bytes are a run of segment
objects ``SID.OFFSET`` (at most 8 MiB each, in byte order), so any instance can append, read or
finish any upload, and no instance's disk holds any of it. The commit joins the segments into
the object ``SID`` by a multipart upload: segments of 5 MiB and more are copied by the store
itself, smaller ones are merged through memory (a part must be 5 MiB, but for the last).

A segment's name has a dot, which no File key has: gc never takes segments for orphans; an
upload's segments go with the upload (``discard``)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, BinaryIO

from airlock.core.ids import new_id
from airlock.storage.s3 import PART_SIZE, S3Storage, SeekableRanges, translated

SEGMENT = PART_SIZE  # the most one segment holds
MIN_PART = 5 * 1024 * 1024  # S3's smallest part but the last


@dataclass(frozen=True)
class Segment:
    key: str
    start: int
    size: int

    @property
    def stop(self) -> int:
        return self.start + self.size


def _name(sid: str, start: int) -> str:
    return f"{sid}.{start:016d}"


class SegmentSink:
    """Appends at ``offset`` as new segments; ``sync`` writes what is buffered as one."""

    def __init__(self, staging: S3SegmentStaging, sid: str, offset: int) -> None:
        self._staging = staging
        self._sid = sid
        self._at = offset  # where the buffered bytes start
        self._buf = bytearray()
        self._written: list[str] = []

    def write(self, chunk: bytes) -> None:
        self._buf += chunk
        while len(self._buf) >= SEGMENT:
            self._flush(SEGMENT)

    def _flush(self, n: int) -> None:
        if n <= 0:
            return
        key = _name(self._sid, self._at)
        data = bytes(self._buf[:n])
        del self._buf[:n]
        self._staging.s3.put(key, io.BytesIO(data), len(data))
        self._written.append(key)
        self._at += n

    def sync(self) -> None:
        self._flush(len(self._buf))

    def close(self) -> None:
        self._flush(len(self._buf))

    def abort(self) -> None:
        self._buf = bytearray()
        for key in self._written:
            self._staging.s3.delete(key)
        self._written = []


class S3SegmentStaging:
    """Resumable staging in an ``S3Storage``'s bucket."""

    def __init__(self, storage: S3Storage) -> None:
        self.s3 = storage

    def segments(self, sid: str) -> list[Segment]:
        """The upload's segments, in byte order."""
        client, bucket = self.s3.client, self.s3.bucket
        found = []
        with translated():
            pages = client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=f"{sid}."
            )
            for page in pages:
                for obj in page.get("Contents", ()):
                    start = int(obj["Key"].rsplit(".", 1)[1])
                    found.append(Segment(obj["Key"], start, int(obj["Size"])))
        found.sort(key=lambda s: s.start)
        return found

    def create(self) -> str:
        return new_id()

    def writer(self, sid: str, offset: int) -> SegmentSink:
        """Drops what lies past ``offset`` first (a segment across it is cut there)."""
        for seg in self.segments(sid):
            if seg.start >= offset:
                self.s3.delete(seg.key)
            elif seg.stop > offset:
                with self.s3.open(seg.key, 0, offset - seg.start) as fh:
                    kept = fh.read()
                self.s3.put(seg.key, io.BytesIO(kept), len(kept))
        return SegmentSink(self, sid, offset)

    def size(self, sid: str) -> int:
        whole = self.s3.stat(sid)
        if whole is not None:
            return whole.size
        total = 0
        for seg in self.segments(sid):
            if seg.start != total:  # a gap (a crash between deletes): only the run before it
                break
            total = seg.stop
        return total

    def reader(self, sid: str) -> BinaryIO:
        if self.s3.stat(sid) is not None:
            return self.s3.reader(sid)
        segments = self.segments(sid)
        return io.BufferedReader(_SegmentsReader(self.s3, segments), buffer_size=256 * 1024)

    def commit(self, sid: str) -> str:
        """Join the segments into the object ``sid`` (the File's key from then on)."""
        segments = self.segments(sid)
        client, bucket = self.s3.client, self.s3.bucket
        if len(segments) == 1:
            source = {"Bucket": bucket, "Key": segments[0].key}
            with translated():
                client.copy_object(Bucket=bucket, Key=sid, CopySource=source)
        elif sum(s.size for s in segments) < MIN_PART:  # small: one PUT of it all
            with self.reader(sid) as view:
                data = view.read()
            self.s3.put(sid, io.BytesIO(data), len(data))
        else:
            with translated():
                upload_id = client.create_multipart_upload(Bucket=bucket, Key=sid)["UploadId"]
            try:
                parts = self._parts(sid, upload_id, segments)
                with translated():
                    client.complete_multipart_upload(
                        Bucket=bucket, Key=sid, UploadId=upload_id,
                        MultipartUpload={"Parts": parts},
                    )  # fmt: skip
            except BaseException:
                with translated():
                    client.abort_multipart_upload(Bucket=bucket, Key=sid, UploadId=upload_id)
                raise
        for seg in segments:
            self.s3.delete(seg.key)
        return sid

    def _parts(self, sid: str, upload_id: str, segments: list[Segment]) -> list[dict[str, Any]]:
        client, bucket = self.s3.client, self.s3.bucket
        parts: list[dict[str, Any]] = []
        buf = bytearray()

        def send(data: bytes) -> None:
            number = len(parts) + 1
            with translated():
                answer = client.upload_part(Bucket=bucket, Key=sid, UploadId=upload_id,
                                            PartNumber=number, Body=data)  # fmt: skip
            parts.append({"PartNumber": number, "ETag": answer["ETag"]})

        for seg in segments:
            if not buf and seg.size >= MIN_PART:  # the store copies it itself
                number = len(parts) + 1
                with translated():
                    answer = client.upload_part_copy(
                        Bucket=bucket, Key=sid, UploadId=upload_id, PartNumber=number,
                        CopySource={"Bucket": bucket, "Key": seg.key},
                    )  # fmt: skip
                parts.append({"PartNumber": number, "ETag": answer["CopyPartResult"]["ETag"]})
                continue
            with self.s3.open(seg.key) as fh:
                buf += fh.read()
            if len(buf) >= MIN_PART:
                send(bytes(buf))
                buf = bytearray()
        if buf:
            send(bytes(buf))
        return parts

    def discard(self, sid: str) -> None:
        for seg in self.segments(sid):
            self.s3.delete(seg.key)

    def concatenate(self, sid: str, parts: list[str]) -> None:
        """The store copies each part's segments (or joined object) into place."""
        client, bucket = self.s3.client, self.s3.bucket
        at = 0
        for part in parts:
            for src in self.segments(part):
                with translated():
                    client.copy_object(Bucket=bucket, Key=_name(sid, at),
                                       CopySource={"Bucket": bucket, "Key": src.key})  # fmt: skip
                at += src.size


class _SegmentsReader(SeekableRanges):
    """A run of segments as one file, by ranged reads of each."""

    def __init__(self, storage: S3Storage, segments: list[Segment]) -> None:
        super().__init__(segments[-1].stop if segments else 0)
        self._s3 = storage
        self._segments = segments

    def read_at(self, pos: int, n: int) -> bytes:
        for seg in self._segments:
            if seg.start <= pos < seg.stop:
                start = pos - seg.start
                with self._s3.open(seg.key, start, start + min(n, seg.stop - pos)) as fh:
                    return fh.read()
        return b""
