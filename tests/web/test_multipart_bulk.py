"""``receive_multipart`` on large parts, where a part's data passes by the multipart decoder in
bulk (chunks over 64 KiB): the bytes kept must be exactly those sent, wherever the chunks
split the body and whatever look-alikes of a delimiter the data holds.

Each body has parts of a few hundred KiB of random bytes, all but the last sprinkled with
pieces of the delimiter: ``--boundary`` right after other bytes (data, not a delimiter), each prefix of
``CRLF--boundary`` (a delimiter that never completes), bare CR and LF. Bodies are read in large
fixed chunk sizes, in random large chunkings, and split right before, inside and after every
delimiter, with the small-chunk reading (where the decoder sees every byte) as the reference.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from airlock.errors import MalformedMultipart
from airlock.pipeline.receive import Limits, receive_multipart
from airlock.pipeline.staging import Stager
from airlock.storage.local import LocalStorage
from airlock.storage.local_staging import LocalStaging

BOUNDARY = b"----bulkBoundary7MA4YWxkTrZu0gW"
LIMITS = Limits(request=2**30, file=2**30, parts=100, part_header=16384, field=2**20)


def tricky_data(rng: random.Random, size: int) -> bytes:
    """Random bytes with delimiter look-alikes every few KiB, none a whole delimiter."""
    delimiter = b"\r\n--" + BOUNDARY
    pieces, total = [], 0
    while total < size:
        kind = rng.randrange(5)
        if kind == 0:
            piece = b"x--" + BOUNDARY  # the boundary after a data byte: data
        elif kind == 1:
            piece = delimiter[: rng.randrange(1, len(delimiter))] + b"#"  # never completes
        elif kind == 2:
            piece = rng.choice((b"\r", b"\n", b"\r\n", b"\n\r", b"--", b"\r\n--"))
        else:
            piece = rng.randbytes(rng.randrange(1, 9000))
        pieces.append(piece)
        total += len(piece)
    return b"".join(pieces)[:size].replace(b"\n--" + BOUNDARY, b"\n-+" + BOUNDARY).replace(
        b"\r--" + BOUNDARY, b"\r-+" + BOUNDARY
    )


def body_of(files: list[tuple[str, bytes]], note: bytes) -> bytes:
    out = [b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="note"\r\n\r\n' + note]
    for name, data in files:
        out.append(
            b"\r\n--" + BOUNDARY + b"\r\nContent-Disposition: form-data; name=\"file\"; "
            b'filename="' + name.encode() + b'"\r\nContent-Type: application/octet-stream'
            b"\r\n\r\n" + data
        )
    out.append(b"\r\n--" + BOUNDARY + b"--\r\n")
    return b"".join(out)


def read(tmp_path: Path, chunks: list[bytes]) -> tuple[dict[str, str], list[tuple[str, bytes]]]:
    staging = LocalStaging(tmp_path / "staging", LocalStorage(tmp_path / "files"))
    form = receive_multipart(chunks, BOUNDARY, Stager(staging), LIMITS)
    try:
        files = []
        for part in form.files:
            assert part.error is None and part.staged is not None
            with part.staged.reader() as f:
                data = f.read()
            assert part.staged.size == len(data)
            assert part.staged.sha256 == hashlib.sha256(data).hexdigest()
            files.append((part.filename, data))
        return dict(form.fields), files
    finally:
        form.discard()
        assert not list((tmp_path / "staging").iterdir())


def split(body: bytes, sizes: list[int]) -> list[bytes]:
    out, at, n = [], 0, 0
    while at < len(body):
        size = sizes[n % len(sizes)]
        out.append(body[at : at + size])
        at, n = at + size, n + 1
    return out


@pytest.fixture(scope="module")
def sent() -> tuple[bytes, list[tuple[str, bytes]], bytes]:
    rng = random.Random(3285)
    files = [
        ("a.bin", tricky_data(rng, 700_000)),
        ("b.bin", tricky_data(rng, 300_001)),
        ("c.bin", b"\r\n--" + BOUNDARY[:-1] + tricky_data(rng, 200_000) + b"\r"),
        ("d.bin", rng.randbytes(450_000)),  # no look-alikes: bulk reaches the chunk's end
    ]
    note = b"a note\r\n--not a boundary"
    return body_of(files, note), files, note


def expected(sent: tuple[bytes, list[tuple[str, bytes]], bytes]) -> tuple[dict, list]:
    _, files, note = sent
    return {"note": note.decode()}, files


def test_the_decoder_alone_reads_the_body(tmp_path: Path, sent: tuple) -> None:
    """The reference: chunks too small for the bulk path, every byte through the decoder."""
    assert read(tmp_path, split(sent[0], [4096])) == expected(sent)


@pytest.mark.parametrize("size", [65_537, 100_000, 262_144, 1_048_576, 4_000_000])
def test_large_chunks(tmp_path: Path, sent: tuple, size: int) -> None:
    assert read(tmp_path, split(sent[0], [size])) == expected(sent)


def test_random_large_chunkings(tmp_path: Path, sent: tuple) -> None:
    rng = random.Random(7)
    for _ in range(12):
        sizes = [rng.choice((rng.randint(1, 80), rng.randint(65_537, 400_000))) for _ in range(64)]
        assert read(tmp_path, split(sent[0], sizes)) == expected(sent), sizes


def test_split_around_every_delimiter(tmp_path: Path, sent: tuple) -> None:
    """A large chunk that ends right before, inside or right after a delimiter, then another."""
    body = sent[0]
    delimiter = b"\r\n--" + BOUNDARY
    at = body.find(delimiter, 1)
    starts = []
    while at != -1:
        starts.append(at)
        at = body.find(delimiter, at + 1)
    assert len(starts) == 5  # before each of the 4 files, and the closing one
    for start in starts:
        for cut in range(start - 3, start + len(delimiter) + 5):
            chunks = [body[max(0, cut - 200_000) : cut], body[cut:]]
            if cut > 200_000:
                chunks.insert(0, body[: cut - 200_000])
            assert read(tmp_path, chunks) == expected(sent), cut


def test_lf_only_delimiters(tmp_path: Path) -> None:
    """A client that breaks lines with LF alone still has its parts ended where they end."""
    rng = random.Random(11)
    data = rng.randbytes(500_000).replace(b"\n", b"n").replace(b"\r", b"r")
    body = (
        b"--" + BOUNDARY + b'\nContent-Disposition: form-data; name="file"; filename="a.bin"\n\n'
        + data + b"\n--" + BOUNDARY + b"--\n"
    )  # fmt: skip
    assert read(tmp_path, split(body, [300_000])) == ({}, [("a.bin", data)])


def test_a_body_cut_in_bulk_data_is_refused(tmp_path: Path, sent: tuple) -> None:
    body = sent[0]
    with pytest.raises(MalformedMultipart):
        read(tmp_path, split(body[:500_000], [200_000]))
    assert not list((tmp_path / "staging").iterdir())
