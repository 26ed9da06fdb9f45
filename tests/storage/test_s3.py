"""S3 storage against a real S3 server (SeaweedFS): the conformance suites, ranged reads, the
presigned POST policy as the store enforces it, and sweeping unfinished multipart uploads."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from airlock.config import Settings
from airlock.runtime import build_storage
from airlock.storage.conformance import check_staging, check_storage
from airlock.storage.s3 import PART_SIZE, S3Storage

pytestmark = pytest.mark.s3


@pytest.fixture
def storage(s3_env: dict[str, str], tmp_path: Path) -> S3Storage:
    built = build_storage(Settings.load(s3_env, data_dir=tmp_path))
    assert isinstance(built, S3Storage)
    return built


def keys_in(storage: S3Storage) -> list[str]:
    page = storage.client.list_objects_v2(Bucket=storage.bucket)
    return [o["Key"] for o in page.get("Contents", ())]


def test_conformance(storage: S3Storage) -> None:
    assert len(check_storage(storage)) == 6
    assert keys_in(storage) == []


def test_staging_conformance(storage: S3Storage) -> None:
    assert len(check_staging(storage.staging(), storage)) == 3
    assert keys_in(storage) == []


def test_multipart_put_streams_in_parts_and_reads_back_by_ranges(storage: S3Storage) -> None:
    data = os.urandom(3 * PART_SIZE + 12345)
    storage.put("k" * 20, io.BytesIO(data), len(data))
    try:
        stat = storage.stat("k" * 20)
        assert stat is not None and stat.size == len(data)
        with storage.open("k" * 20, PART_SIZE - 5, PART_SIZE + 5) as fh:
            assert fh.read() == data[PART_SIZE - 5 : PART_SIZE + 5]
        with storage.open("k" * 20, len(data)) as fh:
            assert fh.read() == b""  # a range at the end is empty, not an error
        with storage.reader("k" * 20) as view:
            view.seek(-100, io.SEEK_END)
            assert view.read() == data[-100:]
    finally:
        storage.delete("k" * 20)


def test_a_put_that_fails_midway_leaves_no_object_and_no_parts(storage: S3Storage) -> None:
    class Breaks(io.RawIOBase):
        sent = 0

        def read(self, n: int = -1) -> bytes:
            self.sent += 1
            if self.sent > 3:
                raise OSError("the client went away")
            return b"x" * PART_SIZE

    with pytest.raises(OSError):
        storage.put("b" * 20, Breaks(), 10 * PART_SIZE)  # type: ignore[arg-type]
    assert storage.stat("b" * 20) is None
    uploads = storage.client.list_multipart_uploads(Bucket=storage.bucket).get("Uploads", [])
    assert uploads == []


def test_sweep_aborts_the_unfinished_multipart_uploads_it_is_let_remove(
    storage: S3Storage,
) -> None:
    client, bucket = storage.client, storage.bucket
    started = client.create_multipart_upload(Bucket=bucket, Key="s" * 20)["UploadId"]
    client.upload_part(Bucket=bucket, Key="s" * 20, UploadId=started, PartNumber=1, Body=b"x" * 10)
    asked: list[tuple[str, float]] = []
    assert storage.sweep(lambda key, when: asked.append((key, when)) is not None) == 0
    assert [key for key, _ in asked] == ["s" * 20]
    assert abs(asked[0][1] - time.time()) < 600  # when it was started
    assert storage.sweep(lambda key, when: True) == 1
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def _post(presigned: Any, body: bytes) -> requests.Response:
    files = {"file": ("upload.bin", body)}
    return requests.post(presigned.url, data=presigned.fields, files=files, timeout=30)


def test_the_store_enforces_the_presigned_policy(storage: S3Storage) -> None:
    body = b"exactly these bytes\n"
    presigned = storage.presign_post("p" * 20, len(body), 60)
    assert _post(presigned, body + b"more").status_code == 400  # too large for the policy
    assert _post(presigned, body[:-1]).status_code == 400  # too small
    forged = type(presigned)(presigned.url, {**presigned.fields, "key": "q" * 20},
                             presigned.expires_at)  # fmt: skip
    assert _post(forged, body).status_code == 403  # another key than the signed policy's
    assert storage.stat("q" * 20) is None
    tampered = dict(presigned.fields)
    signature = next(k for k in tampered if k.lower() == "x-amz-signature")
    tampered[signature] = "0" * len(tampered[signature])
    assert _post(type(presigned)(presigned.url, tampered, presigned.expires_at),
                 body).status_code == 403  # fmt: skip
    assert storage.stat("p" * 20) is None
    assert _post(presigned, body).status_code in (200, 201, 204)
    with storage.open("p" * 20) as fh:
        assert fh.read() == body
    storage.delete("p" * 20)


def test_an_expired_presigned_post_is_refused(storage: S3Storage) -> None:
    presigned = storage.presign_post("e" * 20, 3, 1)
    time.sleep(2.5)
    assert _post(presigned, b"abc").status_code == 403
    assert storage.stat("e" * 20) is None


def test_presigned_get_pins_type_and_disposition(storage: S3Storage) -> None:
    storage.put("g" * 20, io.BytesIO(b"<html>"), 6)
    url = storage.presign_get("g" * 20, "text/plain", 'attachment; filename="a.txt"', 60)
    r = requests.get(url, timeout=10)
    assert r.status_code == 200 and r.content == b"<html>"
    assert r.headers["Content-Type"] == "text/plain"
    assert r.headers["Content-Disposition"] == 'attachment; filename="a.txt"'
    storage.delete("g" * 20)


def test_resumable_staging_conformance(storage: S3Storage) -> None:
    from airlock.storage.conformance import check_resumable_staging

    assert len(check_resumable_staging(storage.resumable_staging(), storage)) == 9
    assert keys_in(storage) == []


def _uploads_in(storage: S3Storage) -> list[str]:
    page = storage.client.list_multipart_uploads(Bucket=storage.bucket)
    return [u["Key"] for u in page.get("Uploads", ())]


def test_a_resumable_upload_is_one_multipart_upload_a_manifest_and_a_tail(
    storage: S3Storage,
) -> None:
    from airlock.storage.s3_tus import S3TusStaging

    staging = S3TusStaging(storage)
    sid = staging.create()
    sink = staging.writer(sid, 0)
    sink.write(os.urandom(9 * 1024 * 1024))  # one 8 MiB part, and 1 MiB for the tail
    sink.close()
    assert _uploads_in(storage) == [sid]
    assert sorted(k.split(".")[1] for k in keys_in(storage)) == ["tail", "tus"]
    # Both sweeps ask about the upload by its id (gc keeps what an upload row names); the
    # staging's own sweep removes the manifest, tail and multipart upload when let.
    asked: list[str] = []
    assert storage.sweep(lambda key, when: asked.append(key) is not None) == 0
    assert staging.sweep(lambda key, when: asked.append(key) is not None) == 0
    assert asked == [sid, sid]
    assert staging.sweep(lambda key, when: True) == 1
    assert keys_in(storage) == [] and _uploads_in(storage) == []
