"""``create_app()``: the ready-made Airlock service, built by applying the same ``Airlock``
extension any other Flask app would use, plus the operations endpoints and the web UI."""

from __future__ import annotations

import logging
import os

from flask import Flask

from airlock import datadir
from airlock.config import Settings
from airlock.ext import Airlock
from airlock.storage.base import Storage
from airlock.web.ops import ops
from airlock.web.ui import ui


def create_app(settings: Settings | None = None, storage: Storage | None = None) -> Flask:
    """The Airlock service app; settings from ``AIRLOCK_*`` environment variables by default,
    files on local disk unless another ``Storage`` backend is given."""
    settings = settings or Settings.load(os.environ)
    logging.getLogger("airlock").setLevel(settings.log_level.upper())
    app = Flask("airlock", static_folder=None)
    app.config["SECRET_KEY"] = read_secret_key(settings)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    Airlock(app, settings=settings, storage=storage)
    app.register_blueprint(ops)
    app.register_blueprint(ui)
    return app


def read_secret_key(settings: Settings) -> bytes:
    """The secret key from ``DATA_DIR/secret_key``, created (mode 0600) on first run."""
    path = settings.data_dir / "secret_key"
    datadir.prepare(settings.data_dir)
    if not path.exists():
        # Written aside and linked into place, so a racing process never reads a half-written key.
        tmp = path.with_name(f".secret_key.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(os.urandom(32).hex().encode())
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_bytes()
