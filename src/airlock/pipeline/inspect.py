"""The inspector: every check an upload passes before it may become a File, cheapest first.

size (enforced while staging) → empty → name → type from the bytes → allowlist and extension
agreement → content safety (zip bombs, pixel floods, PNGs and PDFs whose compressed data
expands far past any real one, PDFs with active content: refused, or with ``allow_active_pdf``
kept as attachment-only). The first check that fails raises its
``Rejected`` error; nothing here reads the client's Content-Type. The bytes are read through the
staging's view (the head was taken while they arrived; a zip's directory is read by ranges).
Malware scanning and quota follow in the service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from airlock.core import filetypes
from airlock.core.containers import BombLimits, ZipFacts, check_zip
from airlock.core.filetypes import FileType
from airlock.core.images import DEFAULT_MAX_PIXELS, check_pixels, check_png
from airlock.core.names import extension, sanitize_name, with_extension
from airlock.core.pdf import check_pdf
from airlock.errors import EmptyFile, TooLarge, TypeNotAllowed
from airlock.pipeline.detect import Detector, is_zip_container
from airlock.pipeline.staging import Staged

ZIP_BASED_EXTENSIONS = frozenset({"zip", "docx", "xlsx", "pptx", "odt", "ods", "odp", "jar"})


@dataclass(frozen=True)
class Inspected:
    """An upload that passed inspection: the facts a File is made of."""

    staged: Staged
    name: str
    file_type: FileType
    attachment_only: bool = False  # never served inline, whatever the type (a PDF's scripts)


class Inspector:
    """Runs the checks in API.md's order over a staged upload."""

    def __init__(
        self,
        detector: Detector,
        allowed: tuple[str, ...],
        max_file_size: int,
        bombs: BombLimits | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        allow_active_pdf: bool = False,
    ) -> None:
        self.detector = detector
        self.allowed = allowed
        self.max_file_size = max_file_size
        self.bombs = bombs or BombLimits()
        self.max_pixels = max_pixels
        self.allow_active_pdf = allow_active_pdf

    def check_name(self, client_name: str) -> None:
        """Before any byte: a name whose extension is not allowed can only be refused."""
        ext = extension(sanitize_name(client_name))
        if ext and ext not in self.allowed:
            raise TypeNotAllowed(f"Files ending in .{ext} are not allowed.", extension=ext)

    def early_check(self, head: bytes, client_name: str) -> None:
        """On the first bytes of an upload still arriving: refuse a type that can never pass.
        Zip containers pass here when the name says a zip-based format: which one they are
        shows only in the central directory at the end."""
        file_type = self.detector.detect_head(head)
        ext = extension(sanitize_name(client_name))
        if is_zip_container(file_type, head) and ext in ZIP_BASED_EXTENSIONS:
            return
        file_type = filetypes.text_after_all(file_type, ext, head)
        filetypes.check_allowed(file_type, ext, self.allowed)

    def inspect(self, staged: Staged, client_name: str) -> Inspected:
        """Check ``staged`` (named ``client_name`` by the client); raise the first rejection."""
        if staged.size > self.max_file_size:
            raise TooLarge(f"The file exceeds the limit of {self.max_file_size} bytes.")
        if staged.size == 0:
            raise EmptyFile()
        name = sanitize_name(client_name)
        detected = self.detector.detect(staged.head, staged.reader)
        file_type = filetypes.text_after_all(detected.file_type, extension(name), staged.head)
        ext = filetypes.check_allowed(file_type, extension(name), self.allowed)
        if not extension(name):
            name = with_extension(name, ext)
        active = self.check_content(file_type, detected.zip, staged.head, staged.reader)
        return Inspected(staged, name, file_type, attachment_only=active)

    def check_content(self, file_type: FileType, zip_facts: ZipFacts | None, head: bytes,
                      open_view: Callable[[], BinaryIO]) -> bool:  # fmt: skip
        """The checks of what the bytes hold, once their type is known: zip bombs and their
        paths, pixel bombs, PNG chunks that inflate too far, PDF streams that do and PDFs
        with active content (``UnsafeContent`` unless they are allowed: then True, and the
        File is served as an attachment only)."""
        if zip_facts is not None:
            check_zip(zip_facts, self.bombs)
        check_pixels(file_type.mime, head, self.max_pixels)
        if file_type.mime == "image/png":
            with open_view() as view:
                check_png(view)
        elif file_type.mime == "application/pdf":
            with open_view() as view:
                return bool(check_pdf(view, allow_active=self.allow_active_pdf))
        return False
