"""A full storage backend answers 507 storage_full and leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

from airlock import Settings, create_app
from tests.conftest import BufferedClient, add_user
from tests.support import samples
from tests.support.storage import CappedStorage


def test_storage_full(tmp_path: Path) -> None:
    storage = CappedStorage(tmp_path / "objects", capacity=1000)
    app = create_app(Settings.load({}, data_dir=tmp_path / "data"), storage=storage)
    app.test_client_class = BufferedClient
    client = app.test_client()
    headers = add_user(app, "erin")
    try:
        ok = client.put("/api/v1/files/a.png", data=samples.png(), headers=headers)
        assert ok.status_code == 201
        r = client.put("/api/v1/files/big.txt", data=b"x" * 2000, headers=headers)
        assert r.status_code == 507 and r.json["error"]["code"] == "storage_full"
        listed = client.get("/api/v1/files", headers=headers).json["files"]
        assert [f["name"] for f in listed] == ["a.png"]
        assert list((tmp_path / "data" / "staging").iterdir()) == []
        assert len(list(storage.list())) == 2  # a.png and its thumbnail
        got = client.get(ok.json["links"]["content"], headers=headers)
        assert got.data == samples.png()
    finally:
        app.extensions["airlock"].db.dispose()
