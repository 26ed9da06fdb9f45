"""A drop-in for Flask-Reuploaded 1.x (``flask_uploads``), with Airlock's checks on the bytes.

Code written for Flask-Reuploaded runs with its import changed to ``airlock.flask_uploads``:
the same names, configuration keys (``UPLOADED_<SET>_DEST/_URL/_ALLOW/_DENY``,
``UPLOADS_DEFAULT_DEST/_URL``, ``UPLOADS_AUTOSERVE``) and results (``save()`` returns the
stored name, a taken name gets ``_1``, ``_2``, …). What differs, and why:

- ``save()`` reads the bytes before anything is stored. They must be what the name says (a
  ``.jpg`` that is a PHP script, a ``.png`` that is a PDF: ``UploadNotAllowed``), hold no zip,
  pixel or PDF bomb, no PDF scripts, and be no type a browser runs or renders as a document
  (HTML, SVG, XML, JavaScript, scripts, executables) unless the set's ``UPLOADED_<SET>_ALLOW``
  names that extension. The refusal's reason is ``UploadNotAllowed.error`` (Airlock's error,
  with API.md's ``code``).
- A file is written beside its final name first and linked into place when it passed, so no
  half-written or refused file is ever visible under a name, and two uploads racing for one
  name both keep theirs.
- ``AIRLOCK_MAX_FILE_SIZE`` (from ``app.config``, as the extension reads it) caps a file.
- Autoserved files (``UPLOADS_AUTOSERVE``) are sent with Airlock's safe headers: the type
  their checked extension stands for, ``nosniff``, a sandboxing CSP, and as an attachment
  unless the type is safe to show inline. Names starting with a dot are never served.
- ``TestingFileStorage`` with no bytes (its default) has nothing to check: it is saved as
  before (``saved`` is set); given bytes, they are checked first.
"""

from __future__ import annotations

import os
import posixpath
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, BinaryIO, cast

from flask import Blueprint, Flask, Response, abort, current_app, send_from_directory, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from airlock.config import Settings
from airlock.core import filetypes
from airlock.core.headers import SECURITY_HEADERS, content_disposition
from airlock.errors import AirlockError, ContentMismatch, EmptyFile, TooLarge, UnsafeContent
from airlock.pipeline.detect import Detector
from airlock.pipeline.inspect import Inspector
from airlock.pipeline.receive import body_chunks
from airlock.pipeline.writer import Head

__all__ = [
    "ALL", "ARCHIVES", "AUDIO", "DATA", "DEFAULTS", "DOCUMENTS", "EXECUTABLES", "IMAGES",
    "SCRIPTS", "SOURCE", "TEXT", "AllExcept", "TestingFileStorage", "UploadConfiguration",
    "UploadNotAllowed", "UploadSet", "addslash", "config_for_set", "configure_uploads",
    "extension", "lowercase_ext",
]  # fmt: skip

# Extension presets, as Flask-Reuploaded defines them.
TEXT = ("txt",)
DOCUMENTS = ("rtf", "odf", "ods", "gnumeric", "abw", "doc", "docx", "xls", "xlsx", "pdf")
IMAGES = ("jpg", "jpe", "jpeg", "png", "gif", "svg", "bmp", "webp")
AUDIO = ("wav", "mp3", "aac", "ogg", "oga", "flac")
DATA = ("csv", "ini", "json", "plist", "xml", "yaml", "yml")
SCRIPTS = ("js", "php", "pl", "py", "rb", "sh")
ARCHIVES = ("gz", "bz2", "zip", "tar", "tgz", "txz", "7z")
SOURCE = (
    "c", "cpp", "c++", "h", "hpp", "h++", "cxx", "hxx", "hdl", "ada", "rs", "go",
    "f", "for", "f90", "f95", "f03", "d", "dd", "di", "java", "hs", "cs", "fs",
    "cbl", "cob", "asm", "s",
)  # fmt: skip
EXECUTABLES = ("so", "exe", "dll")
DEFAULTS = TEXT + DOCUMENTS + IMAGES + DATA

_STATE = "airlock.flask_uploads"  # app.extensions key of the checks
_NOT_CONFIGURED = ("The application is not properly configured. "
                   "Please make sure to use `configure_uploads`.")  # fmt: skip


class UploadNotAllowed(Exception):
    """The upload was refused: its extension, or (here) its bytes. ``error`` is Airlock's
    reason when the bytes were refused (``None`` for the extension)."""

    def __init__(self, message: str = "", error: AirlockError | None = None) -> None:
        super().__init__(message or (error.message if error else ""))
        self.error = error


class _All:
    """Contains every extension (``ALL``)."""

    def __contains__(self, item: object) -> bool:
        return True


ALL = cast(Iterable[str], _All())


class AllExcept:
    """Every extension but ``items``: ``AllExcept(SCRIPTS + EXECUTABLES)``."""

    def __init__(self, items: Iterable[str]) -> None:
        self.items = items

    def __contains__(self, item: object) -> bool:
        return item not in cast(Iterable[object], self.items)


def extension(filename: str) -> str:
    """The extension of ``filename`` without its dot, as it is written ('' for none)."""
    return os.path.splitext(filename)[1][1:]


def lowercase_ext(filename: str) -> str:
    """``filename`` with its extension (only) in lower case."""
    if "." not in filename:
        return filename
    main, ext = os.path.splitext(filename)
    return main + ext.lower()


def addslash(url: str) -> str:
    """``url`` ending in ``/``."""
    return url if url.endswith("/") else url + "/"


class TestingFileStorage(FileStorage):
    """A ``FileStorage`` for tests whose ``save(dst)`` only records ``dst`` in ``saved``."""

    __test__ = False  # not a test class, whatever pytest thinks of its name

    def __init__(
        self, stream: BinaryIO | None = None, filename: str | None = None,
        name: str | None = None, content_type: str = "application/octet-stream",
        content_length: int = -1, headers: Any | None = None,
    ) -> None:  # fmt: skip
        super().__init__(stream, filename, name=name, content_type=content_type,
                         content_length=content_length, headers=None)  # fmt: skip
        self.saved: str | None = None

    def save(self, dst: str, buffer_size: int = 16384) -> None:  # type: ignore[override]
        if not isinstance(dst, str):
            raise RuntimeError("dst currently has to be a `str`")
        self.saved = dst


class UploadConfiguration:
    """Where a set's files go (``destination``), where they are served from (``base_url``;
    ``None``: autoserved) and the extensions its configuration adds (``allow``) or takes
    away (``deny``)."""

    def __init__(self, destination: str, base_url: str | None = None,
                 allow: tuple[str, ...] = (), deny: tuple[str, ...] = ()) -> None:  # fmt: skip
        self.destination = destination
        self.base_url = base_url
        self.allow = allow
        self.deny = deny

    @property
    def tuple(self) -> tuple[str, str | None, tuple[str, ...], tuple[str, ...]]:
        return (self.destination, self.base_url, self.allow, self.deny)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UploadConfiguration):
            return NotImplemented
        return self.tuple == other.tuple

    def __hash__(self) -> int:
        return hash(self.tuple)


def config_for_set(
    uset: UploadSet, app: Flask, defaults: dict[str, str | None] | None = None
) -> UploadConfiguration:
    """One set's configuration from ``app.config`` (``UPLOADED_<NAME>_…``), falling back to
    the set's ``default_dest`` and then to ``defaults`` (``dest``, ``url``: the
    ``UPLOADS_DEFAULT_…`` settings, under which each set gets a folder of its name)."""
    config = app.config
    prefix = f"UPLOADED_{uset.name.upper()}_"
    defaults = defaults or {"dest": None, "url": None}
    destination = config.get(prefix + "DEST")
    base_url = config.get(prefix + "URL")
    from_defaults = False
    if destination is None and uset.default_dest is not None:
        destination = uset.default_dest(app)
    if destination is None:
        if defaults.get("dest") is None:
            raise RuntimeError(f"no destination for set {uset.name}")
        destination = os.path.join(cast(str, defaults["dest"]), uset.name)
        from_defaults = True
    if base_url is None and from_defaults and defaults.get("url") is not None:
        base_url = addslash(cast(str, defaults["url"])) + uset.name + "/"
    return UploadConfiguration(destination, base_url, tuple(config.get(prefix + "ALLOW", ())),
                               tuple(config.get(prefix + "DENY", ())))  # fmt: skip


def configure_uploads(app: Flask, upload_sets: UploadSet | Iterable[UploadSet]) -> None:
    """Read each set's configuration into ``app.upload_set_config`` (may be called again with
    more sets), set up Airlock's checks for ``app`` (settings from its ``AIRLOCK_*`` keys) and,
    with ``UPLOADS_AUTOSERVE``, serve the sets without a URL of their own at ``/_uploads``."""
    sets = (upload_sets,) if isinstance(upload_sets, UploadSet) else tuple(upload_sets)
    if not hasattr(app, "upload_set_config"):
        app.upload_set_config = {}  # type: ignore[attr-defined]
    set_config: dict[str, UploadConfiguration] = app.upload_set_config  # type: ignore[attr-defined]
    defaults = {"dest": app.config.get("UPLOADS_DEFAULT_DEST"),
                "url": app.config.get("UPLOADS_DEFAULT_URL")}  # fmt: skip
    for uset in sets:
        set_config[uset.name] = config_for_set(uset, app, defaults)
    if _STATE not in app.extensions:
        settings = Settings.load({k: v for k, v in app.config.items() if k.startswith("AIRLOCK_")})
        app.extensions[_STATE] = Inspector(Detector(), (), settings.max_file_size,
                                           max_pixels=settings.max_image_pixels)  # fmt: skip
    if app.config.get("UPLOADS_AUTOSERVE", False) and "_uploads" not in app.blueprints and any(
        c.base_url is None for c in set_config.values()
    ):
        app.register_blueprint(_autoserve)


class UploadSet:
    """A named set of uploaded files, configured per app (``configure_uploads``)."""

    def __init__(self, name: str = "files", extensions: Iterable[str] = DEFAULTS,
                 default_dest: Callable[[Flask], str] | None = None) -> None:  # fmt: skip
        if not name.isalnum():
            raise ValueError("Name must be alphanumeric (no underscores)")
        self.name = name
        self.extensions = extensions
        self.default_dest = default_dest
        self._config: UploadConfiguration | None = None

    @property
    def config(self) -> UploadConfiguration:
        """This set's configuration on the current app (or ``_config``, when set)."""
        if self._config is not None:
            return self._config
        configs = getattr(current_app, "upload_set_config", None)
        if configs is None:
            raise RuntimeError(_NOT_CONFIGURED)
        return cast(UploadConfiguration, configs[self.name])

    def url(self, filename: str) -> str:
        """The URL a file of this set is served at (whether or not it exists)."""
        base = self.config.base_url
        if base is None:
            return url_for("_uploads.uploaded_file", setname=self.name, filename=filename,
                           _external=True)  # fmt: skip
        return base + filename

    def path(self, filename: str, folder: str | None = None) -> str:
        """The absolute path of a file of this set (whether or not it exists)."""
        target = self.config.destination if folder is None else os.path.join(
            self.config.destination, folder)  # fmt: skip
        return os.path.join(target, filename)

    def file_allowed(self, storage: FileStorage, basename: str) -> bool:
        """Whether ``storage`` may be saved as ``basename``: by its extension (override to
        decide otherwise; Airlock's checks of the bytes come after, whatever this says)."""
        return self.extension_allowed(extension(basename))

    def extension_allowed(self, ext: str) -> bool:
        """The configuration's ``allow``, else the set's extensions minus ``deny``."""
        return ext in self.config.allow or (ext in self.extensions and ext not in self.config.deny)

    def get_basename(self, filename: str) -> str:
        return lowercase_ext(secure_filename(filename))

    def save(self, storage: FileStorage, folder: str | None = None,
             name: str | None = None) -> str:  # fmt: skip
        """Check and save ``storage`` into this set (in ``folder``, as ``name``: a name ending
        in a dot gets the file's extension; ``name`` may carry the folder, ``"a/photo."``).
        Returns the stored name, folder included; ``UploadNotAllowed`` when the extension or
        the bytes are refused, and then nothing is stored."""
        if not isinstance(storage, FileStorage):
            raise TypeError("storage must be a werkzeug.FileStorage")
        keep_ext = name is not None and name.rstrip().endswith(".")
        if folder is None and name is not None and "/" in name:
            folder, name = os.path.split(name)
            keep_ext = name.rstrip().endswith(".")
            folder, name = secure_filename(folder) or None, secure_filename(name)
        if storage.filename is None:
            raise ValueError("Filename must not be empty!")
        basename = self.get_basename(storage.filename)
        if not self.file_allowed(storage, basename):
            raise UploadNotAllowed()
        if name:
            name = secure_filename(name)
            if not name:
                raise ValueError("Invalid filename after sanitization")
            basename = lowercase_ext(f"{name}.{extension(basename)}" if keep_ext
                                     and not name.endswith(".") else name)  # fmt: skip
            ext = extension(basename)
            if ext and not self.extension_allowed(ext):
                raise UploadNotAllowed(f"File extension '{ext}' is not allowed")
        if folder:
            folder = secure_filename(folder)
        target_folder = os.path.join(self.config.destination, folder) if folder else (
            self.config.destination)  # fmt: skip
        os.makedirs(target_folder, exist_ok=True)
        dest_real = os.path.realpath(self.config.destination)
        if not (os.path.realpath(target_folder) + os.sep).startswith(dest_real + os.sep):
            raise ValueError("Security: Path traversal attempt detected")
        basename = self._place(storage, target_folder, basename)
        return posixpath.join(folder, basename) if folder else basename

    def resolve_conflict(self, target_folder: str, basename: str) -> str:
        """A free name for ``basename`` in ``target_folder``: ``name_1.ext``, ``name_2.ext``…"""
        stem, ext = os.path.splitext(basename)
        count = 1
        while os.path.exists(os.path.join(target_folder, f"{stem}_{count}{ext}")):
            count += 1
        return f"{stem}_{count}{ext}"

    def _place(self, storage: FileStorage, folder: str, basename: str) -> str:
        """Write, check, and link the bytes under a free name; the name taken."""
        stream = cast(BinaryIO, storage.stream)
        if isinstance(storage, TestingFileStorage) and _empty(stream):
            basename = self._free(folder, basename)
            storage.save(os.path.join(folder, basename))
            return basename
        with _written(stream, folder, _checks().max_file_size) as (part, head):
            self._check(part, head, extension(basename).lower())
            if isinstance(storage, TestingFileStorage):
                basename = self._free(folder, basename)
                storage.save(os.path.join(folder, basename))
                return basename
            while True:
                basename = self._free(folder, basename)
                try:
                    os.link(part, os.path.join(folder, basename))
                    return basename
                except FileExistsError:  # another upload took the name just now
                    continue

    def _free(self, folder: str, basename: str) -> str:
        if os.path.exists(os.path.join(folder, basename)):
            return self.resolve_conflict(folder, basename)
        return basename

    def _check(self, part: str, head: bytes, ext: str) -> None:
        """``UploadNotAllowed`` unless the bytes at ``part`` are what ``ext`` says."""
        checks = _checks()
        size = os.path.getsize(part)
        try:
            if size == 0:
                raise EmptyFile()
            detected = checks.detector.detect(head, _opener(part))
            file_type = _agrees(detected.file_type, ext, head, allowed=ext in self.config.allow)
            checks.check_content(file_type, detected.zip, head, _opener(part))
        except AirlockError as exc:
            raise UploadNotAllowed(error=exc) from None


def _empty(stream: BinaryIO) -> bool:
    """Whether a seekable ``stream`` has nothing left to read (it is left where it was)."""
    if not stream.seekable():
        return False
    at = stream.tell()
    first = stream.read(1)
    stream.seek(at)
    return not first


def _opener(path: str) -> Callable[[], BinaryIO]:
    return lambda: open(path, "rb")


def _checks() -> Inspector:
    checks = current_app.extensions.get(_STATE)
    if checks is None:
        raise RuntimeError(_NOT_CONFIGURED)
    return cast(Inspector, checks)


def _agrees(detected: filetypes.FileType, ext: str, head: bytes,
            allowed: bool) -> filetypes.FileType:  # fmt: skip
    """The bytes' type, held to the name's extension: it must be a type the extension stands
    for. Under an extension of no type Airlock knows, printable text passes as text. A type a
    browser would run or render as a document is refused (``UnsafeContent``) unless the
    configuration's ``ALLOW`` names the extension; then so is a type Airlock does not know."""
    known_ext = ext in filetypes.known_extensions()
    file_type = filetypes.text_after_all(detected, ext if known_ext else "txt", head)
    fits = ext in file_type.extensions or (
        not known_ext and (file_type.mime == "text/plain"
                           or (allowed and not filetypes.is_known(file_type)))
    )  # fmt: skip
    if not fits:
        raise ContentMismatch(f"The name ends in .{ext} but the content is {file_type.mime}.",
                              extension=ext, detected=file_type.mime)  # fmt: skip
    if file_type.active and not allowed:
        raise UnsafeContent(f"Files of type {file_type.mime} are not accepted here.",
                            detected=file_type.mime)  # fmt: skip
    return file_type


@contextmanager
def _written(stream: BinaryIO, folder: str, limit: int) -> Iterator[tuple[str, bytes]]:
    """``stream`` written to a hidden file in ``folder`` (fsynced): its path and first bytes.
    The file is removed when the block ends; a name linked to it meanwhile keeps the bytes."""
    path = os.path.join(folder, f".airlock-{secrets.token_hex(8)}.part")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        head = Head()
        with os.fdopen(fd, "wb", closefd=True) as out:
            try:
                for chunk in body_chunks(stream, limit, None):
                    head.update(chunk)
                    out.write(chunk)
            except TooLarge as exc:
                raise UploadNotAllowed(error=exc) from None
            out.flush()
            os.fsync(out.fileno())
        yield path, head.value
    finally:
        with suppress(FileNotFoundError):
            os.unlink(path)


_autoserve = Blueprint("_uploads", __name__, url_prefix="/_uploads")


@_autoserve.route("/<setname>/<path:filename>")
def uploaded_file(setname: str, filename: str) -> Response:
    """A set's file, with Airlock's safe headers; dot-names (files being written) never."""
    config = current_app.upload_set_config.get(setname)  # type: ignore[attr-defined]
    if config is None or any(p.startswith(".") for p in filename.split("/")):
        abort(404)
    response = send_from_directory(config.destination, filename)
    file_type = filetypes.for_extension(extension(filename).lower())
    response.headers.update(SECURITY_HEADERS)
    response.headers["Content-Type"] = file_type.serve_as
    response.headers["Content-Disposition"] = content_disposition(
        posixpath.basename(filename), filetypes.inline_ok(file_type))
    return response
