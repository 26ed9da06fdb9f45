"""The fixed-window failure counter behind sign-in rate limiting."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from airlock.core.throttle import after_failure, retry_after

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
WINDOW = dt.timedelta(minutes=15)


def test_counts_within_a_window_and_restarts_after() -> None:
    rec = None
    for i in range(1, 4):
        rec = after_failure(rec, T0 + dt.timedelta(seconds=i), WINDOW)
    assert rec == (3, T0 + dt.timedelta(seconds=1))
    assert after_failure(rec, T0 + WINDOW + dt.timedelta(seconds=1), WINDOW) == (
        1, T0 + WINDOW + dt.timedelta(seconds=1))  # fmt: skip


def test_retry_after_only_when_the_limit_is_reached() -> None:
    assert retry_after(None, T0, 3, WINDOW) == 0
    assert retry_after((2, T0), T0, 3, WINDOW) == 0
    assert retry_after((3, T0), T0, 3, WINDOW) == 900
    assert retry_after((3, T0), T0 + dt.timedelta(seconds=899.5), 3, WINDOW) == 1
    assert retry_after((3, T0), T0 + WINDOW, 3, WINDOW) == 0


@given(
    failures=st.integers(0, 100),
    limit=st.integers(1, 50),
    elapsed=st.floats(0, 3600, allow_nan=False),
)
def test_retry_after_is_bounded_by_the_window(failures: int, limit: int, elapsed: float) -> None:
    wait = retry_after((failures, T0), T0 + dt.timedelta(seconds=elapsed), limit, WINDOW)
    assert 0 <= wait <= WINDOW.total_seconds()
    assert (wait > 0) == (failures >= limit and elapsed < WINDOW.total_seconds())
