"""Starting disk writeback early, so the fsync that makes an upload durable finds little left to
do. Linux's ``sync_file_range(SYNC_FILE_RANGE_WRITE)`` queues the range for writing and returns;
Python's ``os`` module does not expose it, so it is called through ctypes. Elsewhere it is a
no-op and the final fsync does all the work, as before."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable

_SYNC_FILE_RANGE_WRITE = 2


def _load() -> Callable[[int, int, int], None]:
    if not sys.platform.startswith("linux"):
        return lambda fd, offset, length: None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        func = libc.sync_file_range
    except (OSError, AttributeError):
        return lambda fd, offset, length: None
    func.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    func.restype = ctypes.c_int

    def start(fd: int, offset: int, length: int) -> None:
        func(fd, offset, length, _SYNC_FILE_RANGE_WRITE)  # best effort: errors are ignored

    return start


start_writeback = _load()
"""``start_writeback(fd, offset, length)``: ask the kernel to begin writing that range."""
