"""Airlock: secure, fast file upload and file serving for Flask.

Public surface: ``create_app`` (the service), ``Airlock`` (the Flask extension), ``UploadSet``
(uploads from a host app's own views) and ``Settings``; the extension's signals are in
``airlock.signals``. Imported lazily, so that ``airlock serve`` can set up multi-process
metrics before any metrics library is loaded.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["Airlock", "Settings", "UploadSet", "create_app"]
__version__ = "0.1.0"

_WHERE = {
    "create_app": "airlock.app",
    "Airlock": "airlock.ext",
    "Settings": "airlock.config",
    "UploadSet": "airlock.web.uploadsets",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(name)
