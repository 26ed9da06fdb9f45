"""Airlock: secure, fast file upload and file serving for Flask.

Public surface: ``create_app`` (the service), ``Airlock`` (the Flask extension) and
``Settings``. Imported lazily, so that ``airlock serve`` can set up multi-process metrics before
any metrics library is loaded.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Airlock", "Settings", "create_app"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from airlock.app import create_app

        return create_app
    if name == "Airlock":
        from airlock.ext import Airlock

        return Airlock
    if name == "Settings":
        from airlock.config import Settings

        return Settings
    raise AttributeError(name)
