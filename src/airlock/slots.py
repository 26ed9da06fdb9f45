"""Caps on concurrent uploads per key (a user, a client address), shared by every worker
process of an instance: a key has ``limit`` slot files, and an upload holds an exclusive
``flock`` on one of them while its body arrives. The kernel drops the lock when the holder's
file is closed, so a killed worker frees its slots at once and nothing needs cleaning up."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from airlock.errors import RateLimited


class Slots:
    """``limit`` concurrent holders per key, in the directory ``root``."""

    def __init__(self, root: Path, limit: int) -> None:
        self.root = root
        self.limit = limit
        self._made = False

    def take(self, key: str) -> int | None:
        """A held slot's file descriptor (give it back with ``give_back``), or None when all
        ``limit`` slots of ``key`` are held."""
        if not self._made:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._made = True
        stem = hashlib.sha256(key.encode()).hexdigest()[:32]
        for i in range(self.limit):
            fd = os.open(self.root / f"{stem}.{i}", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            except BaseException:
                os.close(fd)
                raise
            return fd
        return None

    @staticmethod
    def give_back(fd: int) -> None:
        """Release a slot from ``take``."""
        os.close(fd)  # closing the only descriptor of its open file drops the lock


class Admission:
    """Concurrent upload bodies per user and per client address (0: no cap), for one
    instance (its data dir); across instances each counts its own."""

    def __init__(self, root: Path, per_user: int, per_address: int) -> None:
        self._caps = [(Slots(root / "user", per_user), per_user),
                      (Slots(root / "address", per_address), per_address)]  # fmt: skip

    @contextlib.contextmanager
    def holding(self, user: str | None, address: str | None) -> Iterator[None]:
        """Hold a slot of ``user`` and of ``address`` for the block; ``RateLimited`` (having
        taken nothing) when either has none free."""
        held: list[int] = []
        try:
            for (slots, cap), key in zip(self._caps, (user, address), strict=True):
                if not cap or key is None:
                    continue
                fd = slots.take(key)
                if fd is None:
                    kind = "account" if slots is self._caps[0][0] else "address"
                    raise RateLimited(
                        f"Too many uploads from this {kind} at once ({cap}); try again when "
                        "one has finished.", retry_after=1,
                    )  # fmt: skip
                held.append(fd)
            yield
        finally:
            for fd in held:
                Slots.give_back(fd)
