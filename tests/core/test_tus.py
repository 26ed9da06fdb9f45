"""tus header decisions."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airlock.core.tus import parse_checksum, parse_concat, parse_int, parse_metadata
from airlock.errors import BadRequest

KEYS = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=","),
               min_size=1, max_size=10)  # fmt: skip


@given(st.dictionaries(KEYS, st.text(max_size=50), max_size=5))
def test_metadata_round_trips(values: dict[str, str]) -> None:
    header = ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}" if v else k for k, v in values.items()
    )
    assert parse_metadata(header) == values


@pytest.mark.parametrize("header", ["a b c", "k !!!", "k a,k b", "k " + base64.b64encode(b"\xff").decode()])
def test_bad_metadata(header: str) -> None:
    with pytest.raises(BadRequest):
        parse_metadata(header)


def test_checksum() -> None:
    c = parse_checksum("sha256 " + base64.b64encode(b"x" * 32).decode())
    assert c is not None and c.algorithm == "sha256" and c.digest == b"x" * 32
    assert parse_checksum(None) is None
    for bad in ("crc32 AAAA", "sha1 ???", "sha1"):
        with pytest.raises(BadRequest):
            parse_checksum(bad)


def test_concat() -> None:
    base = "/api/v1/tus/"
    assert parse_concat("partial", base).kind == "partial"  # type: ignore[union-attr]
    final = parse_concat("final;/api/v1/tus/a http://h:1/api/v1/tus/b", base)
    assert final is not None and final.parts == ("a", "b")
    for bad in ("final;", "final;/elsewhere/a", "other", "final;/api/v1/tus/a/b"):
        with pytest.raises(BadRequest):
            parse_concat(bad, base)


@pytest.mark.parametrize("value", ["-1", "1.5", "", "٣", "9" * 20])
def test_bad_ints(value: str) -> None:
    with pytest.raises(BadRequest):
        parse_int(value, "Upload-Length")
