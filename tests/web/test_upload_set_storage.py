"""An upload set with a storage of its own: its Files' bytes (and thumbnails) go there and
nowhere else, are served, deleted and collected from there, on local disk and in a real S3
bucket; a process that was not given the set's storage keeps its Files rather than lose
their bytes, and ``flask airlock gc`` in the host app collects them."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, jsonify

from airlock import UploadSet
from airlock.errors import Unavailable
from airlock.gc import collect
from airlock.runtime import build_state
from airlock.storage.local import LocalStorage
from tests.conftest import multipart
from tests.support import samples
from tests.support.hostapp import PREFIX, host_app


def stored_files(root: Path) -> list[Path]:
    """The objects under a local storage's root (its temp files excepted)."""
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def serve_set(app: Flask, upload_set: UploadSet) -> None:
    @app.post("/put")
    def put() -> Any:
        file = upload_set.receive()
        return jsonify(id=file.id, url=upload_set.url(file))


def sign_in(app: Flask, name: str = "alice") -> tuple[Any, dict[str, str]]:
    web = app.test_client()
    token = web.post(f"/login/{name}").json["airlock"]
    return web, {"X-CSRF-Token": token}


@pytest.fixture
def vault(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "vault")


@pytest.fixture
def host(tmp_path: Path, vault: LocalStorage) -> Iterator[tuple[Flask, UploadSet]]:
    scans = UploadSet("scans", types={"png", "pdf"}, storage=vault)
    app, _ = host_app(tmp_path, upload_sets=[scans])
    serve_set(app, scans)
    yield app, scans
    app.extensions["airlock"].db.dispose()


def test_the_bytes_go_to_the_sets_storage_only(host: tuple[Flask, UploadSet],
                                               vault: LocalStorage) -> None:  # fmt: skip
    app, scans = host
    st = app.extensions["airlock"]
    web, csrf = sign_in(app)
    png = samples.png(64, 64)
    r = web.post("/put", headers=csrf, **multipart({"file": (io.BytesIO(png), "scan.png")}))
    assert r.status_code == 200, r.json
    file_id = r.json["id"]
    # The bytes and the thumbnail are in the vault; the service's storage has nothing.
    assert len(stored_files(vault.root)) == 2
    assert stored_files(st.settings.data_dir / "files") == []
    assert web.get(r.json["url"]).data == png
    assert web.get(f"{PREFIX}/files/{file_id}/thumbnail").status_code == 200
    with app.test_request_context("/"), scans.open(file_id) as stream:
        assert stream.read() == png
    # Deleting through the API removes them from the vault.
    assert web.delete(f"{PREFIX}/files/{file_id}", headers=csrf).status_code == 204
    assert stored_files(vault.root) == []


def test_a_file_of_the_service_stays_in_the_services_storage(
    host: tuple[Flask, UploadSet], vault: LocalStorage
) -> None:
    app, _ = host
    web, csrf = sign_in(app)
    r = web.post(f"{PREFIX}/files", headers=csrf,
                 **multipart({"file": (io.BytesIO(b"plain\n"), "a.txt")}))  # fmt: skip
    assert r.status_code == 201, r.json
    assert stored_files(vault.root) == []
    assert len(stored_files(app.extensions["airlock"].settings.data_dir / "files")) == 1


def test_gc_collects_from_the_sets_storage_and_elsewhere_keeps(
    host: tuple[Flask, UploadSet], vault: LocalStorage
) -> None:
    app, _ = host
    st = app.extensions["airlock"]
    web, csrf = sign_in(app)
    r = web.post("/put", headers=csrf, **multipart({"file": (io.BytesIO(samples.pdf()), "a.pdf")}))
    file_id = r.json["id"]
    r = web.patch(f"{PREFIX}/files/{file_id}", headers=csrf,
                  json={"expires_at": "2001-01-01T00:00:00Z"})  # fmt: skip
    assert r.status_code == 200, r.json

    # The ``airlock`` command builds its Airlock from the settings alone: no set, no vault.
    # It must neither delete the row (losing track of the bytes) nor claim it did.
    service = build_state(st.settings)
    try:
        report = collect(service)
        assert report.expired_files == 0 and report.kept_elsewhere == 1
        assert any("flask airlock gc" in line for line in report.lines())
        with service.db.read() as conn:
            from airlock.db import repo

            record = repo.get_file(conn, file_id)
        assert record is not None and record.store == "scans"
        with pytest.raises(Unavailable):
            service.service.open_content(record, None)
    finally:
        service.db.dispose()
    assert len(stored_files(vault.root)) == 1

    # In the host app, the command reaches the vault.
    result = app.test_cli_runner().invoke(args=["airlock", "gc"])
    assert result.exit_code == 0, result.output
    assert "expired files removed: 1" in result.output
    assert stored_files(vault.root) == []
    assert web.get(f"{PREFIX}/files/{file_id}").status_code == 404


def test_gc_sweeps_orphans_from_the_sets_storage(host: tuple[Flask, UploadSet],
                                                 vault: LocalStorage) -> None:  # fmt: skip
    import datetime as dt

    app, _ = host
    st = app.extensions["airlock"]
    vault.put("orphan0000000000000000", io.BytesIO(b"left by a crash"), 15)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    assert collect(st, now=later).orphaned_objects == 1
    assert stored_files(vault.root) == []


def test_a_set_with_a_storage_must_be_registered(tmp_path: Path) -> None:
    loose = UploadSet("loose", storage=LocalStorage(tmp_path / "loose"))
    app, _ = host_app(tmp_path)
    serve_set(app, loose)
    web, csrf = sign_in(app)
    with pytest.raises(RuntimeError, match="upload_sets"):
        web.post("/put", headers=csrf, **multipart({"file": (io.BytesIO(b"x\n"), "a.txt")}))
    app.extensions["airlock"].db.dispose()


def test_one_name_one_storage(tmp_path: Path) -> None:
    first = UploadSet("same", storage=LocalStorage(tmp_path / "one"))
    second = UploadSet("same", storage=LocalStorage(tmp_path / "two"))
    with pytest.raises(ValueError, match="same"):
        host_app(tmp_path, upload_sets=[first, second])
    with pytest.raises(ValueError, match="name"):
        UploadSet("x" * 65, storage=LocalStorage(tmp_path / "three"))


def test_a_set_can_keep_its_files_in_s3(tmp_path: Path, s3_server: Any) -> None:
    """The service on local disk, one set in a real bucket: its bytes go to the bucket, are
    served through the app (no redirect to a store the service does not own), and go."""
    from airlock.storage.s3 import S3Storage

    env = s3_server.env(s3_server.create_bucket("set-storage"))
    bucket = S3Storage(
        env["AIRLOCK_S3_BUCKET"], env["AIRLOCK_S3_ENDPOINT"], env["AIRLOCK_S3_REGION"],
        env["AIRLOCK_S3_ACCESS_KEY_ID"], env["AIRLOCK_S3_SECRET_ACCESS_KEY"],
    )  # fmt: skip
    photos = UploadSet("photos", types={"png"}, storage=bucket)
    app, _ = host_app(tmp_path, upload_sets=[photos])
    serve_set(app, photos)
    try:
        web, csrf = sign_in(app)
        png = samples.png(40, 30)
        r = web.post("/put", headers=csrf, **multipart({"file": (io.BytesIO(png), "p.png")}))
        assert r.status_code == 200, r.json
        keys = sorted(obj.key for obj in bucket.list())
        assert len(keys) == 2 and keys[1] == keys[0] + "_t"  # the bytes and the thumbnail
        got = web.get(r.json["url"])
        assert got.status_code == 200 and got.data == png
        assert stored_files(app.extensions["airlock"].settings.data_dir / "files") == []
        assert web.delete(f"{PREFIX}/files/{r.json['id']}", headers=csrf).status_code == 204
        assert list(bucket.list()) == []
    finally:
        app.extensions["airlock"].db.dispose()
