"""The apps in ``examples/``, each started under gunicorn and used as a visitor would: the
tutorial app rewritten with Airlock, a Flask-Login app with private per-user files, and
Flask-Reuploaded's photo album migrated (and, for contrast, the same album on
Flask-Reuploaded itself, which stores a PHP script named ``.jpg``)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.support.examples import EXAMPLES, serving

PHP = b"<?php system($_GET['cmd']); ?>\n"


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (30, 120, 200)).save(buf, "JPEG")
    return buf.getvalue()


STORAGES = pytest.mark.parametrize("storage", ["local", pytest.param("s3", marks=pytest.mark.s3)])


def app_env(request: pytest.FixtureRequest, tmp_path: Path, storage: str) -> dict[str, str]:
    """An example's Airlock settings: its own data dir, and on S3 a fresh bucket of the
    session's SeaweedFS."""
    env = {"AIRLOCK_DATA_DIR": str(tmp_path / "data"), "LOG": str(tmp_path / "log")}
    if storage == "s3":
        env.update(request.getfixturevalue("s3_env"))
    return env


@STORAGES
def test_the_tutorial_app(request: pytest.FixtureRequest, tmp_path: Path, storage: str) -> None:
    env = app_env(request, tmp_path, storage)
    with serving("tutorial_app", env) as url:
        web = requests.Session()
        assert "Upload new File" in web.get(url + "/", timeout=10).text
        body = jpeg()
        r = web.post(url + "/", files={"file": ("../../holiday.jpg", body)}, timeout=30,
                     allow_redirects=False)  # fmt: skip
        assert r.status_code == 302
        served = web.get(url + r.headers["Location"], timeout=10)
        assert served.content == body
        assert served.headers["Content-Type"] == "image/jpeg"
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        assert "holiday.jpg" in served.headers["Content-Disposition"]
        r = web.post(url + "/", files={"file": ("cat.jpg", PHP)}, timeout=30)
        assert r.status_code == 200 and "not allowed" in r.text  # flashed, nothing stored
    if storage == "local":
        assert list((tmp_path / "data" / "staging").iterdir()) == []
    else:  # the photo (and its thumbnail), nothing of the script, no unfinished upload
        s3, bucket = request.getfixturevalue("s3_server").client(), env["AIRLOCK_S3_BUCKET"]
        assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
        sizes = [o["Size"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        assert sizes.count(len(body)) == 1 and len(PHP) not in sizes


@STORAGES
def test_the_login_app(request: pytest.FixtureRequest, tmp_path: Path, storage: str) -> None:
    env = app_env(request, tmp_path, storage)
    with serving("login_app", env) as url:
        def signed_in(name: str) -> tuple[requests.Session, str]:
            web = requests.Session()
            r = web.post(url + "/login", data={"username": name,
                                                "password": f"{name}'s password"}, timeout=10)
            assert r.status_code == 200, r.text
            token = re.search(r'name="airlock-csrf" content="([^"]+)"', r.text)
            assert token is not None
            return web, token.group(1)

        alice, csrf = signed_in("alice")
        r = alice.post(url + "/upload", files={"file": ("plan.txt", b"alice's plan\n")},
                       timeout=30)  # fmt: skip
        assert r.status_code == 200 and "error" not in r.text, r.text
        mine = alice.get(url + "/uploads/files", timeout=10).json()["files"]
        assert [(f["name"], f["owner"], f["visibility"]) for f in mine] == [
            ("plan.txt", "alice", "private")]
        content = url + mine[0]["links"]["content"]
        assert alice.get(content, timeout=10).content == b"alice's plan\n"
        bob, _ = signed_in("bob")
        assert bob.get(content, timeout=10).status_code == 404
        assert requests.get(content, timeout=10).status_code == 401
        # Airlock's API takes the host's session, with Airlock's CSRF token for changes.
        self_url = url + mine[0]["links"]["self"]
        assert alice.delete(self_url, timeout=10).status_code == 403
        assert alice.delete(self_url, headers={"X-CSRF-Token": csrf}, timeout=10
                            ).status_code == 204  # fmt: skip
        r = alice.post(url + "/upload", files={"file": ("tool.exe", b"MZ\x90\x00" * 64)},
                       timeout=30)  # fmt: skip
        assert "not allowed" in r.text
        assert alice.get(url + "/uploads/files", timeout=10).json()["files"] == []


def test_the_migrated_photo_album(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    env = {"UPLOADED_PHOTOS_DEST": str(photos), "LOG": str(tmp_path / "log")}
    with serving("reuploaded_app", env) as url:
        body = jpeg()
        r = requests.post(url + "/upload", files={"photo": ("Summer Trip.JPG", body)},
                          timeout=30)  # fmt: skip
        assert r.status_code == 200
        src = re.search(r'src="([^"]+)"', r.text)
        assert src is not None and src.group(1).endswith("/_uploads/photos/Summer_Trip.jpg")
        served = requests.get(src.group(1), timeout=10)
        assert served.content == body
        assert served.headers["Content-Security-Policy"].startswith("sandbox")
        r = requests.post(url + "/upload", files={"photo": ("cat.jpg", PHP)}, timeout=30)
        assert r.status_code == 400
    assert sorted(p.name for p in photos.iterdir()) == ["Summer_Trip.jpg"]


def test_the_same_album_on_flask_reuploaded_stores_the_script(tmp_path: Path) -> None:
    """The example with its import changed back: Flask-Reuploaded checks names only."""
    original = tmp_path / "original"
    original.mkdir()
    source = (EXAMPLES / "reuploaded_app.py").read_text()
    migrated = "from airlock.flask_uploads import"
    assert migrated in source
    unmigrated = source.replace(migrated, "from flask_uploads import")
    (original / "reuploaded_app.py").write_text(unmigrated)
    photos = tmp_path / "photos"
    env = {"UPLOADED_PHOTOS_DEST": str(photos), "LOG": str(tmp_path / "log")}
    with serving("reuploaded_app", env, chdir=original) as url:
        r = requests.post(url + "/upload", files={"photo": ("cat.jpg", PHP)}, timeout=30)
        assert r.status_code == 200
    assert (photos / "cat.jpg").read_bytes() == PHP
