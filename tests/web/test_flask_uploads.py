"""``airlock.flask_uploads`` against Flask-Reuploaded itself: the patterns of its documentation
run on both modules with the same results, and Airlock's module refuses what the bytes give
away (a ``.jpg`` that is a PHP script) where Flask-Reuploaded stores it."""

from __future__ import annotations

import io
from pathlib import Path
from types import ModuleType
from typing import Any

import flask_uploads as reuploaded
import pytest
from flask import Flask, request
from PIL import Image
from werkzeug.datastructures import FileStorage

from airlock import flask_uploads as airlock_uploads
from tests.conftest import BufferedClient, multipart
from tests.support import samples

PHP = b"<?php system($_GET['cmd']); ?>\n"


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 12), (200, 40, 90)).save(buf, "JPEG")
    return buf.getvalue()


def make(module: ModuleType, tmp_path: Path, sets: list[Any], **config: Any) -> Flask:
    """The documentation's app: sets configured from ``app.config``, a view that saves the
    form's ``photo`` into the first set."""
    app = Flask("photos")
    app.config.update(TESTING=True, **config)
    app.test_client_class = BufferedClient
    module.configure_uploads(app, sets)

    @app.post("/upload")
    def upload() -> Any:
        try:
            return {"saved": sets[0].save(request.files["photo"],
                                          folder=request.form.get("folder") or None,
                                          name=request.form.get("name") or None)}  # fmt: skip
        except module.UploadNotAllowed as exc:
            return {"refused": str(exc), "code": getattr(getattr(exc, "error", None), "code",
                                                         None)}, 400  # fmt: skip

    return app


def post(app: Flask, filename: str, body: bytes, **fields: str) -> Any:
    return app.test_client().post("/upload", **multipart({"photo": (io.BytesIO(body), filename),
                                                         **fields}))  # fmt: skip


BOTH = pytest.mark.parametrize("module", [reuploaded, airlock_uploads],
                               ids=["Flask-Reuploaded", "airlock"])  # fmt: skip


@BOTH
def test_the_names_of_the_public_api_are_there(module: ModuleType) -> None:
    assert set(reuploaded.__all__) <= set(dir(module))
    for preset in ("TEXT", "DOCUMENTS", "IMAGES", "AUDIO", "DATA", "SCRIPTS", "ARCHIVES",
                   "SOURCE", "EXECUTABLES", "DEFAULTS"):  # fmt: skip
        assert getattr(module, preset) == getattr(reuploaded, preset), preset
    assert "anything" in module.ALL
    assert "txt" in module.AllExcept(("exe",)) and "exe" not in module.AllExcept(("exe",))
    assert module.extension("photo.JPG") == "JPG" and module.extension("README") == ""
    assert module.lowercase_ext("Photo.JPG") == "Photo.jpg"
    assert module.lowercase_ext("README") == "README"
    assert module.addslash("http://x/a") == module.addslash("http://x/a/") == "http://x/a/"


@BOTH
def test_save_returns_the_name_and_conflicts_get_numbers(module: ModuleType,
                                                          tmp_path: Path) -> None:  # fmt: skip
    photos = module.UploadSet("photos", module.IMAGES)
    app = make(module, tmp_path, [photos], UPLOADED_PHOTOS_DEST=str(tmp_path / "p"))
    body = jpeg()
    assert [post(app, "Holiday Photo.JPG", body).json["saved"] for _ in range(3)] == [
        "Holiday_Photo.jpg", "Holiday_Photo_1.jpg", "Holiday_Photo_2.jpg",
    ]  # fmt: skip
    with app.app_context():
        assert photos.path("Holiday_Photo_1.jpg") == str(tmp_path / "p" / "Holiday_Photo_1.jpg")
        assert photos.path("x.jpg", folder="f") == str(tmp_path / "p" / "f" / "x.jpg")
    assert (tmp_path / "p" / "Holiday_Photo_2.jpg").read_bytes() == body
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == [
        "Holiday_Photo.jpg", "Holiday_Photo_1.jpg", "Holiday_Photo_2.jpg",
    ]  # fmt: skip


@BOTH
def test_folders_and_names(module: ModuleType, tmp_path: Path) -> None:
    photos = module.UploadSet("photos", module.IMAGES)
    app = make(module, tmp_path, [photos], UPLOADED_PHOTOS_DEST=str(tmp_path / "p"))
    body = samples.png(4, 4)
    assert post(app, "a.png", body, folder="alice").json["saved"] == "alice/a.png"
    assert post(app, "a.png", body, name="avatar.").json["saved"] == "avatar.png"
    assert post(app, "a.png", body, name="bob/photo_123.").json["saved"] == "bob/photo_123.png"
    assert post(app, "a.png", body, name="../../etc/x.").json["saved"] == "etc/x.png"
    assert (tmp_path / "p" / "etc" / "x.png").exists()
    assert post(app, "a.png", body, name="Other.PNG").json["saved"] == "Other.png"
    assert post(app, "a.png", body, name="evil.exe").status_code == 400
    assert (tmp_path / "p" / "bob" / "photo_123.png").read_bytes() == body


@BOTH
def test_extensions_allow_and_deny(module: ModuleType, tmp_path: Path) -> None:
    photos = module.UploadSet("photos", module.IMAGES)
    files = module.UploadSet("files", module.AllExcept(module.SCRIPTS + module.EXECUTABLES))
    app = make(module, tmp_path, [photos, files], UPLOADED_PHOTOS_DEST=str(tmp_path / "p"),
               UPLOADED_PHOTOS_DENY=("gif",), UPLOADED_PHOTOS_ALLOW=("txt",),
               UPLOADED_FILES_DEST=str(tmp_path / "f"))  # fmt: skip
    assert post(app, "a.exe", b"MZ\x90\x00" * 32).status_code == 400
    assert post(app, "a.gif", b"GIF89a" + bytes(20)).status_code == 400  # denied by config
    assert post(app, "notes.txt", b"allowed by config\n").json["saved"] == "notes.txt"
    with app.test_request_context("/"):
        assert files.extension_allowed("csv") and not files.extension_allowed("php")
        assert photos.config == module.UploadConfiguration(
            str(tmp_path / "p"), None, ("txt",), ("gif",))


@BOTH
def test_urls_and_default_destinations(module: ModuleType, tmp_path: Path) -> None:
    photos = module.UploadSet("photos", module.IMAGES)
    docs = module.UploadSet("docs", module.DOCUMENTS)
    app = make(module, tmp_path, [photos, docs], UPLOADED_PHOTOS_DEST=str(tmp_path / "p"),
               UPLOADED_PHOTOS_URL="https://cdn.example/photos/",
               UPLOADS_DEFAULT_DEST=str(tmp_path / "all"),
               UPLOADS_DEFAULT_URL="https://files.example")  # fmt: skip
    with app.test_request_context("/"):
        assert photos.url("a.jpg") == "https://cdn.example/photos/a.jpg"
        assert docs.url("r.pdf") == "https://files.example/docs/r.pdf"
        assert docs.path("r.pdf") == str(tmp_path / "all" / "docs" / "r.pdf")
        assert docs.config == module.config_for_set(docs, app, {
            "dest": str(tmp_path / "all"), "url": "https://files.example"})  # fmt: skip


@BOTH
def test_default_dest_and_a_config_set_by_hand(module: ModuleType, tmp_path: Path) -> None:
    avatars = module.UploadSet("avatars", module.IMAGES,
                               default_dest=lambda app: str(tmp_path / app.name / "avatars"))
    app = make(module, tmp_path, [avatars])
    assert post(app, "me.png", samples.png(4, 4)).json["saved"] == "me.png"
    assert (tmp_path / "photos" / "avatars" / "me.png").exists()  # the app is named "photos"
    # Outside an app, a configuration set on the set itself (as the docstring says).
    avatars._config = module.UploadConfiguration(str(tmp_path / "by-hand"), "https://x/")
    try:
        assert avatars.url("a.png") == "https://x/a.png"
        assert avatars.path("a.png") == str(tmp_path / "by-hand" / "a.png")
    finally:
        avatars._config = None


@BOTH
def test_autoserve(module: ModuleType, tmp_path: Path) -> None:
    photos = module.UploadSet("photos", module.IMAGES)
    app = make(module, tmp_path, [photos], UPLOADED_PHOTOS_DEST=str(tmp_path / "p"),
               UPLOADS_AUTOSERVE=True)  # fmt: skip
    body = samples.png(4, 4)
    saved = post(app, "a.png", body).json["saved"]
    with app.test_request_context("/"):
        url = photos.url(saved)
    assert url == "http://localhost/_uploads/photos/a.png"
    r = app.test_client().get(url)
    assert r.status_code == 200 and r.data == body


@BOTH
def test_testing_file_storage_records_where_it_went(module: ModuleType, tmp_path: Path) -> None:
    photos = module.UploadSet("photos", module.IMAGES)
    app = make(module, tmp_path, [photos], UPLOADED_PHOTOS_DEST=str(tmp_path / "p"))
    with app.test_request_context("/"):
        storage = module.TestingFileStorage(filename="foo.jpg")
        assert photos.save(storage) == "foo.jpg"
        assert storage.saved == str(tmp_path / "p" / "foo.jpg")
        with pytest.raises(module.UploadNotAllowed):
            photos.save(module.TestingFileStorage(filename="foo.exe"))
        with pytest.raises(TypeError):
            photos.save("not a FileStorage")


@BOTH
def test_misconfiguration_is_said(module: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="alphanumeric"):
        module.UploadSet("my_photos")
    with pytest.raises(RuntimeError, match="no destination"):
        module.configure_uploads(Flask("bare"), module.UploadSet("photos"))
    with Flask("unconfigured").app_context(), pytest.raises(RuntimeError,
                                                             match="configure_uploads"):
        module.UploadSet("photos").config  # noqa: B018


# What only Airlock's module does -----------------------------------------------------------


def test_the_bytes_must_be_what_the_name_says(tmp_path: Path) -> None:
    for module in (reuploaded, airlock_uploads):
        photos = module.UploadSet("photos", module.IMAGES)
        app = make(module, tmp_path / module.__name__, [photos],
                   UPLOADED_PHOTOS_DEST=str(tmp_path / module.__name__ / "p"))  # fmt: skip
        r = post(app, "cat.jpg", PHP)
        if module is reuploaded:  # stored as a "photo", served back to the next visitor
            assert r.json["saved"] == "cat.jpg"
            continue
        assert r.status_code == 400 and r.json["code"] == "content_mismatch"
        svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
        for name, body, code, fields in [
            ("cat.png", samples.pdf(), "content_mismatch", {}),
            ("cat.png", b"", "empty_file", {}),
            ("drawing.svg", svg, "unsafe_content", {}),
            ("cat.png", samples.png(4, 4), "content_mismatch", {"name": "cat.gif"}),
        ]:
            r = post(app, name, body, **fields)
            assert r.status_code == 400 and r.json["code"] == code, (name, r.json)
        assert list((tmp_path / module.__name__ / "p").iterdir()) == []


def test_active_types_need_the_configurations_allow(tmp_path: Path) -> None:
    scripts = airlock_uploads.UploadSet("scripts", airlock_uploads.SCRIPTS)
    app = make(airlock_uploads, tmp_path, [scripts], UPLOADED_SCRIPTS_DEST=str(tmp_path / "s"))
    python = b"#!/usr/bin/env python3\nimport os\nprint(os.getcwd())\n"
    r = post(app, "tool.py", python)
    assert r.status_code == 400 and r.json["code"] == "unsafe_content"
    app = make(airlock_uploads, tmp_path, [scripts], UPLOADED_SCRIPTS_DEST=str(tmp_path / "s"),
               UPLOADED_SCRIPTS_ALLOW=("py",))  # fmt: skip
    assert post(app, "tool.py", python).json["saved"] == "tool.py"
    assert post(app, "tool.sh", python).json["code"] == "content_mismatch"


def test_extensions_airlock_has_no_type_for_take_text(tmp_path: Path) -> None:
    data = airlock_uploads.UploadSet("data", airlock_uploads.DATA + airlock_uploads.SOURCE)
    app = make(airlock_uploads, tmp_path, [data], UPLOADED_DATA_DEST=str(tmp_path / "d"))
    assert post(app, "settings.yaml", b"name: airlock\nlimits:\n  size: 10\n").json["saved"]
    assert post(app, "main.c", b"#include <stdio.h>\nint main(void) { return 0; }\n").json
    r = post(app, "settings.ini", jpeg())
    assert r.status_code == 400 and r.json["code"] == "content_mismatch"


def test_a_size_limit_from_the_airlock_settings(tmp_path: Path) -> None:
    photos = airlock_uploads.UploadSet("photos", airlock_uploads.IMAGES)
    app = make(airlock_uploads, tmp_path, [photos], UPLOADED_PHOTOS_DEST=str(tmp_path / "p"),
               AIRLOCK_MAX_FILE_SIZE=1000)  # fmt: skip
    r = post(app, "big.png", samples.png(8, 8) + bytes(2000))
    assert r.status_code == 400 and r.json["code"] == "too_large"
    assert list((tmp_path / "p").iterdir()) == []


def test_autoserved_files_get_safe_headers(tmp_path: Path) -> None:
    files = airlock_uploads.UploadSet("files", airlock_uploads.DEFAULTS)
    app = make(airlock_uploads, tmp_path, [files], UPLOADED_FILES_DEST=str(tmp_path / "f"),
               UPLOADS_AUTOSERVE=True)  # fmt: skip
    web = app.test_client()
    png = web.get("/_uploads/files/" + post(app, "a.png", samples.png(4, 4)).json["saved"])
    assert png.headers["Content-Type"] == "image/png"
    assert png.headers["Content-Disposition"].startswith("inline")
    assert png.headers["X-Content-Type-Options"] == "nosniff"
    assert png.headers["Content-Security-Policy"].startswith("sandbox")
    data = web.get("/_uploads/files/" + post(app, "d.csv", b"a,b\n1,2\n").json["saved"])
    assert data.headers["Content-Disposition"].startswith(("inline", "attachment"))
    assert data.headers["X-Content-Type-Options"] == "nosniff"
    (tmp_path / "f" / ".airlock-0000.part").write_bytes(b"in flight")
    assert web.get("/_uploads/files/.airlock-0000.part").status_code == 404


def test_save_takes_any_file_storage(tmp_path: Path) -> None:
    photos = airlock_uploads.UploadSet("photos", airlock_uploads.IMAGES)
    app = make(airlock_uploads, tmp_path, [photos], UPLOADED_PHOTOS_DEST=str(tmp_path / "p"))
    with app.test_request_context("/"):
        assert photos.save(FileStorage(io.BytesIO(jpeg()), filename="x.jpeg")) == "x.jpeg"
        with pytest.raises(airlock_uploads.UploadNotAllowed) as refused:
            photos.save(airlock_uploads.TestingFileStorage(io.BytesIO(PHP), filename="x.jpg"))
        assert refused.value.error is not None
        assert refused.value.error.code == "content_mismatch"
