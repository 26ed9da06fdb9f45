"""Opaque cursors for newest-first listings."""

from __future__ import annotations

import base64
import datetime as dt

from airlock.errors import BadRequest


def encode_cursor(created_at: dt.datetime, item_id: str) -> str:
    """A URL-safe cursor pointing just after the item ``(created_at, item_id)``."""
    raw = f"{created_at.isoformat()}|{item_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    """The position a cursor names; ``BadRequest`` when it was not made by ``encode_cursor``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, item_id = raw.split("|", 1)
        when = dt.datetime.fromisoformat(stamp)
        if when.tzinfo is None or not item_id:
            raise ValueError("incomplete cursor")
        when = when.astimezone(dt.UTC)
    except (ValueError, UnicodeDecodeError, OverflowError):
        raise BadRequest("The cursor is not valid.") from None
    return when, item_id


DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def parse_limit(
    raw: str | None, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT
) -> int:
    """The page size asked for; ``BadRequest`` unless 1..maximum."""
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        raise BadRequest(f"limit must be a whole number from 1 to {maximum}.")
    return int(raw)
