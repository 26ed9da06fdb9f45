"""Decisions over container facts: what a zip really is, and whether it is a bomb."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from airlock.errors import UnsafeContent

_ODF = {
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}
_OOXML_PARTS = (
    ("word/", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("xl/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("ppt/", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
)


@dataclass(frozen=True)
class Member:
    """One entry of a zip's central directory: where its local header starts, its sizes."""

    name: str
    offset: int
    compressed: int
    uncompressed: int
    symlink: bool = False
    header: int = 30  # the smallest its local header can be: 30 bytes and the name

@dataclass(frozen=True)
class ZipFacts:
    """What a zip's central directory declares; ``nested``: the facts of the zips inside it
    (``None`` for one too large, or too deep, to open)."""

    names: tuple[str, ...]
    compressed: int
    uncompressed: int
    mimetype: str = ""
    encrypted: bool = False
    members: tuple[Member, ...] = ()
    nested: tuple[ZipFacts | None, ...] = ()


def classify_zip(facts: ZipFacts) -> str:
    """The MIME type of a zip container: an ODF document (its stored ``mimetype`` member), an
    OOXML document (``[Content_Types].xml`` plus its main part folder), a Java archive, or a
    plain zip."""
    if facts.mimetype in _ODF:
        return facts.mimetype
    names = set(facts.names)
    if "[Content_Types].xml" in names:
        for prefix, mime in _OOXML_PARTS:
            if any(n.startswith(prefix) for n in facts.names):
                return mime
    if "META-INF/MANIFEST.MF" in names and any(n.endswith(".class") for n in facts.names):
        return "application/java-archive"
    return "application/zip"


@dataclass(frozen=True)
class BombLimits:
    """Bounds on what a container may expand to."""

    max_entries: int = 10_000
    max_uncompressed: int = 4 * 2**30  # the archive, all levels together
    max_ratio: int = 100
    max_depth: int = 3  # an archive in an archive in an archive, no deeper
    max_nested: int = 512 * 2**20  # the largest inner archive that is opened to be checked


def check_zip(facts: ZipFacts, limits: BombLimits) -> None:
    """Raise ``UnsafeContent`` for a zip bomb: too many entries, too large when expanded (all
    levels of nested archives together), a compression ratio no real document reaches, members
    whose data overlap (one byte range expanded many times), or archives nested too deep. Also
    refuses, at any level, members with a path outside the archive and symbolic links."""
    total = _check_level(facts, limits, depth=1)
    if total > limits.max_uncompressed:
        raise UnsafeContent("The archive and the archives in it expand to more than allowed.")


def _check_level(facts: ZipFacts, limits: BombLimits, depth: int) -> int:
    """Check one level; what it and the levels below expand to."""
    _check_one(facts, limits)
    total = facts.uncompressed
    for inner in facts.nested:
        if inner is None:
            raise UnsafeContent(
                "The archive nests archives too deep, or too large, to be checked."
            )
        total += _check_level(inner, limits, depth + 1)
    return total


def _check_one(facts: ZipFacts, limits: BombLimits) -> None:
    if len(facts.names) > limits.max_entries:
        raise UnsafeContent("The archive has too many entries.", entries=len(facts.names))
    if facts.uncompressed > limits.max_uncompressed:
        raise UnsafeContent("The archive expands to more than allowed.")
    if facts.uncompressed > 2**20 and facts.uncompressed > limits.max_ratio * max(
        facts.compressed, 1
    ):
        raise UnsafeContent("The archive's compression ratio marks it as a zip bomb.")
    for name in facts.names:
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or (parts[0][1:2] == ":"):
            raise UnsafeContent("The archive holds a member with a path outside it.")
    if any(m.symlink for m in facts.members):
        raise UnsafeContent("The archive holds a symbolic link.")
    ordered = sorted(facts.members, key=lambda m: m.offset)
    for this, after in itertools.pairwise(ordered):
        # The next member may not start inside this one's header or data.
        if after.offset < this.offset + this.header + this.compressed:
            raise UnsafeContent("The archive's members overlap (a zip bomb's trick).")
