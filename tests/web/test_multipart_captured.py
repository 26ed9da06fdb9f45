"""``receive_multipart`` on multipart bodies as real clients send them, split at every offset.

The bodies are captured at test time (``tests/support/captures.py``): Debian's curl, once with
a Content-Length and once chunked, and headless Debian Chromium, once through ``fetch()`` with
a ``FormData`` and once by submitting a real ``<form enctype=multipart/form-data>`` whose
``<input type=file multiple>`` was filled by Playwright. Every client sends the same files from
disk: binary bytes holding CR, LF, ``--`` and lines that look like curl's and Chromium's
boundaries; a text file whose name has quotes and non-ASCII letters (each client encodes it its
own way, Airlock must read back the name on disk); an empty file; an empty file field (no file
chosen); a file under another field name (not Airlock's); two text fields.

Each body is read whole, split in two at every offset, fed a byte at a time and in seeded
random chunkings, and cut short at the awkward places. Every reading is held against what the
client was given (fields, file names, bytes read back from staging, size and SHA-256), and the
staging directory must be empty once the form is discarded, or once a cut body was refused.

Staging files are real files in ``tmp_path``; on ext4 each costs a few milliseconds to delete
(writeback), so the thousands of readings run on four threads, each with a staging directory of
its own so that "nothing left behind" stays exact.
"""

from __future__ import annotations

import hashlib
import queue
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from airlock import Settings
from airlock.errors import BadRequest, MalformedMultipart
from airlock.pipeline.receive import Form, Limits, boundary_of, receive_multipart
from airlock.pipeline.staging import Stager
from airlock.storage.local import LocalStorage
from airlock.storage.local_staging import LocalStaging
from tests.support.captures import Captured, CaptureServer, curl_post, in_chromium

# What every client is given ----------------------------------------------------------------

BINARY = (
    b"\r\n"  # the data starts with a line break, right after the blank line
    + bytes(range(256))
    + b"\r\n--\r\n--\r\n\r\n\r\r\n\n\r"
    + b"\r\n------------------------0123456789abcdef\r\n"  # a line like curl's boundaries
    + b"\r\n------WebKitFormBoundaryABCDEFGHIJKLMNOP--\r\n"  # like Chromium's closing one
    + b'Content-Disposition: form-data; name="file"; filename="forged.txt"\r\n\r\n'
    + b"\r\n--"  # ends like the start of a delimiter
)
TEXT = "Grüße, line one\r\nline two\n--\nthe end\r\n".encode()

# (name, bytes) in the order sent, all in the ``file`` field; the names are the files' names on
# disk, which curl and Chromium take themselves.
SENT: list[tuple[str, bytes]] = [
    ("a.bin", BINARY),
    ("empty.dat", b""),
    ('Résumé "draft" ✓.txt', TEXT),
]
OTHER = ("other.txt", b"under another field name: not Airlock's to keep\r\n")
NOTE = "Grüße\r\n--not a boundary ✓"
EXPECTED = ({"visibility": "public", "note": NOTE}, SENT)


def default_limits() -> Limits:
    """The limits the service reads a request under by default."""
    s = Settings()
    return Limits(
        request=s.request_limit, file=s.max_file_size, parts=s.max_parts,
        part_header=s.max_part_header_size, field=s.max_field_size,
    )  # fmt: skip


LIMITS = default_limits()
WORKERS = 4

CLIENTS = [
    "curl",
    "curl-chunked",
    pytest.param("chromium-fetch", marks=pytest.mark.browser),
    pytest.param("chromium-form", marks=pytest.mark.browser),
]


# Capturing ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sent_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files on disk, under the names the clients send."""
    root = tmp_path_factory.mktemp("sent")
    for name, data in [*SENT, OTHER]:
        (root / name).write_bytes(data)
    (root / "nothing").write_bytes(b"")
    return root


@pytest.fixture(scope="session")
def curl_captures(sent_dir: Path) -> dict[str, Captured]:
    # Files last, so that the last part is a kept file (Chromium's form ends with a field).
    form = [
        "-F", "visibility=public",
        "--form-string", f"note={NOTE}",
        "-F", f"other=@{sent_dir / OTHER[0]}",
        "-F", f"file=@{sent_dir / 'nothing'};filename=",  # an empty file field
        *(arg for name, _ in SENT for arg in ("-F", f"file=@{sent_dir / name}")),
    ]  # fmt: skip
    with CaptureServer() as server:
        curl_post(server.url + "/curl", *form)
        curl_post(server.url + "/curl-chunked", *form, chunked=True)
        return {
            "curl": server.wait_for("/curl"),
            "curl-chunked": server.wait_for("/curl-chunked"),
        }


FORM_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>form</title></head><body>
<form method="post" action="/chromium-form" enctype="multipart/form-data">
  <input type="file" name="file" id="many" multiple>
  <input type="file" name="file" id="none">
  <input type="file" name="other" id="other">
  <input type="hidden" name="visibility" value="public">
  <textarea name="note" id="note"></textarea>
  <button type="submit" id="send">Send</button>
</form></body></html>"""

FETCH_SCRIPT = """async ({files, other, note}) => {
  const fd = new FormData();
  fd.append("visibility", "public");
  fd.append("note", note);
  fd.append("other", new File([new Uint8Array(other[1])], other[0]));
  fd.append("file", new Blob([]), "");
  for (const [name, bytes] of files) fd.append("file", new File([new Uint8Array(bytes)], name));
  return (await fetch("/chromium-fetch", {method: "POST", body: fd})).status;
}"""


@pytest.fixture(scope="session")
def chromium_captures(sent_dir: Path) -> dict[str, Captured]:
    with CaptureServer(pages={"/form.html": FORM_PAGE}) as server:

        def drive(browser: Browser) -> None:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            page.goto(server.url + "/form.html")
            page.set_input_files("#many", [sent_dir / name for name, _ in SENT])
            page.set_input_files("#other", sent_dir / OTHER[0])
            page.fill("#note", NOTE)
            with page.expect_navigation():
                page.click("#send")
            page.goto(server.url + "/form.html")
            status = page.evaluate(FETCH_SCRIPT, {
                "files": [[name, list(data)] for name, data in SENT],
                "other": [OTHER[0], list(OTHER[1])],
                "note": NOTE,
            })  # fmt: skip
            assert status == 200

        in_chromium(drive)
        return {
            "chromium-form": server.wait_for("/chromium-form"),
            "chromium-fetch": server.wait_for("/chromium-fetch"),
        }


@pytest.fixture(params=CLIENTS)
def captured(request: pytest.FixtureRequest) -> Captured:
    client: str = request.param
    group = "curl_captures" if client.startswith("curl") else "chromium_captures"
    captures: dict[str, Captured] = request.getfixturevalue(group)
    return captures[client]


# Reading -----------------------------------------------------------------------------------

Reading = tuple[dict[str, str], list[tuple[str, bytes]]]
Outcome = Reading | MalformedMultipart | BadRequest


@dataclass
class Reader:
    """``receive_multipart`` on a staging directory of its own."""

    staging_dir: Path
    stager: Stager
    boundary: bytes

    def read(self, chunks: list[bytes]) -> Outcome:
        """Fields and (name, bytes) of the kept files, read back from staging, or the refusal;
        either way the staging directory is then checked empty (after discarding the form)."""
        try:
            form = receive_multipart(chunks, self.boundary, self.stager, LIMITS)
        except (MalformedMultipart, BadRequest) as exc:
            self.assert_empty()
            return exc
        try:
            return dict(form.fields), self._files(form)
        finally:
            form.discard()
            self.assert_empty()

    def _files(self, form: Form) -> list[tuple[str, bytes]]:
        out = []
        for part in form.files:
            assert part.error is None, part.error
            assert part.staged is not None
            with part.staged.reader() as f:
                data = f.read()
            assert part.staged.size == len(data)
            assert part.staged.sha256 == hashlib.sha256(data).hexdigest()
            out.append((part.filename, data))
        return out

    def assert_empty(self) -> None:
        left = sorted(p.name for p in self.staging_dir.iterdir())
        assert not left, f"left in staging: {left}"


class Readers:
    """A few readers, one staging directory each, to read many chunkings on threads."""

    def __init__(self, root: Path, boundary: bytes) -> None:
        self.boundary = boundary
        self._idle: queue.Queue[Reader] = queue.Queue()
        for n in range(WORKERS):
            staging = LocalStaging(root / f"staging-{n}", LocalStorage(root / "files"))
            self._idle.put(Reader(staging.root, Stager(staging), boundary))

    def read(self, chunks: list[bytes]) -> Outcome:
        reader = self._idle.get()
        try:
            return reader.read(chunks)
        finally:
            self._idle.put(reader)

    def read_all(self, chunkings: list[list[bytes]]) -> list[Outcome]:
        with ThreadPoolExecutor(WORKERS) as pool:
            return list(pool.map(self.read, chunkings))


@pytest.fixture
def readers(captured: Captured, tmp_path: Path) -> Readers:
    mimetype, params = captured.content_type
    assert mimetype == "multipart/form-data"
    return Readers(tmp_path, boundary_of(params))


def describe(got: Outcome) -> str:
    """What a reading got wrong, briefly."""
    if isinstance(got, Exception):
        return repr(got)
    fields, files = got
    wrong = [] if fields == EXPECTED[0] else [f"fields {fields!r}"]
    if len(files) != len(SENT):
        wrong.append(f"files {[name for name, _ in files]}")
    for (name, data), (sent_name, sent) in zip(files, SENT, strict=False):
        if name != sent_name:
            wrong.append(f"name {name!r}")
        if data != sent:
            wrong.append(f"{sent_name!r}: {len(data)} bytes for {len(sent)}, ends {data[-4:]!r}")
    return ", ".join(wrong)


def check(got: Outcome) -> None:
    assert got == EXPECTED, describe(got)


def check_all(body: bytes, offsets: list[int], got: list[Outcome]) -> None:
    wrong = [
        f"at {i} ({body[max(0, i - 8) : i]!r} | {body[i : i + 8]!r}): {describe(g)}"
        for i, g in zip(offsets, got, strict=True)
        if g != EXPECTED
    ]
    assert not wrong, f"{len(wrong)} of {len(offsets)} readings wrong:\n" + "\n".join(wrong)


def random_chunks(body: bytes, rng: random.Random) -> list[bytes]:
    out, at = [], 0
    while at < len(body):
        size = rng.choice((rng.randint(1, 4), rng.randint(1, 80), rng.randint(50, 700)))
        out.append(body[at : at + size])
        at += size
    return out


def closing_delimiter(body: bytes, boundary: bytes) -> tuple[int, int]:
    """Where the body's closing delimiter ``CRLF--boundary--`` starts and ends."""
    delimiter = b"\r\n--" + boundary + b"--"
    start = body.rindex(delimiter)
    return start, start + len(delimiter)


# The captures themselves -------------------------------------------------------------------


def test_the_capture_is_what_the_client_sent(captured: Captured, readers: Readers) -> None:
    """The body came from the client it claims, framed as it claims, and holds every byte."""
    agent = captured.header("User-Agent") or ""
    kind = captured.target.lstrip("/")
    assert captured.method == "POST"
    if kind.startswith("curl"):
        assert agent.startswith("curl/")
        assert readers.boundary.startswith(b"-" * 20)
    else:
        assert "HeadlessChrome/" in agent
        assert readers.boundary.startswith(b"----WebKitFormBoundary")
    assert captured.chunked == (kind == "curl-chunked")
    if captured.chunked:
        assert captured.header("Content-Length") is None
    else:
        assert captured.header("Content-Length") == str(len(captured.body))
    for _, data in [*SENT, OTHER]:
        assert data in captured.body
    assert NOTE.encode() in captured.body
    # The quoted name went out in the client's own escaping (HTML's %22), not as sent.
    assert b'filename="R\xc3\xa9sum\xc3\xa9 %22draft%22 \xe2\x9c\x93.txt"' in captured.body
    assert b'filename=""' in captured.body  # the empty file field
    assert 300 < len(captured.body) < 4096  # small enough to split at every offset


def test_whole_body(captured: Captured, readers: Readers) -> None:
    check(readers.read([captured.body]))


def test_without_the_last_line_break(captured: Captured, readers: Readers) -> None:
    """RFC 2046: the line break after the closing delimiter is optional."""
    _, end = closing_delimiter(captured.body, readers.boundary)
    assert captured.body[end:] == b"\r\n"
    check(readers.read([captured.body[:end]]))


# Split every which way ---------------------------------------------------------------------


def test_split_in_two_at_every_offset(captured: Captured, readers: Readers) -> None:
    body = captured.body
    offsets = list(range(len(body) + 1))
    check_all(body, offsets, readers.read_all([[body[:i], body[i:]] for i in offsets]))


def test_split_between_the_closing_dashes(captured: Captured, readers: Readers) -> None:
    """One offset of the above, named: the first chunk ends ``CRLF--boundary-``. Werkzeug's
    decoder (3.1.9) holds back a possible boundary of the opening delimiter's length only, so
    it passes the CR on as the last part's data (pallets/werkzeug#3285)."""
    body = captured.body
    _, end = closing_delimiter(body, readers.boundary)
    check(readers.read([body[: end - 1], body[end - 1 :]]))


def test_one_byte_chunks(captured: Captured, readers: Readers) -> None:
    body = captured.body
    check(readers.read([body[i : i + 1] for i in range(len(body))]))


def test_random_chunkings(captured: Captured, readers: Readers) -> None:
    rng = random.Random(f"chunkings-{captured.target}")
    chunkings = [random_chunks(captured.body, rng) for _ in range(200)]
    got = readers.read_all(chunkings)
    wrong = [
        f"#{n} {[len(c) for c in chunks]}: {describe(g)}"
        for n, (chunks, g) in enumerate(zip(chunkings, got, strict=True))
        if g != EXPECTED
    ]
    assert not wrong, f"{len(wrong)} of {len(chunkings)} chunkings wrong:\n" + "\n".join(wrong)


# Cut short ---------------------------------------------------------------------------------


def truncations(body: bytes, boundary: bytes) -> tuple[list[int], list[int]]:
    """Offsets to cut the body at, each before the end of its closing delimiter: a handful
    (the very start, inside and right after the first boundary line, inside the blank line
    after the first headers, halfway through each sent file, the middles of the first delimiter
    between parts and of the closing one), and every offset of those two delimiters."""
    dash = b"--" + boundary
    blank = body.index(b"\r\n\r\n")
    between = body.index(b"\r\n" + dash + b"\r\n")
    closing = closing_delimiter(body, boundary)
    handful = [0, 1, len(dash) // 2, len(dash), len(dash) + 1, blank + 2, blank + 3, blank + 4]
    handful += [body.index(data) + len(data) // 2 for _, data in SENT if data]
    handful += [between + len(dash) // 2, (closing[0] + closing[1]) // 2, closing[1] - 1]
    every = [*range(between, between + len(dash) + 4), *range(*closing)]
    return sorted(set(handful)), sorted(set(every) - set(handful))


def test_truncated_bodies_are_refused_and_leave_nothing(
    captured: Captured, readers: Readers
) -> None:
    """Each of the handful is read whole, a byte at a time and in a random chunking; every
    offset of the two delimiters whole and split just before the cut."""
    body = captured.body
    handful, every = truncations(body, readers.boundary)
    assert len(every) > 2 * len(readers.boundary)
    chunkings: list[list[bytes]] = []
    labels: list[str] = []
    for cut in [*handful, *every]:
        short = body[:cut]
        ways = {"whole": [short], "split": [short[:-1], short[-1:]]}
        if cut in handful:
            rng = random.Random(f"truncated-{captured.target}-{cut}")
            ways = {**ways, "bytes": [short[i : i + 1] for i in range(len(short))],
                    "random": random_chunks(short, rng)}  # fmt: skip
        for how, chunks in ways.items():
            chunkings.append(chunks)
            labels.append(f"cut at {cut} ({body[max(0, cut - 8) : cut]!r}), {how}")
    got = readers.read_all(chunkings)  # each refusal checked its staging directory empty
    accepted = [
        f"{label}: {g!r}"
        for label, g in zip(labels, got, strict=True)
        if not isinstance(g, (MalformedMultipart, BadRequest))
    ]
    assert not accepted, "bodies cut short were accepted:\n" + "\n".join(accepted)


def test_an_epilogue_is_not_kept(tmp_path: Path) -> None:
    """Bytes after the closing delimiter are read but dropped: 64 MiB of them must not be held
    (the decoder would buffer them whole, up to the request limit)."""
    import tracemalloc

    from airlock.pipeline.receive import Limits, receive_multipart
    from airlock.pipeline.staging import Stager
    from airlock.storage.local import LocalStorage
    from airlock.storage.local_staging import LocalStaging

    body = (b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n"
            b"hello\r\n--B--\r\n")  # fmt: skip
    junk = b"j" * 2**20

    def chunks() -> Iterator[bytes]:
        yield body
        for _ in range(64):
            yield junk

    staging = LocalStaging(tmp_path / "staging", LocalStorage(tmp_path / "files"))
    limits = Limits(request=2**30, file=2**20, parts=10, part_header=16384, field=65536)
    tracemalloc.start()
    try:
        form = receive_multipart(chunks(), b"B", Stager(staging), limits)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [p.filename for p in form.files] == ["a.txt"]
    assert form.files[0].staged is not None and form.files[0].staged.size == 5
    form.discard()
    assert peak < 16 * 2**20, f"{peak / 2**20:.0f} MiB held for an epilogue"
