"""Type detection from the bytes: libmagic on the first bytes, then, for zip containers, the
central directory (which also tells OOXML and ODF documents apart from plain zips)."""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, cast

import magic

from airlock.core.containers import BombLimits, Member, ZipFacts, classify_zip
from airlock.core.filetypes import FileType, looks_binary, lookup

_ZIP_FAMILY = frozenset(
    {
        "application/zip",
        "application/x-zip-compressed",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "application/java-archive",
        "application/octet-stream",
    }
)
_MAX_MIMETYPE_MEMBER = 128


@dataclass(frozen=True)
class Detected:
    """The type found in the bytes, and the container facts gathered on the way."""

    file_type: FileType
    zip: ZipFacts | None = None


class Detector:
    """One libmagic handle per Detector, calls serialised (handles are not thread-safe). A
    handle holds about 8 MiB of parsed magic, so one per thread would cost a worker hundreds
    of MiB; a call takes 0.5 to 2 ms on a text head (libmagic's text patterns), so one handle
    still serves some 500 uploads a second per worker."""

    def __init__(self) -> None:
        self._magic = magic.Magic(mime=True)
        self._lock = threading.Lock()

    def detect(self, head: bytes, open_view: Callable[[], BinaryIO]) -> Detected:
        """The type of staged bytes whose first bytes are ``head``; ``open_view()`` gives a
        seekable view of all of them, opened only when a zip's central directory is needed."""
        file_type = self.detect_head(head)
        if is_zip_container(file_type, head):
            with open_view() as view:
                facts = read_zip_facts(view)
            if facts is not None:
                return Detected(lookup(classify_zip(facts)), facts)
        return Detected(file_type)

    def detect_head(self, head: bytes) -> FileType:
        """The type the first bytes alone show (a zip's inner layout needs the whole file)."""
        with self._lock:
            mime = self._magic.from_buffer(head)
        file_type = lookup(mime)
        if (file_type.mime.startswith("text/") or file_type.mime == "application/json") and (
            looks_binary(head)
        ):
            file_type = lookup("application/octet-stream")
        return file_type


def is_zip_container(file_type: FileType, head: bytes) -> bool:
    """Whether the bytes start a zip, whatever libmagic guessed from its first members."""
    return file_type.mime in _ZIP_FAMILY and head[:4] == b"PK\x03\x04"


_ZIP_NAMES = (".zip", ".jar", ".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp", ".apk", ".epub")
_SNIFFED = 256  # members whose first bytes are looked at for a zip's signature
_S_IFLNK = 0o120000
# What zipfile raises for a truncated or forged archive or member (an unknown compression
# method included): not readable as a zip.
_UNREADABLE = (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError)


def _member(info: zipfile.ZipInfo) -> Member:
    name_bytes = len(info.filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437",
                                          "replace"))  # fmt: skip
    return Member(
        info.filename, info.header_offset, info.compress_size, info.file_size,
        symlink=(info.external_attr >> 16) & 0o170000 == _S_IFLNK, header=30 + name_bytes,
    )  # fmt: skip


def _inner_zips(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> list[zipfile.ZipInfo]:
    """Members that are zips: by name, or (the first few hundred) by their first bytes."""
    found = []
    for n, info in enumerate(infos):
        if info.is_dir() or info.flag_bits & 0x1 or info.file_size < 22:
            continue
        if info.filename.lower().endswith(_ZIP_NAMES):
            found.append(info)
        elif n < _SNIFFED:
            try:
                with zf.open(info) as member:
                    if member.read(4) == b"PK\x03\x04":
                        found.append(info)
            except _UNREADABLE:
                continue  # a member that cannot be read (overlapping, say) is judged as one
    return found


def _nested(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: BombLimits,
            depth: int) -> ZipFacts | None:  # fmt: skip
    if info.file_size > limits.max_nested or depth >= limits.max_depth:
        return None  # too large to open, or one level too deep: refused as such
    try:
        with zf.open(info) as member:  # seekable: zipfile inflates again from the start to seek
            inner = read_zip_facts(cast(BinaryIO, member), limits, depth + 1)
    except _UNREADABLE:
        return None  # named like a zip, and cannot be opened as one: not checked, so refused
    return inner if inner is not None else ZipFacts((), 0, 0)  # unreadable: no more to check


def read_zip_facts(view: BinaryIO, limits: BombLimits | None = None,
                   depth: int = 1) -> ZipFacts | None:  # fmt: skip
    """Names, sizes and the ODF ``mimetype`` member of a zip's central directory, read by
    seeking (a few ranged reads at the end) without decompressing anything; and the same of
    the zips inside it (read through the outer one, down to ``limits.max_depth``; an inner one
    larger than ``limits.max_nested`` is not opened: ``None``). ``None`` when the central
    directory is unreadable."""
    limits = limits or BombLimits()
    try:
        with zipfile.ZipFile(view) as zf:
            infos = zf.infolist()
            mimetype = ""
            first = infos[0] if infos else None
            if (
                first is not None
                and first.filename == "mimetype"
                and first.compress_type == zipfile.ZIP_STORED
                and not first.flag_bits & 0x1  # reading an encrypted member needs a password
                and first.file_size <= _MAX_MIMETYPE_MEMBER
            ):
                mimetype = zf.read(first).decode("ascii", "replace").strip()
            return ZipFacts(
                names=tuple(i.filename for i in infos),
                compressed=sum(i.compress_size for i in infos),
                uncompressed=sum(i.file_size for i in infos),
                mimetype=mimetype,
                encrypted=any(i.flag_bits & 0x1 for i in infos),
                members=tuple(_member(i) for i in infos),
                nested=tuple(_nested(zf, i, limits, depth) for i in _inner_zips(zf, infos)),
            )
    except _UNREADABLE:
        # What zipfile raises for a truncated or forged central directory: not a readable zip,
        # so the bytes are judged by libmagic's verdict alone.
        return None
