"""Local storage and local staging pass the conformance suites and keep keys inside the root."""

from __future__ import annotations

from pathlib import Path

import pytest

from airlock.storage.conformance import check_staging, check_storage
from airlock.storage.local import LocalStorage
from airlock.storage.local_staging import LocalStaging
from tests.support.storage import CappedStorage


def test_conformance(tmp_path: Path) -> None:
    assert len(check_storage(LocalStorage(tmp_path / "files"))) == 6


def test_staging_conformance(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files")
    assert len(check_staging(LocalStaging(tmp_path / "staging", storage), storage)) == 3


def test_staging_commits_into_storage_without_rename(tmp_path: Path) -> None:
    """Beside a backend without local paths, the commit is a streamed put."""
    storage = CappedStorage(tmp_path / "files", 10**8)
    assert len(check_staging(LocalStaging(tmp_path / "staging", storage), storage)) == 3
    assert not list((tmp_path / "staging").iterdir())


@pytest.mark.parametrize("key", ["../../etc/passwd", "a/b", "", "short", "x" * 100, "ab..cd" * 4])
def test_keys_cannot_leave_the_root(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError):
        LocalStorage(tmp_path).path(key)
    with pytest.raises(ValueError):
        LocalStaging(tmp_path / "staging", LocalStorage(tmp_path)).path(key)


def test_the_capped_double_conforms(tmp_path: Path) -> None:
    assert len(check_storage(CappedStorage(tmp_path, 10**7))) == 6


def test_resumable_staging_conformance(tmp_path: Path) -> None:
    from airlock.storage.conformance import check_resumable_staging

    storage = LocalStorage(tmp_path / "files")
    staging = LocalStaging(tmp_path / "staging", storage)
    assert len(check_resumable_staging(staging, storage)) == 9
