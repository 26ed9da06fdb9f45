"""Where File bytes live: the ``Storage`` protocol, its optional capabilities and backends."""

from airlock.storage.base import Lister, LocalPaths, Probe, Storage, StoredObject
from airlock.storage.local import LocalStorage

__all__ = ["Lister", "LocalPaths", "LocalStorage", "Probe", "Storage", "StoredObject"]
