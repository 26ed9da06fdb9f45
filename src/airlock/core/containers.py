"""Decisions over container facts: what a zip really is, and whether it is a bomb."""

from __future__ import annotations

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
class ZipFacts:
    """What a zip's central directory declares."""

    names: tuple[str, ...]
    compressed: int
    uncompressed: int
    mimetype: str = ""
    encrypted: bool = False


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
    max_uncompressed: int = 4 * 2**30
    max_ratio: int = 100


def check_zip(facts: ZipFacts, limits: BombLimits) -> None:
    """Raise ``UnsafeContent`` for a zip bomb: too many entries, too large when expanded, or a
    compression ratio no real document reaches. Also refuses path traversal in member names."""
    if len(facts.names) > limits.max_entries:
        raise UnsafeContent("The archive has too many entries.", entries=len(facts.names))
    if facts.uncompressed > limits.max_uncompressed:
        raise UnsafeContent("The archive expands to more than allowed.")
    if facts.uncompressed > 2**20 and facts.uncompressed > limits.max_ratio * max(
        facts.compressed, 1
    ):
        raise UnsafeContent("The archive's compression ratio marks it as a zip bomb.")
    for name in facts.names:
        if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/"):
            raise UnsafeContent("The archive holds a member with a path outside it.")
