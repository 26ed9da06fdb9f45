"""gc and direct uploads on a real S3 server: an uploaded but never completed object is kept
while its upload may still be completed, and removed (with the upload) once that has expired;
a completed upload's object is the File's and stays."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests
from flask import Flask

from airlock.gc import collect
from tests.conftest import MakeApp, add_user

pytestmark = pytest.mark.s3


@pytest.fixture
def s3_app(make_app: MakeApp, s3_settings: dict[str, str]) -> Flask:
    return make_app(**s3_settings)


def _direct(app: Flask, auth: dict[str, str], body: bytes, complete: bool) -> dict[str, Any]:
    client = app.test_client()
    r = client.post("/api/v1/uploads/presign", json={"name": "note.txt", "size": len(body)},
                    headers=auth)  # fmt: skip
    assert r.status_code == 201, r.get_json()
    presigned = r.get_json()
    sent = requests.post(presigned["url"], data=presigned["fields"],
                         files={"file": ("blob", body)}, timeout=10)  # fmt: skip
    assert sent.status_code in (200, 201, 204), sent.text
    if complete:
        done = client.post(f"/api/v1/uploads/{presigned['upload_id']}/complete", headers=auth)
        assert done.status_code == 201, done.get_json()
        presigned["file"] = done.get_json()
    return presigned


def _objects(app: Flask) -> set[str]:
    storage = app.extensions["airlock"].storage
    return {o.key for o in storage.list()}


def test_gc_keeps_pending_direct_uploads_then_removes_expired_ones(s3_app: Flask) -> None:
    auth = add_user(s3_app, "alice")
    st = s3_app.extensions["airlock"]
    pending = _direct(s3_app, auth, b"never completed\n", complete=False)
    done = _direct(s3_app, auth, b"completed\n", complete=True)
    assert len(_objects(s3_app)) == 2
    lifetime = st.settings.presign_lifetime
    now = dt.datetime.now(dt.UTC)

    # Past the orphan grace but before the upload expires: it may still be completed.
    report = collect(st, now + dt.timedelta(seconds=lifetime + 60))
    assert report.orphaned_objects == 0 and report.expired_uploads == 0
    assert len(_objects(s3_app)) == 2

    report = collect(st, now + dt.timedelta(seconds=2 * lifetime + 60))
    assert report.expired_uploads == 2  # both rows; only the uncompleted one's object goes
    assert report.orphaned_objects == 0
    objects = _objects(s3_app)
    assert len(objects) == 1
    got = s3_app.test_client().get(done["file"]["links"]["content"], headers=auth)
    assert got.status_code == 200 and got.data == b"completed\n"
    late = s3_app.test_client().post(f"/api/v1/uploads/{pending['upload_id']}/complete",
                                     headers=auth)  # fmt: skip
    assert late.status_code == 404
