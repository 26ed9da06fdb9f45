"""Shared fixtures: apps on temp data dirs, users and tokens, PostgreSQL databases."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from airlock import Settings, create_app
from tests.support.server import LiveServer

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


SERVER_LOG_LINES = 120


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failing test that used a live ``airlock serve`` shows the end of that server's log
    (a 500's traceback is there, and the log is gone with the temp dir after the run)."""
    outcome: Any = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    for name, value in getattr(item, "funcargs", {}).items():
        if isinstance(value, LiveServer) and value.log_path and value.log_path.exists():
            lines = value.log().splitlines()[-SERVER_LOG_LINES:]
            report.sections.append((f"end of the log of {name} ({value.url})", "\n".join(lines)))


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test session (dropped afterwards)."""
    name = "airlock_test_" + secrets.token_hex(4)
    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:  # pragma: no cover - the test command starts it
        pytest.fail(f"PostgreSQL is not reachable on 127.0.0.1:5432: {exc}")
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def reset_pg(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL: run the test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'airlock.db'}"
    url: str = request.getfixturevalue("pg_url")
    reset_pg(url)
    return url


MakeApp = Callable[..., Flask]


def multipart(values: dict[str, Any]) -> dict[str, Any]:
    """``data`` and ``content_type`` for a test-client multipart request. Werkzeug's own
    boundary is ``WerkzeugFormPart_`` plus a timestamp and a random float, which now and then
    runs past RFC 2046's 70 characters, and Airlock refuses such bodies; this one is fixed."""
    def part(value: Any) -> Any:
        if isinstance(value, tuple):  # (stream, filename), as the test client takes files
            return FileStorage(value[0], filename=value[1])
        return value

    items = MultiDict(
        [(k, part(x)) for k, v in values.items() for x in (v if isinstance(v, list) else [v])]
    )
    boundary, body = encode_multipart(items, boundary="airlock-test-" + secrets.token_hex(16))
    return {"data": body, "content_type": f'multipart/form-data; boundary="{boundary}"'}


class BufferedClient(FlaskClient):
    """A test client that reads each response whole and closes it, as a WSGI server would."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[MakeApp]:
    """Build a service app on a temp data dir; keyword arguments are settings."""
    made: list[Flask] = []

    def make(clock: Any = None, **overrides: Any) -> Flask:
        overrides.setdefault("data_dir", tmp_path / f"data{len(made)}")
        app = create_app(Settings.load({}, **overrides), clock=clock)
        app.config["TESTING"] = True
        app.test_client_class = BufferedClient
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["airlock"].db.dispose()


@pytest.fixture
def app(make_app: MakeApp) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def add_user(app: Flask, name: str, admin: bool = False, quota: int | None = None) -> dict[str, str]:
    """Create a user and return the Authorization header of a fresh token of theirs."""
    accounts = app.extensions["airlock"].accounts
    user = accounts.add_user(name, "correct horse battery", admin, quota)
    return {"Authorization": f"Bearer {accounts.create_token(user, 'test').secret}"}


@pytest.fixture
def alice(app: Flask) -> dict[str, str]:
    return add_user(app, "alice", admin=False)


@pytest.fixture
def bob(app: Flask) -> dict[str, str]:
    return add_user(app, "bob")


@pytest.fixture
def admin(app: Flask) -> dict[str, str]:
    return add_user(app, "root", admin=True)


# S3 (SeaweedFS) ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One real S3 server (SeaweedFS ``weed mini`` on 127.0.0.1) for the whole session."""
    from tests.support.s3server import SeaweedS3

    server = SeaweedS3(tmp_path_factory.mktemp("seaweedfs")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_env(s3_server: Any) -> dict[str, str]:
    """``AIRLOCK_*`` settings for S3 storage in a fresh, empty bucket of the session's server."""
    bucket = s3_server.create_bucket("t-" + secrets.token_hex(6))
    return dict(s3_server.env(bucket))


@pytest.fixture
def s3_settings(s3_env: dict[str, str]) -> dict[str, str]:
    """The same as keyword arguments of ``make_app``."""
    return {k.removeprefix("AIRLOCK_").lower(): v for k, v in s3_env.items()}


class Clock:
    """A clock the tests move (``advance``) instead of sleeping; starts at the real now."""

    def __init__(self) -> None:
        import datetime as dt

        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> Any:
        return self.now

    def advance(self, seconds: float) -> None:
        import datetime as dt

        self.now += dt.timedelta(seconds=seconds)
