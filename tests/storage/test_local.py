"""Local storage passes the conformance suite and keeps keys inside its root."""

from __future__ import annotations

from pathlib import Path

import pytest

from airlock.storage.conformance import check_storage
from airlock.storage.local import LocalStorage
from tests.support.storage import CappedStorage


def test_conformance(tmp_path: Path) -> None:
    assert len(check_storage(LocalStorage(tmp_path / "files"))) == 6


@pytest.mark.parametrize("key", ["../../etc/passwd", "a/b", "", "short", "x" * 100, "ab..cd" * 4])
def test_keys_cannot_leave_the_root(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError):
        LocalStorage(tmp_path).path(key)


def test_the_capped_double_conforms(tmp_path: Path) -> None:
    assert len(check_storage(CappedStorage(tmp_path, 10**7))) == 6
