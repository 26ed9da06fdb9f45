"""What a detected type is, which extensions it may carry, and how it may be served.

Detection itself (libmagic, the zip directory) happens in ``airlock.pipeline.detect``; this module
only holds the table and the decisions over it: allowlist, extension agreement, passive or not.
"""

from __future__ import annotations

from dataclasses import dataclass

from airlock.errors import ContentMismatch, TypeNotAllowed


@dataclass(frozen=True)
class FileType:
    """A content type Airlock knows.

    ``extensions``: names that may carry it, the canonical one first. ``passive``: a browser only
    displays it (raster image, PDF, plain text, audio, video), so it may be served inline.
    ``active``: a browser could execute it; it is served as ``serve_as`` and always as an
    attachment.
    """

    mime: str
    extensions: tuple[str, ...]
    passive: bool = False
    active: bool = False

    @property
    def serve_as(self) -> str:
        """The Content-Type to send: never one a browser would execute."""
        if not self.active:
            return self.mime
        return "text/plain; charset=utf-8" if self.mime.startswith("text/") else (
            "application/octet-stream"
        )


_P = {"passive": True}
_A = {"active": True}
_TYPES = (
    FileType("image/png", ("png",), **_P),
    FileType("image/jpeg", ("jpg", "jpeg", "jpe"), **_P),
    FileType("image/gif", ("gif",), **_P),
    FileType("image/webp", ("webp",), **_P),
    FileType("image/bmp", ("bmp",), **_P),
    FileType("image/tiff", ("tif", "tiff")),
    FileType("image/avif", ("avif",), **_P),
    FileType("image/heic", ("heic",)),
    FileType("application/pdf", ("pdf",), **_P),
    FileType("text/plain", ("txt", "md", "csv", "json", "log", "text"), **_P),
    FileType("text/csv", ("csv", "txt"), **_P),
    FileType("application/json", ("json", "txt"), **_P),
    FileType("application/zip", ("zip",)),
    FileType("application/gzip", ("gz", "tgz")),
    FileType("application/x-tar", ("tar",)),
    FileType("application/x-7z-compressed", ("7z",)),
    FileType("application/vnd.rar", ("rar",)),
    FileType("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ("docx",)),
    FileType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ("xlsx",)),
    FileType(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation", ("pptx",)
    ),
    FileType("application/vnd.oasis.opendocument.text", ("odt",)),
    FileType("application/vnd.oasis.opendocument.spreadsheet", ("ods",)),
    FileType("application/vnd.oasis.opendocument.presentation", ("odp",)),
    FileType("application/msword", ("doc",)),
    FileType("application/vnd.ms-excel", ("xls",)),
    FileType("audio/mpeg", ("mp3",), **_P),
    FileType("audio/ogg", ("ogg", "oga"), **_P),
    FileType("audio/x-wav", ("wav",), **_P),
    FileType("audio/flac", ("flac",), **_P),
    FileType("video/mp4", ("mp4", "m4v", "m4a"), **_P),
    FileType("video/webm", ("webm",), **_P),
    FileType("video/quicktime", ("mov",), **_P),
    # What a browser could execute: refused by default, attachment-only if an operator allows it.
    FileType("text/html", ("html", "htm", "xhtml"), **_A),
    FileType("image/svg+xml", ("svg", "svgz"), **_A),
    FileType("text/xml", ("xml",), **_A),
    FileType("application/xml", ("xml",), **_A),
    FileType("text/javascript", ("js", "mjs"), **_A),
    FileType("text/x-shellscript", ("sh", "bash"), **_A),
    FileType("text/x-script.python", ("py",), **_A),
    FileType("text/x-php", ("php",), **_A),
    FileType("text/x-perl", ("pl",), **_A),
    FileType("text/x-ruby", ("rb",), **_A),
    FileType("text/x-msdos-batch", ("bat", "cmd"), **_A),
    FileType("application/x-dosexec", ("exe", "dll", "scr", "com"), **_A),
    FileType("application/x-executable", ("elf", "bin"), **_A),
    FileType("application/x-pie-executable", ("elf", "bin"), **_A),
    FileType("application/x-sharedlib", ("so",), **_A),
    FileType("application/x-mach-binary", ("macho",), **_A),
    FileType("application/java-archive", ("jar",), **_A),
    FileType("application/x-shockwave-flash", ("swf",), **_A),
    FileType("application/octet-stream", ("bin",), **_A),
)
_BY_MIME = {t.mime: t for t in _TYPES}

# libmagic's other spellings of the types above.
_ALIASES = {
    "image/x-ms-bmp": "image/bmp",
    "audio/x-mp3": "audio/mpeg",
    "audio/mp3": "audio/mpeg",
    "audio/wav": "audio/x-wav",
    "audio/x-flac": "audio/flac",
    "audio/mp4": "video/mp4",
    "audio/x-m4a": "video/mp4",
    "audio/webm": "video/webm",
    "application/x-gzip": "application/gzip",
    "application/x-rar": "application/vnd.rar",
    "application/x-rar-compressed": "application/vnd.rar",
    "application/x-zip-compressed": "application/zip",
    "application/javascript": "text/javascript",
    "application/x-javascript": "text/javascript",
    "text/x-python": "text/x-script.python",
    "text/x-sh": "text/x-shellscript",
    "application/x-sh": "text/x-shellscript",
    "text/x-bytecode.python": "application/octet-stream",
    "application/x-msdownload": "application/x-dosexec",
    "application/x-elf": "application/x-executable",
    "text/x-asm": "text/plain",
}


def known_extensions() -> frozenset[str]:
    """Every extension of a type Airlock can detect (what an allowlist may name)."""
    return frozenset(e for t in _TYPES for e in t.extensions)


def is_known(file_type: FileType) -> bool:
    """Whether ``file_type`` is one of the table's (and not the stand-in for a type unknown)."""
    return _BY_MIME.get(file_type.mime) == file_type


def for_extension(ext: str) -> FileType:
    """The type a name ending in ``.ext`` stands for: the one whose canonical extension it is,
    else the first that may carry it; an opaque active binary for an extension of none."""
    carrying = [t for t in _TYPES if ext in t.extensions]
    for t in carrying:
        if t.extensions[0] == ext:
            return t
    return carrying[0] if carrying else _BY_MIME["application/octet-stream"]


def lookup(mime: str) -> FileType:
    """The ``FileType`` for a detected MIME type; unknown types count as opaque active binaries
    (for ``text/*``, as active text), so they are refused unless an operator allows them."""
    mime = mime.split(";")[0].strip().lower()
    mime = _ALIASES.get(mime, mime)
    known = _BY_MIME.get(mime)
    if known is not None:
        return known
    if mime.startswith("text/"):
        return FileType(mime, (), active=True)
    return FileType(mime or "application/octet-stream", (), active=True)


def check_allowed(detected: FileType, ext: str, allowed: tuple[str, ...]) -> str:
    """Decide the allowlist and extension-agreement checks; return the extension the File gets.

    Raises ``TypeNotAllowed`` when the detected type, or the name's extension, is not on the
    allowlist, and ``ContentMismatch`` when both are allowed but disagree. A name without an
    extension gets the detected type's canonical one.
    """
    permitted = [e for e in detected.extensions if e in allowed]
    if not permitted:
        raise TypeNotAllowed(
            f"Files of type {detected.mime} are not allowed.", detected=detected.mime
        )
    if not ext:
        return permitted[0]
    if ext not in allowed:
        raise TypeNotAllowed(f"Files ending in .{ext} are not allowed.", extension=ext)
    if ext not in detected.extensions:
        raise ContentMismatch(
            f"The name ends in .{ext} but the content is {detected.mime}.",
            extension=ext,
            detected=detected.mime,
        )
    return ext


def inline_ok(file_type: FileType) -> bool:
    """Whether bytes of this type may be shown inline by a browser."""
    return file_type.passive and not file_type.active


_TEXT_CONTROLS = frozenset(b"\t\n\r\f\b\x1b")


# Every byte that is not a counted control: deleting these leaves the controls to count (in C,
# not a Python loop over up to 64 KiB).
_NOT_COUNTED = bytes(b for b in range(256) if not (b < 0x20 and b not in _TEXT_CONTROLS))


def looks_binary(head: bytes) -> bool:
    """Whether bytes a detector called text are really binary: any NUL, or more than 1 in 20
    control characters other than white space. (libmagic calls ``\\x7fELF`` plus NULs text.)"""
    if not head:
        return False
    if b"\0" in head:
        return True
    controls = len(head.translate(None, _NOT_COUNTED))
    return controls * 20 > len(head)


# White space and the byte order mark are printable here: dropped before ``isprintable``.
_WHITE_SPACE = dict.fromkeys(map(ord, "\t\n\r\f\ufeff"))

# Printable types that stay what they are whatever the name says: what a browser would run or
# render as a document (markup, scripts it executes) and what a reader parses by its signature.
_NEVER_PLAIN = frozenset({
    "text/html", "image/svg+xml", "text/xml", "application/xml", "text/javascript",
    "application/pdf",
})  # fmt: skip


def is_printable_text(head: bytes) -> bool:
    """Whether ``head`` (the first bytes of a file, maybe cut inside a character) is UTF-8
    text without control characters other than white space."""
    if not head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not merely a character cut at the end of the head
            return False
        text = head[: exc.start].decode("utf-8")
    return text.translate(_WHITE_SPACE).isprintable()


def text_after_all(detected: FileType, ext: str, head: bytes) -> FileType:
    """libmagic guesses a type from patterns, and printable text often matches one: random
    base64 as HP-GL or QuickTime, source code as C, Java or a shell script, a diff, LaTeX, a
    one-letter file as nothing at all. When the name says text, the bytes are printable text
    and the guess is not one a browser would run or render (HTML, SVG, XML, JavaScript), nor a
    PDF, nor a script that starts with its interpreter line (``#!``: it runs as it is), they
    are plain text: stored, and served, as such. (Source code, such as a fenced Python block in
    Markdown, is only text.)"""
    plain = lookup("text/plain")
    if ext not in plain.extensions or ext in detected.extensions:
        return detected  # not named as text, or the guess agrees with the name already
    if detected.mime in _NEVER_PLAIN:
        return detected
    if head.startswith(b"#!") and detected.mime in _BY_MIME and detected.active:
        return detected  # a script that runs as it is (its interpreter line), named as text
    return plain if is_printable_text(head) else detected
