"""The Flask extension: mounts Airlock's whole upload pipeline into any Flask app.

    airlock = Airlock(app)            # or Airlock() … airlock.init_app(app)

Settings come from ``AIRLOCK_*`` keys of ``app.config`` (the same names as the environment
variables) unless a ``Settings`` is passed. State lives in ``app.extensions["airlock"]``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable

from flask import Flask, Response, g, request
from flask_cors import CORS
from werkzeug.routing import PathConverter

from airlock import signals
from airlock.config import Settings
from airlock.runtime import Host, build_state
from airlock.service import Listener, Outcome, utcnow
from airlock.shapes import API
from airlock.storage.base import Storage
from airlock.web import errors as web_errors
from airlock.web import uploadsets
from airlock.web.admin_api import admin_bp
from airlock.web.api import api as api_bp
from airlock.web.assets import assets
from airlock.web.auth import host_csrf_token
from airlock.web.commands import host_commands
from airlock.web.direct import direct_bp
from airlock.web.drops_api import drops_bp
from airlock.web.guest import guest
from airlock.web.present import file_url
from airlock.web.public import public
from airlock.web.session_api import session_bp
from airlock.web.tus import ALLOWED_HEADERS, EXPOSED_HEADERS, tus_bp


class Airlock:
    """Secure uploads and downloads for a Flask app: the HTTP API under ``url_prefix``
    (``/api/v1`` by default) and the public ``/s/`` and ``/f/`` routes, or, with
    ``api=False``, the pipeline alone (``app.extensions["airlock"]``) and no route at all.

    A good citizen of the host app: Airlock answers errors in API.md's JSON envelope only on
    its own routes (the host's error handlers keep theirs), every link and header it sends
    carries the prefix and the app's ``SCRIPT_NAME``, and nothing per app is kept here."""

    def __init__(
        self, app: Flask | None = None, settings: Settings | None = None,
        url_prefix: str = API, storage: Storage | None = None,
        clock: Callable[[], dt.datetime] | None = None, api: bool = True,
        csrf: str = "airlock", upload_sets: Iterable[uploadsets.UploadSet] = (),
    ) -> None:  # fmt: skip
        if csrf not in _CSRF_MODES:
            raise ValueError(f"csrf must be one of {', '.join(_CSRF_MODES)}: {csrf!r}")
        self._upload_sets = tuple(upload_sets)
        self._settings = settings
        self._storage = storage
        self._clock = clock
        self._host = Host(csrf=csrf)
        self.url_prefix = _checked_prefix(url_prefix)
        self.api = api
        if app is not None:
            self.init_app(app)

    def user_loader(self, loader: Callable[[], str | None]) -> Callable[[], str | None]:
        """Decorator: ``loader()`` names the host app's signed-in user (or returns None).
        Airlock's routes then take that user as the caller when no bearer token is sent,
        make their owner record on first sight, and apply quotas and visibility to it."""
        self._host.user_loader = loader
        return loader

    @staticmethod
    def csrf_token() -> str:
        """The CSRF token the host's pages send in ``X-CSRF-Token`` with unsafe requests to
        Airlock's routes: Airlock's own, or Flask-WTF's with ``csrf="flask-wtf"``. Also the
        Jinja global ``airlock_csrf_token``."""
        return host_csrf_token()

    def init_app(self, app: Flask, settings: Settings | None = None) -> None:
        """Build Airlock's state for ``app`` (settings from its ``AIRLOCK_*`` config keys,
        checked as the environment's are), register the upload sets' own storages, add the
        ``flask airlock`` commands and, unless ``api=False``, register its routes.
        ``RuntimeError`` when ``app`` has an Airlock already."""
        if "airlock" in app.extensions:
            raise RuntimeError("Airlock is already initialised on this app.")
        settings = settings or self._settings or Settings.load(
            {k: v for k, v in app.config.items() if k.startswith("AIRLOCK_")}
        )
        if self._host.csrf == "flask-wtf" and "csrf" not in app.extensions:
            raise RuntimeError(
                "csrf='flask-wtf' needs Flask-WTF's CSRFProtect(app) before Airlock(app)."
            )
        st = app.extensions["airlock"] = build_state(
            settings, self._storage, self._clock or utcnow, host=self._host
        )
        for upload_set in self._upload_sets:
            upload_set.register(st.service.stores)
        st.service.listeners.append(_signals_of(app))
        app.cli.add_command(host_commands)
        app.add_template_global(host_csrf_token, "airlock_csrf_token")
        app.add_template_global(file_url, "airlock_url")
        if self.api:
            _mount(app, settings, self.url_prefix)


_CSRF_MODES = ("airlock", "flask-wtf")
_BLUEPRINTS = (api_bp, session_bp, direct_bp, admin_bp, drops_bp, tus_bp, public, guest)


def _signals_of(app: Flask) -> Listener:
    """Upload decisions as ``airlock.signals``, sent with ``app`` as the sender."""

    def send(outcome: Outcome) -> None:
        if outcome.record is not None:
            signals.file_stored.send(app, file=outcome.record, user=outcome.user.username)
        else:
            signals.upload_rejected.send(app, name=outcome.name, error=outcome.error,
                                         user=outcome.user.username)  # fmt: skip

    return send


def _checked_prefix(prefix: str) -> str:
    if not prefix.startswith("/") or prefix.endswith("/"):
        raise ValueError(f"url_prefix must start with / and not end with one: {prefix!r}")
    return prefix


def _mount(app: Flask, settings: Settings, prefix: str) -> None:
    """Airlock's blueprints under ``prefix`` (each translates its own errors), JSON for paths
    under it that match no route, request metrics, and CORS for tus if configured."""
    app.url_map.converters.setdefault("anything", AnythingConverter)
    for blueprint in (api_bp, session_bp, direct_bp, admin_bp, drops_bp):
        app.register_blueprint(blueprint, url_prefix=prefix)
    app.register_blueprint(tus_bp, url_prefix=prefix + "/tus")
    app.register_blueprint(assets, url_prefix=prefix)
    app.register_blueprint(public)
    app.register_blueprint(guest)
    # Drop links' tus: the same protocol, the drop link's token standing for the caller.
    app.register_blueprint(tus_bp, url_prefix="/d/<token>/tus", name="airlock_guest_tus")
    protect = app.extensions.get("csrf")  # Flask-WTF's CSRFProtect, if the host has it
    if protect is not None:
        # Its blanket check would refuse bearer-token clients, which need no CSRF token;
        # Airlock checks every cookie-authenticated unsafe request itself.
        for blueprint in _BLUEPRINTS:
            protect.exempt(blueprint)
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
            ("/s/", "/f/", "/d/")
        )

    @app.before_request
    def _start() -> Response | None:
        # A path the router found nothing for raises before any blueprint is chosen, so no
        # blueprint's handler sees it: answered here, for Airlock's paths only.
        g.airlock_started = time.perf_counter()
        return web_errors.for_routing(request.routing_exception) if _ours() else None

    @app.after_request
    def _observe(response: Response) -> Response:
        path = request.path
        if (path.startswith(prefix + "/") or path == prefix) and not (
            request.endpoint or ""
        ).endswith(".static"):
            # API answers are one user's: no shared cache keeps them, nor the browser after
            # sign-out (a File's bytes set their own Cache-Control).
            response.headers.setdefault("Cache-Control", "no-store")
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
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

