"""Fixed-window failure counting, the decision half of sign-in rate limiting (no I/O, no clock:
callers pass ``now``)."""

from __future__ import annotations

import datetime as dt
import math

Record = tuple[int, dt.datetime] | None  # (failures, window_start), or nothing on record


def retry_after(record: Record, now: dt.datetime, limit: int, window: dt.timedelta) -> int:
    """Seconds until another attempt is allowed: 0 while fewer than ``limit`` failures fell in
    the current window, else the (whole, at least 1) seconds until that window ends."""
    if record is None:
        return 0
    failures, start = record
    end = start + window
    if failures < limit or end <= now:
        return 0
    return max(1, math.ceil((end - now).total_seconds()))


def after_failure(
    record: Record, now: dt.datetime, window: dt.timedelta
) -> tuple[int, dt.datetime]:
    """The record once one more failure happened at ``now``: counted in the current window, or
    the first of a new one when the old window is over."""
    if record is None or record[1] + window <= now:
        return 1, now
    return record[0] + 1, record[1]
