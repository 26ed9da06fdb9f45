"""tus 1.0.0 decisions over header values: versions, metadata, checksums, concatenation."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from airlock.errors import BadRequest, PreconditionFailed

VERSION = "1.0.0"
EXTENSIONS = (
    "creation", "creation-with-upload", "creation-defer-length", "termination", "expiration",
    "checksum", "concatenation",
)  # fmt: skip
CHECKSUM_ALGORITHMS = ("sha1", "md5", "sha256")
OFFSET_MEDIA_TYPE = "application/offset+octet-stream"
MAX_METADATA_LENGTH = 4096


def check_version(header: str | None) -> None:
    """Every request but OPTIONS must speak our version: ``PreconditionFailed`` otherwise."""
    if header != VERSION:
        raise PreconditionFailed(
            f"Tus-Resumable must be {VERSION}.", tus_version=VERSION, got=header
        )


def parse_int(value: str | None, name: str) -> int | None:
    """A non-negative whole number header (None when absent); ``BadRequest`` when malformed."""
    if value is None:
        return None
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        raise BadRequest(f"{name} must be a non-negative whole number.")
    return int(value)


def parse_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs (value optional). Values
    must be UTF-8; keys unique. ``BadRequest`` when malformed."""
    if not header or not header.strip():
        return {}
    if len(header) > MAX_METADATA_LENGTH:
        raise BadRequest("Upload-Metadata is too long.")
    result: dict[str, str] = {}
    for pair in header.split(","):
        parts = pair.strip().split(" ")
        key = parts[0]
        if not key or len(parts) > 2 or not key.isascii() or key in result:
            raise BadRequest("Upload-Metadata is malformed.")
        if len(parts) == 1 or parts[1] == "":
            result[key] = ""
            continue
        try:
            result[key] = base64.b64decode(parts[1], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise BadRequest(f"Upload-Metadata value of {key!r} is not base64 of UTF-8.") from None
    return result


@dataclass(frozen=True)
class Checksum:
    """A client's ``Upload-Checksum``: algorithm and raw digest."""

    algorithm: str
    digest: bytes


def parse_checksum(header: str | None) -> Checksum | None:
    """``Upload-Checksum: <algorithm> <base64 digest>``; ``BadRequest`` for unknown algorithms
    or malformed values (tus answers 400 for an unsupported algorithm)."""
    if header is None:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise BadRequest(
            f"Unsupported checksum algorithm {algorithm!r}.",
            supported=list(CHECKSUM_ALGORITHMS),
        )
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise BadRequest("Upload-Checksum is not valid base64.") from None
    if not digest:
        raise BadRequest("Upload-Checksum carries no digest.")
    return Checksum(algorithm, digest)


@dataclass(frozen=True)
class Concat:
    """``Upload-Concat``: a partial upload, or a final one made of ``parts`` (upload ids)."""

    kind: str  # "partial" or "final"
    parts: tuple[str, ...] = ()


def parse_concat(header: str | None, base_path: str) -> Concat | None:
    """``partial`` or ``final;URL URL …``; URLs may be absolute or paths, and must point at
    uploads under ``base_path``."""
    if header is None:
        return None
    header = header.strip()
    if header == "partial":
        return Concat("partial")
    kind, sep, urls = header.partition(";")
    if kind.strip() != "final" or not sep:
        raise BadRequest("Upload-Concat must be 'partial' or 'final;<urls>'.")
    parts = []
    for url in urls.split():
        path = url.split("://", 1)[-1]
        if "://" in url:
            path = "/" + path.split("/", 1)[1] if "/" in path else "/"
        if not path.startswith(base_path):
            raise BadRequest("Upload-Concat names an upload that is not on this server.")
        upload_id = path[len(base_path) :].strip("/")
        if not upload_id or "/" in upload_id:
            raise BadRequest("Upload-Concat names an invalid upload URL.")
        parts.append(upload_id)
    if not parts:
        raise BadRequest("Upload-Concat: final needs at least one partial upload.")
    if len(parts) > 100:
        raise BadRequest("Upload-Concat: final may join at most 100 partial uploads.")
    return Concat("final", tuple(parts))
