"""``create_app()``: the ready-made Airlock service, built by applying the same ``Airlock``
extension any other Flask app would use, plus the operations endpoints and the web UI."""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable
from typing import Any

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

from airlock import datadir
from airlock.config import Settings
from airlock.ext import Airlock
from airlock.storage.base import Storage
from airlock.web.ops import ops
from airlock.web.ui import ui


def create_app(
    settings: Settings | None = None, storage: Storage | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> Flask:  # fmt: skip
    """The Airlock service app; settings from ``AIRLOCK_*`` environment variables by default,
    files on local disk unless another ``Storage`` backend is given, the real time unless
    another ``clock`` is."""
    settings = settings or Settings.load(os.environ)
    logging.getLogger("airlock").setLevel(settings.log_level.upper())
    app = Flask("airlock", static_folder=None)
    app.config["SECRET_KEY"] = read_secret_key(settings)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    # No redirect of the router's own (merged slashes, a missing trailing slash): it would be
    # an absolute URL built from the client's Host header.
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False
    Airlock(app, settings=settings, storage=storage, clock=clock)
    app.register_blueprint(ops)
    app.register_blueprint(ui)
    app.after_request(_security_headers)
    if settings.cookie_secure:
        # Served over HTTPS (behind a TLS proxy): browsers keep to HTTPS from then on.
        @app.after_request
        def _hsts(response: Response) -> Response:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
            return response

    app.wsgi_app = _mounted_at_root(app.wsgi_app)  # type: ignore[method-assign]
    if settings.trusted_proxies:
        # The client's address (sign-in limits per address) and scheme (Secure cookies) as the
        # configured number of proxies report them; never the Host, and without trusted
        # proxies no forwarded header is believed at all.
        n = settings.trusted_proxies
        fixed = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=0, x_port=0, x_prefix=0)
        app.wsgi_app = fixed  # type: ignore[method-assign]
    return app


# Every response of the service, error pages included, unless a route set its own (pages
# allow their scripts and styles; file responses are sandboxed).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def _security_headers(response: Response) -> Response:
    # A response with a policy of its own chose its framing too (a file may be shown in the
    # preview frame of its own page); only nosniff and the referrer rule are added to it.
    own_policy = "Content-Security-Policy" in response.headers
    for name, value in SECURITY_HEADERS.items():
        if not own_policy or name in ("X-Content-Type-Options", "Referrer-Policy"):
            response.headers.setdefault(name, value)
    return response


def _mounted_at_root(wsgi_app: Any) -> Any:
    """The service is mounted at ``/``: a ``SCRIPT_NAME`` in the environ can only come from a
    client's header (gunicorn honours one), and would end up in ``Location`` headers."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        environ["SCRIPT_NAME"] = ""
        return wsgi_app(environ, start_response)

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
