"""A host Flask app with users of its own (Flask-Login, signing in at ``POST /login/NAME``)
and Airlock mounted under ``/uploads``, telling Airlock who is signed in."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flask import Flask, jsonify
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect, generate_csrf

from airlock import Airlock, UploadSet
from tests.conftest import BufferedClient

PREFIX = "/uploads"
PASSWORDS = {"alice": "alice's secret", "bob": "bob's secret"}


class HostUser(UserMixin):  # type: ignore[misc]
    def __init__(self, name: str) -> None:
        self.id = name


def host_app(tmp_path: Path, csrf: str = "airlock", protect: bool = False,
             upload_sets: Iterable[UploadSet] = (), **config: Any) -> tuple[Flask, Airlock]:  # fmt: skip
    """A host app with its own users (Flask-Login), signing in at ``/login``."""
    app = Flask("host")
    app.config.update(TESTING=True, SECRET_KEY="host secret", WTF_CSRF_ENABLED=True,
                      AIRLOCK_DATA_DIR=str(tmp_path / "airlock"), **config)  # fmt: skip
    app.test_client_class = BufferedClient
    logins = LoginManager(app)
    logins.user_loader(lambda name: HostUser(name) if name in PASSWORDS else None)
    if protect:
        CSRFProtect(app)
    airlock = Airlock(app, url_prefix=PREFIX, csrf=csrf, upload_sets=upload_sets)

    @airlock.user_loader
    def signed_in() -> str | None:
        return current_user.get_id() if current_user.is_authenticated else None

    @app.post("/login/<name>")
    def login(name: str) -> Any:
        login_user(HostUser(name))
        return jsonify(airlock=airlock.csrf_token(), wtf=generate_csrf())

    @app.post("/logout")
    def logout() -> str:
        logout_user()
        return "bye"

    if protect:
        app.extensions["csrf"].exempt(login)
        app.extensions["csrf"].exempt(logout)
    return app, airlock


