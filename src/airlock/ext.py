"""The Flask extension: mounts Airlock's whole upload pipeline into any Flask app.

    airlock = Airlock(app)            # or Airlock() … airlock.init_app(app)

Settings come from ``AIRLOCK_*`` keys of ``app.config`` (the same names as the environment
variables) unless a ``Settings`` is passed. State lives in ``app.extensions["airlock"]``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, request
from flask_cors import CORS
from werkzeug.exceptions import HTTPException
from werkzeug.routing import PathConverter

from airlock.config import Settings
from airlock.errors import AirlockError
from airlock.runtime import build_state
from airlock.storage.base import Storage
from airlock.web import errors as web_errors
from airlock.web.admin_api import admin_bp
from airlock.web.api import api
from airlock.web.direct import direct_bp
from airlock.web.public import public
from airlock.web.session_api import session_bp
from airlock.web.tus import ALLOWED_HEADERS, EXPOSED_HEADERS, tus_bp


class Airlock:
    """Secure uploads and downloads for a Flask app: ``/api/v1`` (or ``url_prefix``), and the
    public ``/s/`` and ``/f/`` routes."""

    def __init__(
        self, app: Flask | None = None, settings: Settings | None = None,
        url_prefix: str = "/api/v1", storage: Storage | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:  # fmt: skip
        self._settings = settings
        self._storage = storage
        self._clock = clock
        self.url_prefix = url_prefix
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, settings: Settings | None = None) -> None:
        """Build Airlock's state for ``app`` and register its routes and error translation."""
        settings = settings or self._settings or Settings.load(
            {k: v for k, v in app.config.items() if k.startswith("AIRLOCK_")}
        )
        app.extensions["airlock"] = (
            build_state(settings, self._storage, self._clock)
            if self._clock is not None
            else build_state(settings, self._storage)
        )
        app.url_map.converters.setdefault("anything", AnythingConverter)
        prefix = self.url_prefix

        app.register_blueprint(api, url_prefix=prefix)
        app.register_blueprint(session_bp, url_prefix=prefix)
        app.register_blueprint(direct_bp, url_prefix=prefix)
        app.register_blueprint(admin_bp, url_prefix=prefix)
        app.register_blueprint(tus_bp, url_prefix=prefix + "/tus")
        app.register_blueprint(public)
        if settings.cors_origins:
            CORS(
                app,
                resources={prefix + "/tus/*": {"origins": list(settings.cors_origins)}},
                expose_headers=list(EXPOSED_HEADERS),
                allow_headers=list(ALLOWED_HEADERS),
                methods=["GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS"],
                max_age=86400,
            )

        def _ours() -> bool:
            path = request.path
            return path.startswith(prefix + "/") or path == prefix or path.startswith(
                ("/s/", "/f/")
            )

        @app.errorhandler(AirlockError)
        def _airlock_error(exc: AirlockError) -> Response:
            return web_errors.render(exc)

        @app.errorhandler(HTTPException)
        def _http_error(exc: HTTPException) -> Any:
            return web_errors.from_http(exc) if _ours() else exc

        app.register_error_handler(Exception, _unexpected_for(_ours))

        @app.before_request
        def _start_timer() -> None:
            g.airlock_started = time.perf_counter()

        @app.after_request
        def _observe(response: Response) -> Response:
            started = g.pop("airlock_started", None)
            if started is not None and _ours():
                rule = request.url_rule.rule if request.url_rule else "unmatched"
                app.extensions["airlock"].metrics.latency.labels(
                    endpoint=rule, method=request.method, status=str(response.status_code)
                ).observe(time.perf_counter() - started)
            return response


class AnythingConverter(PathConverter):
    """Like ``path`` but matching any character, newlines and a leading slash included."""

    regex = r"[\s\S]+?"
    part_isolating = False


def _unexpected_for(ours: Any) -> Any:
    def handler(exc: Exception) -> Any:
        if isinstance(exc, (HTTPException, AirlockError)):
            raise exc
        if not ours():
            raise exc
        return web_errors.from_unexpected(exc)

    return handler
