"""Archives inside archives, and the other tricks of zip bombs: depth, the expanded size of all
levels together, overlapping members, symbolic links and paths outside the archive at any
level; read from real zips through the detector's own central-directory reader."""

from __future__ import annotations

import io
import os
import zipfile

import pytest

from airlock.core.containers import BombLimits, check_zip
from airlock.errors import UnsafeContent
from airlock.pipeline.detect import read_zip_facts
from tests.support import samples


def zip_of(members: dict[str, bytes], deflate: bool = True) -> bytes:
    return samples.zip_of(members, stored=not deflate)


def check(data: bytes, limits: BombLimits | None = None) -> None:
    limits = limits or BombLimits()
    facts = read_zip_facts(io.BytesIO(data), limits)
    assert facts is not None
    check_zip(facts, limits)


def nest(levels: int, inner: bytes = b"hello\n") -> bytes:
    data = zip_of({"inner.txt": inner})
    for n in range(levels - 1):
        data = zip_of({f"level{n}.zip": data})
    return data


def test_nesting_is_allowed_to_three_levels_and_no_deeper() -> None:
    check(nest(3))
    with pytest.raises(UnsafeContent, match="too deep"):
        check(nest(4))


def test_an_inner_zip_is_found_by_its_bytes_whatever_its_name() -> None:
    hidden = zip_of({"data.bin": nest(3)})  # four levels, the inner ones named .bin and .zip
    with pytest.raises(UnsafeContent, match="too deep"):
        check(hidden)


def test_the_expanded_size_counts_every_level() -> None:
    limits = BombLimits(max_uncompressed=4 * 2**20)
    noise = [os.urandom(2**20) for _ in range(3)]  # incompressible: no ratio to trip on
    inner = zip_of({f"part{i}.bin": noise[i] for i in range(2)}, deflate=False)  # 2 MiB
    outer = zip_of({"inner.zip": inner, "beside.bin": noise[2]}, deflate=False)  # 3 MiB, then 2 more
    check(zip_of({"beside.bin": noise[2]}), limits)
    check(inner, limits)  # each level alone is within the limit
    with pytest.raises(UnsafeContent, match="archives in it expand to more than allowed"):
        check(outer, limits)


def test_paths_outside_the_archive_at_any_level() -> None:
    for bad in ("/etc/passwd", "../../x.txt", "C:\\\\Windows\\\\x.txt", "a/../../x"):
        with pytest.raises(UnsafeContent, match="path outside"):
            check(zip_of({"ok.txt": b"1", "inner.zip": zip_of({bad: b"x"})}))


def test_a_symbolic_link_member_is_refused() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        link = zipfile.ZipInfo("link-to-etc")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "/etc")
    with pytest.raises(UnsafeContent, match="symbolic link"):
        check(buf.getvalue())


def test_overlapping_members_are_refused() -> None:
    data = bytearray(zip_of({"a.txt": b"A" * 1000, "b.txt": b"B" * 1000}, deflate=False))
    second = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 4)
    data[second + 42 : second + 46] = (0).to_bytes(4, "little")  # b.txt's header: a.txt's
    with pytest.raises(UnsafeContent, match="overlap"):
        check(bytes(data))


def test_real_office_documents_and_plain_zips_pass() -> None:
    from tests.support import corpus

    for name, data in corpus.corpus():
        if name.endswith((".zip", ".docx", ".xlsx", ".pptx", ".odt", ".ods")):
            check(data)
