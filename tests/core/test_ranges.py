"""Range parsing: spans stay in bounds; anything odd falls back to the whole file."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airlock.core.ranges import Unsatisfiable, parse_range


@given(st.text(max_size=60), st.integers(min_value=0, max_value=10**12))
def test_any_header_gives_an_in_bounds_span_or_none(header: str, size: int) -> None:
    try:
        span = parse_range(header, size)
    except Unsatisfiable:
        return
    if span is not None:
        assert 0 <= span.start < span.stop <= size
        assert span.length <= size


@given(
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=1, max_value=10**9),
)
def test_byte_ranges_stay_in_bounds(first: int, last: int, size: int) -> None:
    try:
        span = parse_range(f"bytes={first}-{last}", size)
    except Unsatisfiable:
        assert first >= size
        return
    if span is None:
        assert last < first
        return
    assert span.start == first
    assert span.stop == min(last + 1, size)


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-0", 10, (0, 1)),
        ("bytes=5-", 10, (5, 10)),
        ("bytes=-3", 10, (7, 10)),
        ("bytes=-30", 10, (0, 10)),
        ("bytes=2-100", 10, (2, 10)),
    ],
)
def test_single_ranges(header: str, size: int, expected: tuple[int, int]) -> None:
    span = parse_range(header, size)
    assert span is not None and (span.start, span.stop) == expected


@pytest.mark.parametrize(
    "header",
    ["bytes=0-1,2-3", "bytes=0-1,0-1,0-1", "items=0-1", "bytes=a-b", "bytes=5-2", "bytes=-",
     "bytes 0-1", "bytes=٣-٤", "x" * 5000],
)  # fmt: skip
def test_multiple_or_malformed_ranges_mean_the_whole_file(header: str) -> None:
    assert parse_range(header, 10) is None


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=99-100", "bytes=-0"])
def test_unsatisfiable(header: str) -> None:
    with pytest.raises(Unsatisfiable):
        parse_range(header, 10)
