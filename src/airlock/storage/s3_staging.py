"""Staging in the object store itself, for bodies that arrive in one pass (multipart parts and
PUT bodies): the bytes stream into a multipart upload under the key the File will have, so the
instance that received them keeps no copy, and the commit copies nothing. Until the File's row
exists the object belongs to no one, and gc removes it if the request died (the storage's own
sweep aborts multipart uploads that were never finished)."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from airlock.core.ids import new_id
from airlock.storage.s3 import MultipartSink, S3Storage


class S3Staging:
    """One-pass staging in an ``S3Storage``'s bucket."""

    def __init__(self, storage: S3Storage, keys: Callable[[], str] = new_id) -> None:
        self._s3 = storage
        self._keys = keys

    def create(self) -> str:
        return self._keys()  # nothing exists in the store until bytes arrive

    def writer(self, sid: str, offset: int) -> MultipartSink:
        if offset != 0:
            raise ValueError("S3 staging takes a body in one pass, from its first byte")
        return self._s3.sink(sid)

    def size(self, sid: str) -> int:
        stat = self._s3.stat(sid)
        return stat.size if stat is not None else 0

    def reader(self, sid: str) -> BinaryIO:
        return self._s3.reader(sid)

    def seal(self, sid: str) -> None:
        """The sink's ``close`` finished the object."""

    def commit(self, sid: str) -> str:
        """The object already sits under its key: nothing to copy. After this, ``sid`` is the
        File's key, no longer a staged upload to discard."""
        return sid

    def discard(self, sid: str) -> None:
        self._s3.delete(sid)

    def concatenate(self, sid: str, parts: list[str]) -> None:
        raise ValueError("S3 staging does not join uploads")
