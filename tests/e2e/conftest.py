"""End-to-end fixtures: ``airlock serve`` as a subprocess on an ephemeral 127.0.0.1 port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import LiveServer


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A running server with users ``alice`` (admin) and ``bob``; tokens in ``server.tokens``."""
    root: Path = tmp_path_factory.mktemp("live")
    live = LiveServer(root / "data").start()
    try:
        live.add_user("alice", admin=True)
        live.add_user("bob")
        yield live
    finally:
        live.stop()
