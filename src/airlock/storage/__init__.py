"""Where File bytes live: the ``Storage`` protocol, its optional capabilities and backends."""

from airlock.storage.base import LocalPaths, Lister, Probe, Storage, StoredObject
from airlock.storage.local import LocalStorage

__all__ = ["LocalPaths", "LocalStorage", "Lister", "Probe", "Storage", "StoredObject"]
