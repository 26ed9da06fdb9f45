"""Airlock inside someone else's Flask app, mounted under ``/uploads``: the host's own error
handlers keep answering the host's routes, Airlock answers its own in API.md's envelope, and
every link, header and OpenAPI path Airlock sends carries the prefix (and the ``SCRIPT_NAME``
the host app runs under)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, jsonify
from flask.testing import FlaskClient
from openapi_spec_validator import OpenAPIV31SpecValidator
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from airlock import Airlock
from tests.conftest import BufferedClient, add_user
from tests.support import samples

PREFIX = "/uploads"
TUS = {"Tus-Resumable": "1.0.0"}


class BufferedWsgiClient(Client):
    """Werkzeug's client for any WSGI app, reading each response whole and closing it."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


def host_app(tmp_path: Path, **airlock: Any) -> Flask:
    """A host app with its own routes and its own handlers for every error."""
    app = Flask("host")
    app.config.update(TESTING=True, AIRLOCK_DATA_DIR=str(tmp_path / "airlock"))
    app.test_client_class = BufferedClient

    @app.errorhandler(Exception)
    def host_error(exc: Exception) -> Any:
        return jsonify(host="error", kind=type(exc).__name__), 500

    @app.errorhandler(404)
    def host_not_found(exc: Exception) -> Any:
        return "the host's own 404 page", 404

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("the host's bug")

    @app.get("/hello")
    def hello() -> str:
        return "hello from the host"

    Airlock(app, **airlock)
    return app


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Flask]:
    app = host_app(tmp_path, url_prefix=PREFIX)
    yield app
    app.extensions["airlock"].db.dispose()


@pytest.fixture
def web(host: Flask) -> FlaskClient:
    return host.test_client()


def test_the_host_keeps_its_own_error_handlers(web: FlaskClient) -> None:
    assert web.get("/hello").text == "hello from the host"
    r = web.get("/boom")
    assert r.status_code == 500 and r.json == {"host": "error", "kind": "RuntimeError"}
    r = web.get("/no-such-page")
    assert r.status_code == 404 and r.text == "the host's own 404 page"


def test_airlock_answers_its_own_paths_in_the_envelope(host: Flask, web: FlaskClient) -> None:
    alice = add_user(host, "alice")
    r = web.get(f"{PREFIX}/no/such/route", headers=alice)
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    r = web.delete(f"{PREFIX}/files", headers=alice)
    assert r.status_code == 405 and r.json["error"]["code"] == "method_not_allowed"
    assert "POST" in r.headers["Allow"]
    r = web.get(f"{PREFIX}/files/nope", headers=alice)
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    r = web.get(f"{PREFIX}/files")
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    # API.md's paths are not Airlock's here: the host answers them.
    r = web.get("/api/v1/files", headers=alice)
    assert r.status_code == 404 and r.text == "the host's own 404 page"


def test_a_rejected_upload_answers_the_envelope(host: Flask, web: FlaskClient) -> None:
    alice = add_user(host, "alice")
    r = web.put(f"{PREFIX}/files/tool.exe", data=b"MZ\x90\x00" * 64, headers=alice)
    assert r.status_code == 415 and r.json["error"]["code"] == "type_not_allowed"
    r = web.put(f"{PREFIX}/files/photo.png", data=b"<?php system($_GET['c']); ?>", headers=alice)
    assert r.status_code in (415, 422) and "code" in r.json["error"]


def test_every_link_works_under_the_prefix(host: Flask, web: FlaskClient) -> None:
    alice = add_user(host, "alice")
    body = samples.png(64, 48)
    r = web.put(f"{PREFIX}/files/cat.png?visibility=public", data=body, headers=alice)
    assert r.status_code == 201, r.json
    made = r.json
    links = made["links"]
    assert r.headers["Location"] == links["self"] == f"{PREFIX}/files/{made['id']}"
    assert set(links) == {"self", "content", "public", "thumbnail"}
    for name in ("self", "content", "thumbnail"):
        assert links[name].startswith(f"{PREFIX}/files/")
        assert web.get(links[name], headers=alice).status_code == 200, name
    assert web.get(links["content"], headers=alice).data == body
    assert web.get(links["public"]).data == body  # no credentials: the public route
    listed = web.get(f"{PREFIX}/files", headers=alice).json["files"]
    assert [f["links"] for f in listed] == [links]

    r = web.post(links["self"] + "/links", json={"expires_in": 600}, headers=alice)
    assert r.status_code == 201
    assert web.get(r.json["url"]).data == body


def test_tus_locations_carry_the_prefix(host: Flask, web: FlaskClient) -> None:
    alice = add_user(host, "alice")
    body = b"resumable under a prefix\n" * 100
    metadata = "filename " + base64.b64encode(b"notes.txt").decode()
    r = web.post(f"{PREFIX}/tus/", headers={**TUS, **alice, "Upload-Length": str(len(body)),
                                            "Upload-Metadata": metadata})  # fmt: skip
    assert r.status_code == 201
    url = r.headers["Location"]
    assert url.startswith(f"{PREFIX}/tus/")
    r = web.patch(url, data=body, headers={**TUS, **alice, "Upload-Offset": "0",
                                            "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 204
    head = web.head(url, headers={**TUS, **alice})
    assert head.status_code == 303
    made = web.get(head.headers["Location"], headers=alice)
    assert made.status_code == 200 and made.json["sha256"] == hashlib.sha256(body).hexdigest()


def _patterns_hold(schema: dict[str, Any], links: dict[str, str]) -> None:
    properties = schema["properties"]["links"]["properties"]
    for name, value in links.items():
        assert re.match(properties[name]["pattern"], value), (name, value)


def test_the_openapi_document_describes_this_mount(host: Flask, web: FlaskClient) -> None:
    alice = add_user(host, "alice")
    doc = web.get(f"{PREFIX}/openapi.json").json
    paths = set(doc["paths"])
    assert f"{PREFIX}/files" in paths and f"{PREFIX}/tus/{{id}}" in paths
    assert "/s/{token}" in paths and "/f/{id}/{name}" in paths
    assert not any(p.startswith("/api/v1") for p in paths)
    assert "/healthz" not in paths and "/metrics" not in paths  # not mounted by the extension
    assert "servers" not in doc
    OpenAPIV31SpecValidator(doc).validate()
    made = web.put(f"{PREFIX}/files/cat.png?visibility=public", data=samples.png(40, 30),
                   headers=alice).json  # fmt: skip
    _patterns_hold(doc["components"]["schemas"]["File"], made["links"])


def test_a_script_root_goes_into_links_and_the_document(host: Flask) -> None:
    """The host app mounted at ``/app`` of a larger WSGI application."""
    elsewhere = Flask("elsewhere")
    web = BufferedWsgiClient(DispatcherMiddleware(elsewhere.wsgi_app, {"/app": host.wsgi_app}))
    alice = add_user(host, "alice")
    r = web.put(f"/app{PREFIX}/files/cat.png?visibility=public", data=samples.png(40, 30),
                headers=alice)  # fmt: skip
    assert r.status_code == 201, r.json
    links = r.json["links"]
    assert links["self"].startswith(f"/app{PREFIX}/files/")
    assert links["public"].startswith("/app/f/")
    assert r.headers["Location"] == links["self"]
    for name in ("self", "content"):
        assert web.get(links[name], headers=alice).status_code == 200
    assert web.get(links["public"]).status_code == 200
    doc = web.get(f"/app{PREFIX}/openapi.json").json
    OpenAPIV31SpecValidator(doc).validate()
    assert doc["servers"] == [{"url": "/app"}]
    assert f"{PREFIX}/files" in doc["paths"]
    _patterns_hold(doc["components"]["schemas"]["File"], links)
    share = web.post(links["self"] + "/links", json={"expires_in": 600}, headers=alice).json
    assert share["url"].startswith("/app/s/")
    assert web.get(share["url"]).status_code == 200


def test_init_app_twice_is_refused(host: Flask) -> None:
    with pytest.raises(RuntimeError, match="already"):
        Airlock(host)
    with pytest.raises(RuntimeError, match="already"):
        Airlock().init_app(host)


def test_a_prefix_must_be_a_path(tmp_path: Path) -> None:
    for prefix in ("uploads", "/uploads/", ""):
        with pytest.raises(ValueError, match="url_prefix"):
            Airlock(url_prefix=prefix)


def test_one_extension_object_serves_several_apps(tmp_path: Path) -> None:
    airlock = Airlock(url_prefix=PREFIX)
    apps = []
    for n in range(2):
        app = Flask(f"host{n}")
        app.config.update(TESTING=True, AIRLOCK_DATA_DIR=str(tmp_path / f"a{n}"))
        airlock.init_app(app)
        apps.append(app)
    assert apps[0].extensions["airlock"] is not apps[1].extensions["airlock"]
    assert not any(isinstance(v, Flask) for v in vars(airlock).values())
    alice = add_user(apps[0], "alice")
    made = apps[0].test_client().put(f"{PREFIX}/files/a.txt", data=b"one\n", headers=alice)
    assert made.status_code == 201
    r = apps[1].test_client().get(made.json["links"]["self"], headers=alice)
    assert r.status_code == 401  # the other app has its own users (and Files)
    for app in apps:
        app.extensions["airlock"].db.dispose()


def test_api_false_gives_the_library_alone(tmp_path: Path) -> None:
    app = host_app(tmp_path, api=False)
    try:
        assert not [r for r in app.url_map.iter_rules() if r.endpoint.startswith("airlock")]
        web = app.test_client()
        for path in ("/api/v1/files", "/s/x", "/f/x/y"):
            assert web.get(path).text == "the host's own 404 page"
        st = app.extensions["airlock"]
        user = st.accounts.add_user("carol", None)
        assert st.service.list_files(user, 10, None, None) == ([], None)
    finally:
        app.extensions["airlock"].db.dispose()


def test_the_service_still_answers_at_api_md_paths(client: FlaskClient,
                                                   alice: dict[str, str]) -> None:  # fmt: skip
    r = client.put("/api/v1/files/a.txt", data=b"plain\n", headers=alice)
    assert r.json["links"]["self"] == f"/api/v1/files/{r.json['id']}"
    doc = client.get("/api/v1/openapi.json").json
    assert "/api/v1/files" in doc["paths"] and "/healthz" in doc["paths"]
    r = client.get("/api/v1/nothing/here", headers=alice)
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
