"""Member names for a zip of several Files: their display names, made unique the way file
managers do (``a.txt``, ``a (2).txt``), compared without regard to case since most unzipping
file systems do not tell ``A.txt`` from ``a.txt``."""

from __future__ import annotations

from collections.abc import Iterable


def unique_names(names: Iterable[str]) -> list[str]:
    """``names`` in order, each repeat given the first free ``stem (N).ext``."""
    taken: set[str] = set()
    out: list[str] = []
    for name in names:
        stem, dot, ext = name.rpartition(".")
        if not dot or not stem:
            stem, dot, ext = name, "", ""
        candidate, n = name, 1
        while candidate.casefold() in taken:
            n += 1
            candidate = f"{stem} ({n}){dot}{ext}"
        taken.add(candidate.casefold())
        out.append(candidate)
    return out
