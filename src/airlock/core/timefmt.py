"""Timestamps as the API writes and reads them (RFC 3339, UTC)."""

from __future__ import annotations

import datetime as dt

from airlock.errors import BadRequest


def rfc3339(when: dt.datetime | None) -> str | None:
    """``2026-01-02T03:04:05Z`` (second precision, UTC), or None."""
    if when is None:
        return None
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: object) -> dt.datetime:
    """An aware datetime from an RFC 3339 string; ``BadRequest`` otherwise."""
    if not isinstance(text, str):
        raise BadRequest("A timestamp must be an RFC 3339 string.")
    try:
        when = dt.datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{text!r} is not an RFC 3339 timestamp.") from None
    if when.tzinfo is None:
        raise BadRequest("A timestamp needs a time zone (e.g. Z).")
    try:
        return when.astimezone(dt.UTC)
    except OverflowError:
        raise BadRequest(f"{text!r} is out of range.") from None


LONGEST = 100 * 365 * 24 * 3600  # seconds: "no longest lifetime" still ends inside datetime


def lifetime_end(
    now: dt.datetime, expires_in: int | None, longest: int, what: str
) -> dt.datetime | None:
    """When something made ``now`` for ``expires_in`` seconds ends: never (None) for
    ``expires_in`` None, allowed only where there is no ``longest`` lifetime (0); else at
    most ``longest`` seconds on. ``BadRequest`` (naming ``what``: "Share links") otherwise."""
    if expires_in is None:
        if longest:
            raise BadRequest(f"{what} here expire within {longest} seconds: send expires_in.",
                             field="expires_in")  # fmt: skip
        return None
    seconds = parse_seconds(expires_in, "expires_in", longest or LONGEST)
    return now + dt.timedelta(seconds=seconds)


def parse_seconds(value: object, name: str, maximum: int) -> int:
    """A positive whole number of seconds up to ``maximum``; ``BadRequest`` otherwise."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise BadRequest(f"{name} must be a whole number of seconds from 1 to {maximum}.")
    return value
