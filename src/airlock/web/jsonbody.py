"""Reading a JSON object body, the one way every JSON endpoint does it."""

from __future__ import annotations

from typing import Any

from flask import request

from airlock.errors import BadRequest, UnsupportedMediaType


def json_body() -> dict[str, Any]:
    """The request's JSON object; ``UnsupportedMediaType`` for another media type,
    ``BadRequest`` for malformed JSON or anything but an object."""
    if not request.is_json:
        raise UnsupportedMediaType("Send a JSON body with Content-Type: application/json.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    return body
