"""The resumable SHA-256: a state saved anywhere resumes to the same digest as hashlib's."""

from __future__ import annotations

import hashlib
import os

import pytest

from airlock.core.sha256_state import AVAILABLE, STATE_SIZE, ResumableSha256


def test_available_here() -> None:
    # Debian's and Python's OpenSSL 3 export SHA256_*; without them uploads still hash right,
    # by reading the bytes again, but this suite must know which path it tests.
    assert AVAILABLE


def test_resumed_state_gives_hashlibs_digest() -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    expected = hashlib.sha256(data).hexdigest()
    h = ResumableSha256()
    cuts = [0, 1, 63, 64, 65, 1000, 1024 * 1024, 2 * 1024 * 1024 + 3, len(data)]
    for start, stop in zip(cuts, cuts[1:]):
        h.update(data[start:stop])
        state = h.state()
        assert len(state) == STATE_SIZE
        h = ResumableSha256(bytes(state))  # as if on another instance
    assert h.hexdigest() == expected


def test_digest_does_not_end_the_hash() -> None:
    h = ResumableSha256()
    h.update(b"abc")
    assert h.hexdigest() == hashlib.sha256(b"abc").hexdigest()
    h.update(bytearray(b"def"))
    h.update(memoryview(b"ghi"))
    assert h.digest() == hashlib.sha256(b"abcdefghi").digest()
    assert ResumableSha256().hexdigest() == hashlib.sha256(b"").hexdigest()


def test_a_state_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(ValueError):
        ResumableSha256(b"\0" * (STATE_SIZE - 1))
