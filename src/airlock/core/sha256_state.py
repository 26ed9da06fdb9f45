"""A SHA-256 whose running state can be saved and resumed anywhere.

A resumable upload's PATCHes may reach any instance, and the File's SHA-256 must cover every
byte; ``hashlib`` cannot export its state, so without this the last PATCH would read the whole
upload back to hash it. OpenSSL's ``SHA256_Init``/``SHA256_Update``/``SHA256_Final`` work on a
plain 112-byte ``SHA256_CTX`` that the caller owns: that struct is the state, saved beside the
upload's offset. They are called through ctypes on the ``libcrypto`` that Python's own
``hashlib`` uses (deprecated in OpenSSL 3, still exported by it); where they are missing,
``AVAILABLE`` is False and callers fall back to hashing the bytes again.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

STATE_SIZE = 112  # sizeof(SHA256_CTX): h[8], Nl, Nh, data[16], num, md_len (32-bit words)


def _load() -> Any:
    name = ctypes.util.find_library("crypto")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
        init, update, final = lib.SHA256_Init, lib.SHA256_Update, lib.SHA256_Final
    except (OSError, AttributeError):
        return None
    init.argtypes = [ctypes.c_void_p]
    update.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    final.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    for fn in (init, update, final):
        fn.restype = ctypes.c_int
    return lib


_LIB = _load()
AVAILABLE = _LIB is not None


class ResumableSha256:
    """``hashlib.sha256()`` with ``state()``; resume with ``ResumableSha256(state)``. The
    calls into OpenSSL release the GIL, as ``hashlib``'s do."""

    def __init__(self, state: bytes | None = None) -> None:
        if _LIB is None:
            raise RuntimeError("OpenSSL's SHA256_* functions are not available")
        if state is None:
            self._ctx = ctypes.create_string_buffer(STATE_SIZE)
            _LIB.SHA256_Init(self._ctx)
        elif len(state) == STATE_SIZE:
            self._ctx = ctypes.create_string_buffer(state, STATE_SIZE)
        else:
            raise ValueError("not a SHA-256 state")

    def update(self, data: bytes | bytearray | memoryview) -> None:
        chunk = data if isinstance(data, bytes) else bytes(data)
        _LIB.SHA256_Update(self._ctx, chunk, len(chunk))

    def state(self) -> bytes:
        """The state after every byte so far (``STATE_SIZE`` bytes)."""
        return self._ctx.raw

    def digest(self) -> bytes:
        copy = ctypes.create_string_buffer(self._ctx.raw, STATE_SIZE)  # the hash goes on
        out = ctypes.create_string_buffer(32)
        _LIB.SHA256_Final(out, copy)
        return out.raw

    def hexdigest(self) -> str:
        return self.digest().hex()
