"""A storage double at the protocol boundary: local files with a capacity, so a test can fill
it up. It has no ``LocalPaths`` capability, so the service takes the generic ``put`` path. It
passes the conformance suite (tests/storage)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from airlock.errors import StorageFull
from airlock.storage.base import StoredObject
from airlock.storage.local import LocalStorage


class CappedStorage:
    def __init__(self, root: Path, capacity: int) -> None:
        self._inner = LocalStorage(root)
        self.capacity = capacity

    def _used(self) -> int:
        return sum(o.size for o in self._inner.list())

    def put(self, key: str, src: BinaryIO, size: int) -> None:
        if self._used() + size > self.capacity:
            raise StorageFull()
        self._inner.put(key, src, size)

    def open(self, key: str, start: int = 0, stop: int | None = None) -> BinaryIO:
        return self._inner.open(key, start, stop)

    def stat(self, key: str) -> StoredObject | None:
        return self._inner.stat(key)

    def delete(self, key: str) -> None:
        self._inner.delete(key)

    def list(self) -> Iterator[StoredObject]:
        return self._inner.list()
