"""Working through a backlog in batches (gc): fetch a batch, handle each item, until a fetch
comes back empty. Each handled item must leave the backlog, or this never ends. Several
processes may drain one backlog at once: ``handle`` says whether it was this one that removed
the item, and only those are counted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def drain(fetch: Callable[[], Sequence[T]], handle: Callable[[T], bool]) -> int:
    """Handle every item ``fetch`` yields, batch after batch; how many this call removed."""
    removed = 0
    while batch := fetch():
        for item in batch:
            removed += handle(item)
    return removed
