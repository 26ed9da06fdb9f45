"""The production server on PostgreSQL: several workers sharing one database."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
import requests

from tests.conftest import reset_pg
from tests.support import samples
from tests.support.server import LiveServer

pytestmark = pytest.mark.postgres


def test_uploads_and_tus_on_postgres(pg_url: str, tmp_path: Path) -> None:
    reset_pg(pg_url)
    live = LiveServer(tmp_path / "data", env={"AIRLOCK_DATABASE_URL": pg_url}, workers=2).start()
    try:
        auth = {"Authorization": f"Bearer {live.add_user('pat')}"}
        r = requests.put(live.url + "/api/v1/files/p.png", data=samples.png(), headers=auth,
                         timeout=10)  # fmt: skip
        assert r.status_code == 201, r.text
        body = samples.zip_of({"a.bin": bytes(range(256)) * 2000}, stored=True)
        tus = {**auth, "Tus-Resumable": "1.0.0"}
        created = requests.post(live.url + "/api/v1/tus/", timeout=10, headers={
            **tus, "Upload-Length": str(len(body)),
            "Upload-Metadata": "filename " + base64.b64encode(b"z.zip").decode()})  # fmt: skip
        url = live.url + created.headers["Location"]
        step = len(body) // 4 + 1
        for offset in range(0, len(body), step):
            with requests.Session() as s:  # new connections: any worker may take each PATCH
                r = s.patch(url, data=body[offset : offset + step], timeout=10, headers={
                    **tus, "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream"})  # fmt: skip
                assert r.status_code == 204, r.text
        file_id = r.headers["Upload-File-Id"]
        f = requests.get(f"{live.url}/api/v1/files/{file_id}", headers=auth, timeout=10).json()
        assert f["sha256"] == hashlib.sha256(body).hexdigest()
        listed = requests.get(live.url + "/api/v1/files", headers=auth, timeout=10).json()
        assert {x["name"] for x in listed["files"]} == {"p.png", "z.zip"}
        assert requests.get(live.url + "/readyz", timeout=10).json()["checks"]["database"] == "ok"
    finally:
        live.stop()
