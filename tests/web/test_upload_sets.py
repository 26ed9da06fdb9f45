"""Upload sets in a host app's own views: ``receive()`` streams the request through the whole
pipeline, ``save()`` takes a ``FileStorage``, a set's limits narrow the global ones, and every
decision is a signal."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, jsonify, render_template_string, request
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage

from airlock import UploadSet, signals
from airlock.errors import (
    AirlockError,
    ContentMismatch,
    NoFile,
    NotFound,
    TooLarge,
    TypeNotAllowed,
)
from tests.conftest import multipart
from tests.support import samples
from tests.support.hostapp import PREFIX, host_app

avatars = UploadSet("avatars", types={"PNG", ".webp"}, max_size=4000, visibility="public")
documents = UploadSet("documents")


def views(app: Flask) -> None:
    """The host's own upload views, answering rejections as the host likes."""

    @app.errorhandler(AirlockError)
    def refused(exc: AirlockError) -> Any:
        return jsonify(refused=exc.code, message=exc.message), exc.status

    @app.post("/avatar")
    def set_avatar() -> Any:
        file = avatars.receive()
        assert "files" not in request.__dict__ and "form" not in request.__dict__
        return jsonify(id=file.id, owner=file.owner, url=avatars.url(file))

    @app.put("/unnamed")
    def put_unnamed() -> Any:
        return jsonify(id=documents.receive().id)

    @app.put("/documents/<name>")
    def put_document(name: str) -> Any:
        file = documents.receive(name=name)
        return jsonify(id=file.id, name=file.name, url=documents.url(file))


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Flask]:
    app, _ = host_app(tmp_path)
    views(app)
    yield app
    app.extensions["airlock"].db.dispose()


def signed_in(app: Flask, name: str = "alice") -> tuple[FlaskClient, dict[str, str]]:
    web = app.test_client()
    token = web.post(f"/login/{name}").json["airlock"]
    return web, {"X-CSRF-Token": token}


def leftovers(app: Flask) -> list[Path]:
    st = app.extensions["airlock"]
    return list((st.settings.data_dir / "staging").iterdir())


def test_receive_stores_a_form_part_for_the_signed_in_user(host: Flask) -> None:
    web, csrf = signed_in(host)
    png = samples.png(20, 20)
    r = web.post("/avatar", headers=csrf, **multipart({"file": (io.BytesIO(png), "me.png")}))
    assert r.status_code == 200, r.json
    assert r.json["owner"] == "alice"
    assert r.json["url"].startswith("/f/")  # a public set: its public URL
    assert host.test_client().get(r.json["url"]).data == png


def test_receive_stores_a_raw_body(host: Flask) -> None:
    """In the host's own view, CSRF is the host's to check: Airlock asks for no token."""
    web, _ = signed_in(host)
    r = web.put("/documents/report.pdf", data=samples.pdf())
    assert r.status_code == 200, r.json
    assert r.json["url"] == f"{PREFIX}/files/{r.json['id']}/content"  # private: for its owner
    assert web.get(r.json["url"]).data == samples.pdf()
    bob, _ = signed_in(host, "bob")
    assert bob.get(r.json["url"]).status_code == 404


@pytest.mark.parametrize(
    ("name", "body", "error"),
    [
        ("notes.txt", b"text is allowed globally, not for avatars\n", TypeNotAllowed),
        ("me.png", b"<?php system($_GET['c']); ?>\n", TypeNotAllowed),
        ("me.png", samples.pdf(), ContentMismatch),
        ("big.png", samples.png(8, 8) + bytes(5000), TooLarge),
    ],
)
def test_a_set_refuses_what_it_does_not_take(host: Flask, name: str, body: bytes,
                                             error: type[AirlockError]) -> None:  # fmt: skip
    web, csrf = signed_in(host)
    if error is TooLarge:
        assert len(body) > avatars.rules.max_size  # type: ignore[operator]
    r = web.post("/avatar", headers=csrf, **multipart({"file": (io.BytesIO(body), name)}))
    assert r.status_code == error.status and r.json["refused"] == error.code, r.json
    assert web.get(f"{PREFIX}/files").json["files"] == []
    assert leftovers(host) == []


def test_the_global_rules_still_hold(host: Flask) -> None:
    web, csrf = signed_in(host)
    r = web.put("/documents/tool.exe", data=b"MZ\x90\x00" * 64, headers=csrf)
    assert r.status_code == 415 and r.json["refused"] == "type_not_allowed"
    assert leftovers(host) == []


def test_receive_takes_one_file(host: Flask) -> None:
    web, csrf = signed_in(host)
    png = samples.png(8, 8)
    two = multipart({"file": [(io.BytesIO(png), "a.png"), (io.BytesIO(png), "b.png")]})
    r = web.post("/avatar", headers=csrf, **two)
    assert r.status_code == 400 and r.json["refused"] == "bad_request"
    r = web.post("/avatar", headers=csrf, **multipart({"other": "no file"}))
    assert r.status_code == NoFile.status and r.json["refused"] == NoFile.code
    assert leftovers(host) == []


def test_save_open_and_delete_from_python(host: Flask) -> None:
    png = samples.png(10, 10)
    with host.test_request_context("/"):
        file = avatars.save(FileStorage(io.BytesIO(png), filename="a.png"), owner="carol")
        assert file.owner == "carol" and file.visibility == "public"
        with avatars.open(file) as stream:
            assert stream.read() == png
        with pytest.raises(TypeNotAllowed):
            avatars.save(FileStorage(io.BytesIO(b"plain\n"), filename="a.txt"), owner="carol")
        with pytest.raises(TooLarge):
            avatars.save(FileStorage(io.BytesIO(png + bytes(5000)), filename="b.png"),
                         owner="carol")  # fmt: skip
        with pytest.raises(NoFile):
            avatars.save(FileStorage(io.BytesIO(png)), owner="carol")
        avatars.delete(file)
        with pytest.raises(NotFound):
            avatars.open(file.id)
    assert leftovers(host) == []


def test_without_a_user_receive_is_unauthorized(host: Flask) -> None:
    r = host.test_client().put("/documents/a.txt", data=b"x\n")
    assert r.status_code == 401 and r.json["refused"] == "unauthorized"


def test_every_decision_is_a_signal(host: Flask) -> None:
    stored: list[tuple[Any, dict[str, Any]]] = []
    rejected: list[tuple[Any, dict[str, Any]]] = []

    def on_stored(sender: Any, **extra: Any) -> None:
        stored.append((sender, extra))

    def on_rejected(sender: Any, **extra: Any) -> None:
        rejected.append((sender, extra))

    signals.file_stored.connect(on_stored)
    signals.upload_rejected.connect(on_rejected)
    try:
        web, csrf = signed_in(host)
        web.put("/documents/a.txt", data=b"through an upload set\n", headers=csrf)
        web.put(f"{PREFIX}/files/b.txt", data=b"through the API\n", headers=csrf)
        web.put(f"{PREFIX}/files/c.png", data=b"not a png\n", headers=csrf)
        web.post("/avatar", headers=csrf, **multipart({"file": (io.BytesIO(b"x\n"), "d.txt")}))
    finally:
        signals.file_stored.disconnect(on_stored)
        signals.upload_rejected.disconnect(on_rejected)
    assert [(s, e["file"].name, e["user"]) for s, e in stored] == [
        (host, "a.txt", "alice"), (host, "b.txt", "alice"),
    ]  # fmt: skip
    assert [(s, e["name"], e["error"].code) for s, e in rejected] == [
        (host, "c.png", "content_mismatch"), (host, "d.txt", "type_not_allowed"),
    ]  # fmt: skip


def test_a_failing_receiver_does_not_undo_the_upload(host: Flask) -> None:
    def broken(sender: Any, **extra: Any) -> None:
        raise RuntimeError("the host's receiver is broken")

    signals.file_stored.connect(broken)
    try:
        web, csrf = signed_in(host)
        r = web.put("/documents/a.txt", data=b"kept\n", headers=csrf)
    finally:
        signals.file_stored.disconnect(broken)
    assert r.status_code == 200
    assert [f["name"] for f in web.get(f"{PREFIX}/files").json["files"]] == ["a.txt"]


def test_the_jinja_helper_gives_the_files_url(host: Flask) -> None:
    web, csrf = signed_in(host)
    made = web.put("/documents/a.txt", data=b"x\n", headers=csrf).json
    with host.test_request_context("/"):
        file = host.extensions["airlock"].service.file_for_host(made["id"])
        assert render_template_string("{{ airlock_url(f) }}", f=file) == made["url"]
        assert render_template_string("{{ airlock_csrf_token() }}")


def test_set_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="visibility"):
        UploadSet("x", visibility="secret")
    with pytest.raises(ValueError, match="max_size"):
        UploadSet("x", max_size=0)


def test_a_raw_body_needs_a_name(host: Flask) -> None:
    web, csrf = signed_in(host)
    r = web.put("/unnamed", data=b"who am I\n", headers=csrf)
    assert r.status_code == 400 and r.json["refused"] == "bad_request"
    assert "receive(name=" in r.json["message"]
