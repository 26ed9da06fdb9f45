"""Working through a backlog in batches (gc): fetch a batch, handle each item, until a fetch
comes back empty. Each handled item must leave the backlog, or this never ends."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def drain(fetch: Callable[[], Sequence[T]], handle: Callable[[T], None]) -> int:
    """Handle every item ``fetch`` yields, batch after batch; how many were handled."""
    handled = 0
    while batch := fetch():
        for item in batch:
            handle(item)
            handled += 1
    return handled
