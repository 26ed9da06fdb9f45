"""Commit: an inspected upload's bytes become stored bytes. The staged bytes are handed to
storage (a rename on local disk, nothing at all when they already sit in the store; a copy
into another storage, such as an upload set's own), and an image gets a thumbnail stored
beside them. The File's row is the service's to write."""

from __future__ import annotations

import io
from dataclasses import dataclass

from airlock.pipeline.staging import Staged
from airlock.pipeline.thumbnail import make_thumbnail
from airlock.storage.base import Storage


@dataclass(frozen=True)
class Committed:
    """Where a committed upload's bytes (and thumbnail, if any) are stored."""

    key: str
    thumbnail_key: str | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.key,) if self.thumbnail_key is None else (self.key, self.thumbnail_key)


def commit(
    staged: Staged, mime: str, storage: Storage, copy_to: str | None = None
) -> Committed:
    """Store ``staged`` durably and its thumbnail beside it (under ``KEY_t``) when it is an
    image Pillow can shrink: in the storage its staging commits to, or, given ``copy_to`` (a
    new key), copied into ``storage`` under that key and then discarded from staging. On
    failure nothing of it remains in storage; the staged bytes are then still the caller's to
    discard."""
    thumbnail = make_thumbnail(staged.reader, mime)
    if copy_to is None:
        key = staged.staging.commit(staged.sid)
    else:
        key = copy_to
        with staged.reader() as src:
            storage.put(key, src, staged.size)
    try:
        if copy_to is not None:
            staged.discard()
        if thumbnail is None:
            return Committed(key)
        thumb_key = f"{key}_t"
        storage.put(thumb_key, io.BytesIO(thumbnail), len(thumbnail))
        return Committed(key, thumb_key)
    except BaseException:
        storage.delete(key)
        raise


def undo(committed: Committed, storage: Storage) -> None:
    """Delete what ``commit`` stored (when the File's row could not be written)."""
    for key in committed.keys:
        storage.delete(key)
