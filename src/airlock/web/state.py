"""Where a Flask app keeps Airlock's parts: ``app.extensions["airlock"]``, never a global."""

from __future__ import annotations

from flask import current_app

from airlock.runtime import AirlockState


def state() -> AirlockState:
    """The current app's Airlock state."""
    return current_app.extensions["airlock"]  # type: ignore[no-any-return]
