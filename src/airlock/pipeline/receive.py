"""Reading request bodies in bounded chunks: raw bodies and streamed multipart/form-data.

Limits (request size, file size, number of parts, part-header size, field size) are enforced
while reading, whatever the framing (Content-Length or chunked). Nothing is spooled: file parts go
straight to staging files, which are deleted again if the request fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from werkzeug.exceptions import ClientDisconnected
from werkzeug.sansio.multipart import (
    Data,
    Epilogue,
    Field,
    File,
    MultipartDecoder,
    NeedData,
    State,
)

from airlock.errors import BadRequest, MalformedMultipart, Rejected, TooLarge
from airlock.pipeline.staging import Staged, StagedWrite, Stager
from airlock.pipeline.writer import pump
from airlock.storage.base import Chunk

CHUNK_SIZE = 1024 * 1024
MAX_BOUNDARY = 70  # RFC 2046
_BULK = 64 * 1024  # a part's data chunk worth passing by the decoder's copies


@dataclass(frozen=True)
class Limits:
    """The limits one request is read under."""

    request: int
    file: int
    parts: int
    part_header: int
    field: int


class Readable(Protocol):
    """A server's input stream, as the body is read from it."""

    def read(self, size: int = -1, /) -> bytes: ...


def body_chunks(
    stream: Readable, limit: int, declared: int | None, chunk_size: int = CHUNK_SIZE
) -> Iterator[bytes]:
    """The request body in chunks of at most ``chunk_size``, read straight from the server's
    input stream: never past the ``declared`` Content-Length, ``TooLarge`` once more than
    ``limit`` bytes arrived, ``BadRequest`` when the client went away mid-body (a broken chunked
    body, or fewer bytes than declared)."""
    total = 0
    while declared is None or total < declared:
        want = chunk_size if declared is None else min(chunk_size, declared - total)
        try:
            chunk = stream.read(want)
        except (OSError, ClientDisconnected, ValueError) as exc:
            raise BadRequest(
                "The request body is malformed or ended before it was complete."
            ) from exc
        if not chunk:
            if declared is not None:
                raise BadRequest(
                    "The request body ended before it was complete.",
                    expected=declared, received=total,
                )  # fmt: skip
            return
        total += len(chunk)
        if total > limit:
            raise TooLarge(f"The request exceeds the limit of {limit} bytes.", limit=limit)
        yield chunk


def receive_raw(chunks: Iterable[bytes], stager: Stager, limit: int) -> Staged:
    """Stream a raw body into staging; a body cut short leaves nothing."""
    with stager.begin(limit) as out:
        pumped = pump(chunks, out.writer)
        if pumped.interrupted is not None:
            raise pumped.interrupted
        return out.finish()


@dataclass
class FilePart:
    """A ``file`` part: the client's name for it and either its staged bytes or its rejection."""

    filename: str
    staged: Staged | None = None
    error: Rejected | None = None


@dataclass
class Form:
    """A whole multipart body: text fields and file parts, all bytes safely staged."""

    fields: dict[str, str] = field(default_factory=dict)
    files: list[FilePart] = field(default_factory=list)

    def discard(self) -> None:
        """Delete every staged file of this form."""
        for part in self.files:
            if part.staged is not None:
                part.staged.discard()


def boundary_of(content_type_params: dict[str, str]) -> bytes:
    """The multipart boundary, validated per RFC 2046."""
    boundary = content_type_params.get("boundary", "")
    if not boundary or len(boundary) > MAX_BOUNDARY or not boundary.isascii():
        raise MalformedMultipart("The multipart boundary is missing or invalid.")
    return boundary.encode("ascii")


class _FormReader:
    """Drives Werkzeug's sans-IO multipart decoder over chunks, one event at a time."""

    def __init__(
        self, boundary: bytes, stager: Stager, limits: Limits, file_field: str
    ) -> None:
        self.decoder = MultipartDecoder(boundary)
        self.stager = stager
        self.limits = limits
        self.file_field = file_field
        self.form = Form()
        self.parts = 0
        self._sink: Callable[[Chunk], None] | None = None
        self._finish: Callable[[], None] | None = None
        self._open: StagedWrite | None = None
        # Bytes that would leave the decoder's data ending inside the closing delimiter,
        # between its two dashes, are held back until more arrive: Werkzeug's decoder (3.1,
        # pallets/werkzeug#3285) would otherwise pass that delimiter's CR on as the last part's
        # data. ``_given`` is the end of what the decoder has been given.
        self._cut_close = b"\n--" + boundary + b"-"
        self._delimiter = b"--" + boundary
        self._given = b""
        self._held = b""

    def feed(self, chunk: bytes | None) -> None:
        if chunk is not None and self.decoder.state in (State.EPILOGUE, State.COMPLETE):
            return  # after the closing delimiter: read (so counted) but never kept
        if chunk is None:
            self._give(self._held)
            self._held = b""
            self._decode(None)
            return
        data, self._held = self._held + chunk if self._held else chunk, b""
        if (self._given[-len(self._cut_close) :] + data[-len(self._cut_close) :]).endswith(
            self._cut_close
        ):
            keep = min(len(self._cut_close), len(data))
            data, self._held = data[:-keep], data[-keep:]
        self._give(data)

    def _give(self, data: bytes) -> None:
        if data:
            self._given = (self._given + data[-len(self._cut_close) :])[-len(self._cut_close) :]
            if self.decoder.state is State.DATA and len(data) > _BULK:
                data = self._pass_bulk(data)
            self._decode(data)

    def _pass_bulk(self, data: bytes) -> bytes:
        """Inside a part's data, hand the bytes that cannot hold a delimiter straight to the
        part's sink, and return the rest for the decoder. The decoder copies every byte four
        times on its way through (its buffer, two slices, ``bytes``); the sink gets a read-only
        view of the chunk instead.
        A delimiter's line break is at most two bytes before its ``--boundary``."""
        probe = self._delimiter
        held = self.decoder.buffer  # what the decoder kept back: a delimiter may start there
        if held:
            if (bytes(held) + data[: len(probe) + 2]).find(probe) >= 0:
                return data  # one that starts there is the decoder's to find
            if self._sink is not None:
                self._sink(bytes(held))  # no delimiter starts in it: data
            del held[:]
        at = data.find(probe)
        safe = len(data) - len(probe) - 2 if at < 0 else at - 2
        if safe <= 0:
            return data
        if self._sink is not None:
            self._sink(memoryview(data)[:safe])  # a view: the chunk is not copied
        return data[safe:]

    def _decode(self, chunk: bytes | None) -> None:
        self.decoder.receive_data(chunk)
        while True:
            try:
                event = self.decoder.next_event()
            except UnicodeDecodeError:  # its own text names codecs and byte positions
                raise MalformedMultipart(
                    "The multipart body is malformed (a part's headers are not UTF-8)."
                ) from None
            except ValueError as exc:
                raise MalformedMultipart(f"The multipart body is malformed ({exc}).") from None
            if isinstance(event, NeedData):
                if (
                    self.decoder.state in (State.PREAMBLE, State.PART)
                    and len(self.decoder.buffer) > self.limits.part_header + len(chunk or b"")
                ):
                    raise MalformedMultipart("A part's headers are too large.")
                return
            if isinstance(event, Epilogue):
                return
            if isinstance(event, (Field, File)):
                self._start(event)
            elif isinstance(event, Data):
                if self._sink is not None:
                    self._sink(event.data)
                if not event.more_data and self._finish is not None:
                    self._finish()
                    self._sink = self._finish = None

    def _start(self, event: Field | File) -> None:
        self.parts += 1
        if self.parts > self.limits.parts:
            raise MalformedMultipart(
                f"More than {self.limits.parts} parts.", limit=self.limits.parts
            )
        header_size = sum(len(k) + len(v) + 4 for k, v in event.headers.items())
        if header_size > self.limits.part_header:
            raise MalformedMultipart("A part's headers are too large.")
        if isinstance(event, File) and event.name == self.file_field:
            self._start_file(event.filename or "")
        elif isinstance(event, File):
            self._sink, self._finish = None, None  # a file under another name: ignored
        elif event.name:
            self._start_field(event.name)
        else:
            self._sink, self._finish = None, None  # a field without a name: ignored

    def _start_file(self, filename: str) -> None:
        part = FilePart(filename)
        self.form.files.append(part)
        if not filename:
            part.error = None  # an empty file input: no file chosen; dropped at the end
            self._sink, self._finish = None, None
            return
        out = self.stager.begin(self.limits.file)
        self._open = out

        def sink(data: Chunk) -> None:
            if part.error is not None:
                return
            try:
                out.write(data)
            except TooLarge as exc:
                out.discard()
                self._open = None
                part.error = exc

        def finish() -> None:
            if part.error is None:
                part.staged = out.finish()
            self._open = None

        self._sink, self._finish = sink, finish

    def _start_field(self, name: str) -> None:
        buf = bytearray()

        def sink(data: Chunk) -> None:
            if len(buf) + len(data) > self.limits.field:
                raise TooLarge(f"The form field {name!r} is too large.", limit=self.limits.field)
            buf.extend(data)

        def finish() -> None:
            try:
                self.form.fields.setdefault(name, buf.decode("utf-8"))
            except UnicodeDecodeError:
                raise BadRequest(f"The form field {name!r} is not UTF-8.") from None

        self._sink, self._finish = sink, finish

    def close(self) -> Form:
        self.feed(None)
        if self.decoder.state not in (State.EPILOGUE, State.COMPLETE) or self._open is not None:
            raise MalformedMultipart("The multipart body ended before its closing boundary.")
        return self.form

    def abort(self) -> None:
        if self._open is not None:
            self._open.discard()
        self.form.discard()


def receive_multipart(
    chunks: Iterable[bytes],
    boundary: bytes,
    stager: Stager,
    limits: Limits,
    file_field: str = "file",
) -> Form:
    """Read a whole multipart body: fields into memory (bounded), ``file_field`` parts into
    staging. Per-file problems (too large) are recorded on the part; request-level problems
    raise, after deleting every staged byte of the request."""
    reader = _FormReader(boundary, stager, limits, file_field)
    try:
        for chunk in chunks:
            reader.feed(chunk)
        form = reader.close()
    except BaseException:
        reader.abort()
        raise
    form.files = [p for p in form.files if p.filename]
    return form
