"""The tus 1.0.0 protocol through the test client: every extension and each edge case."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import Clock, MakeApp, add_user
from tests.support import samples

TUS = "/api/v1/tus/"
V = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"


def meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def create(client: FlaskClient, auth: dict[str, str], length: int | None, **metadata: str):
    headers = {**V, **auth, "Upload-Metadata": meta(**metadata)}
    if length is None:
        headers["Upload-Defer-Length"] = "1"
    else:
        headers["Upload-Length"] = str(length)
    return client.post(TUS, headers=headers)


def patch(client: FlaskClient, auth: dict[str, str], url: str, offset: int, data: bytes,
          **extra: str):  # fmt: skip
    headers = {**V, **auth, "Upload-Offset": str(offset), "Content-Type": OCTETS, **extra}
    return client.patch(url, headers=headers, data=data)


def staging(app: Flask) -> list[Path]:
    return list((app.extensions["airlock"].settings.data_dir / "staging").iterdir())


def test_options_advertises_what_is_supported(client: FlaskClient) -> None:
    r = client.options(TUS)
    assert r.status_code == 204
    assert r.headers["Tus-Version"] == "1.0.0"
    assert set(r.headers["Tus-Extension"].split(",")) == {
        "creation", "creation-with-upload", "creation-defer-length", "termination",
        "expiration", "checksum", "concatenation",
    }  # fmt: skip
    assert r.headers["Tus-Checksum-Algorithm"] == "sha1,md5,sha256"
    assert r.headers["Tus-Max-Size"] == "100000000"


def test_upload_in_chunks_becomes_a_file(app: Flask, client: FlaskClient,
                                         alice: dict[str, str]) -> None:  # fmt: skip
    body = samples.zip_of({"a.bin": bytes(range(256)) * 400}, stored=True)
    r = create(client, alice, len(body), filename="parts.zip", visibility="public")
    assert r.status_code == 201
    url = r.headers["Location"]
    assert url.startswith(TUS) and "Upload-Expires" in r.headers
    step = 30_000
    for offset in range(0, len(body), step):
        r = patch(client, alice, url, offset, body[offset : offset + step])
        assert r.status_code == 204, r.json
        assert int(r.headers["Upload-Offset"]) == min(offset + step, len(body))
    file_id = r.headers["Upload-File-Id"]
    f = client.get(f"/api/v1/files/{file_id}", headers=alice).json
    assert f["sha256"] == hashlib.sha256(body).hexdigest()
    assert f["name"] == "parts.zip" and f["visibility"] == "public"
    head = client.head(url, headers={**V, **alice})
    assert head.status_code == 303 and head.headers["Location"] == f"/api/v1/files/{file_id}"
    assert client.get(url, headers={**V, **alice}).status_code == 303
    assert staging(app) == []


def test_head_reports_progress(client: FlaskClient, alice: dict[str, str]) -> None:
    url = create(client, alice, 100, filename="n.txt").headers["Location"]
    patch(client, alice, url, 0, b"a" * 40)
    r = client.head(url, headers={**V, **alice})
    assert r.status_code == 200
    assert r.headers["Upload-Offset"] == "40" and r.headers["Upload-Length"] == "100"
    assert r.headers["Cache-Control"] == "no-store"
    assert base64.b64decode(r.headers["Upload-Metadata"].split(" ")[1]) == b"n.txt"


def test_creation_with_upload(client: FlaskClient, alice: dict[str, str]) -> None:
    body = b"all at once\n"
    r = client.post(TUS, data=body, headers={
        **V, **alice, "Upload-Length": str(len(body)), "Content-Type": OCTETS,
        "Upload-Metadata": meta(filename="once.txt")})  # fmt: skip
    assert r.status_code == 201 and r.headers["Upload-Offset"] == str(len(body))
    assert "Upload-File-Id" in r.headers


def test_zero_length_upload_is_checked_at_creation(app: Flask, client: FlaskClient,
                                                   alice: dict[str, str]) -> None:  # fmt: skip
    r = create(client, alice, 0, filename="empty.txt")
    assert r.status_code == 422 and r.json["error"]["code"] == "empty_file"
    assert staging(app) == []


def test_deferred_length(client: FlaskClient, alice: dict[str, str]) -> None:
    r = create(client, alice, None, filename="later.txt")
    url = r.headers["Location"]
    head = client.head(url, headers={**V, **alice})
    assert head.headers["Upload-Defer-Length"] == "1" and "Upload-Length" not in head.headers
    assert patch(client, alice, url, 0, b"first part\n").status_code == 204
    r = patch(client, alice, url, 11, b"second\n", **{"Upload-Length": "18"})
    assert r.status_code == 204 and "Upload-File-Id" in r.headers


def test_termination(app: Flask, client: FlaskClient, alice: dict[str, str]) -> None:
    url = create(client, alice, 10, filename="t.txt").headers["Location"]
    patch(client, alice, url, 0, b"12345")
    assert client.delete(url, headers={**V, **alice}).status_code == 204
    assert client.head(url, headers={**V, **alice}).status_code == 404
    r = patch(client, alice, url, 5, b"67890")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    assert staging(app) == []


def test_expiry(make_app: MakeApp) -> None:
    clock = Clock()
    app = make_app(clock=clock, staging_max_age=60)
    client = app.test_client()
    auth = add_user(app, "erin")
    r = create(client, auth, 10, filename="e.txt")
    url = r.headers["Location"]
    clock.advance(61)
    r = patch(client, auth, url, 0, b"12345")
    assert r.status_code == 410 and r.json["error"]["code"] == "gone"
    assert client.head(url, headers={**V, **auth}).status_code == 404
    assert staging(app) == []


@pytest.mark.parametrize("version", [None, "0.2.2", "2.0.0"])
def test_wrong_version_is_412(client: FlaskClient, alice: dict[str, str],
                              version: str | None) -> None:  # fmt: skip
    headers = {**alice, "Upload-Length": "5"}
    if version:
        headers["Tus-Resumable"] = version
    r = client.post(TUS, headers=headers)
    assert r.status_code == 412 and r.json["error"]["code"] == "precondition_failed"
    assert r.headers["Tus-Version"] == "1.0.0"


def test_patch_needs_the_offset_media_type(client: FlaskClient, alice: dict[str, str]) -> None:
    url = create(client, alice, 5, filename="m.txt").headers["Location"]
    r = client.patch(url, data=b"12345", headers={
        **V, **alice, "Upload-Offset": "0", "Content-Type": "application/octet-stream"})  # fmt: skip
    assert r.status_code == 415 and r.json["error"]["code"] == "unsupported_media_type"


def test_offset_mismatch_is_409(client: FlaskClient, alice: dict[str, str]) -> None:
    url = create(client, alice, 10, filename="o.txt").headers["Location"]
    r = patch(client, alice, url, 3, b"abc")
    assert r.status_code == 409 and r.json["error"]["code"] == "conflict"
    assert patch(client, alice, url, 0, b"abc").status_code == 204


def test_patch_past_length_is_413_and_keeps_nothing(client: FlaskClient,
                                                    alice: dict[str, str]) -> None:  # fmt: skip
    url = create(client, alice, 10, filename="p.txt").headers["Location"]
    assert patch(client, alice, url, 0, b"12345").status_code == 204
    r = patch(client, alice, url, 5, b"6789012345")
    assert r.status_code == 413 and r.json["error"]["code"] == "too_large"
    assert client.head(url, headers={**V, **alice}).headers["Upload-Offset"] == "5"
    assert patch(client, alice, url, 5, b"67890").status_code == 204


@pytest.mark.parametrize("algorithm", ["sha1", "md5", "sha256"])
def test_checksums(client: FlaskClient, alice: dict[str, str], algorithm: str) -> None:
    url = create(client, alice, 10, filename="c.txt").headers["Location"]
    good = base64.b64encode(hashlib.new(algorithm, b"12345").digest()).decode()
    bad = base64.b64encode(hashlib.new(algorithm, b"xxxxx").digest()).decode()
    r = patch(client, alice, url, 0, b"12345", **{"Upload-Checksum": f"{algorithm} {bad}"})
    assert r.status_code == 460 and r.json["error"]["code"] == "checksum_mismatch"
    assert client.head(url, headers={**V, **alice}).headers["Upload-Offset"] == "0"
    r = patch(client, alice, url, 0, b"12345", **{"Upload-Checksum": f"{algorithm} {good}"})
    assert r.status_code == 204 and r.headers["Upload-Offset"] == "5"
    r = patch(client, alice, url, 5, b"67890", **{"Upload-Checksum": "crc32 AAAA"})
    assert r.status_code == 400


def test_concatenation_of_parts_uploaded_out_of_order(app: Flask, client: FlaskClient,
                                                      alice: dict[str, str]) -> None:  # fmt: skip
    body = samples.zip_of({"a.bin": bytes(range(256)) * 300}, stored=True)
    third = len(body) // 3
    pieces = [body[:third], body[third : 2 * third], body[2 * third :]]
    urls = []
    for piece in pieces:
        r = client.post(TUS, headers={**V, **alice, "Upload-Length": str(len(piece)),
                                      "Upload-Concat": "partial"})  # fmt: skip
        assert r.status_code == 201
        urls.append(r.headers["Location"])
    for i in (2, 0, 1):  # parts arrive in any order
        r = patch(client, alice, urls[i], 0, pieces[i])
        assert r.status_code == 204 and "Upload-File-Id" not in r.headers
    assert client.head(urls[0], headers={**V, **alice}).headers["Upload-Concat"] == "partial"
    r = client.post(TUS, headers={**V, **alice, "Upload-Metadata": meta(filename="joined.zip"),
                                  "Upload-Concat": "final;" + " ".join(urls)})  # fmt: skip
    assert r.status_code == 201, r.json
    f = client.get(f"/api/v1/files/{r.headers['Upload-File-Id']}", headers=alice).json
    assert f["sha256"] == hashlib.sha256(body).hexdigest() and f["name"] == "joined.zip"
    final = r.headers["Location"]
    assert patch(client, alice, final, 0, b"x").status_code in (403, 409)
    assert client.head(urls[0], headers={**V, **alice}).status_code == 404
    assert staging(app) == []


def test_unfinished_parts_cannot_be_joined(client: FlaskClient, alice: dict[str, str]) -> None:
    r = client.post(TUS, headers={**V, **alice, "Upload-Length": "10", "Upload-Concat": "partial"})
    url = r.headers["Location"]
    r = client.post(TUS, headers={**V, **alice, "Upload-Concat": f"final;{url}"})
    assert r.status_code == 400


def test_first_bytes_are_type_checked_at_once(app: Flask, client: FlaskClient,
                                              alice: dict[str, str]) -> None:  # fmt: skip
    html = b"<!DOCTYPE html><html><body><script>alert(1)</script>" + b" " * 70_000
    url = create(client, alice, len(html) + 1_000_000, filename="page.txt").headers["Location"]
    r = patch(client, alice, url, 0, html)
    assert r.status_code == 415 and r.json["error"]["code"] == "type_not_allowed"
    assert client.head(url, headers={**V, **alice}).status_code == 404
    assert staging(app) == []


def test_creation_refuses_what_can_never_pass(make_app: MakeApp) -> None:
    app = make_app(max_file_size="1MB")
    client = app.test_client()
    auth = add_user(app, "gus", quota=1000)
    r = create(client, auth, 2_000_000, filename="big.txt")
    assert r.status_code == 413 and r.json["error"]["code"] == "too_large"
    r = create(client, auth, 5000, filename="fits.txt")
    assert r.status_code == 507 and r.json["error"]["code"] == "quota_exceeded"
    r = create(client, auth, 10, filename="run.exe")
    assert r.status_code == 415
    assert staging(app) == []


def test_final_rejection_deletes_the_upload(app: Flask, client: FlaskClient,
                                            alice: dict[str, str]) -> None:  # fmt: skip
    url = create(client, alice, len(samples.png()), filename="pic.pdf").headers["Location"]
    r = patch(client, alice, url, 0, samples.png())
    assert r.status_code == 415 or r.json["error"]["code"] == "content_mismatch"
    assert client.head(url, headers={**V, **alice}).status_code == 404
    assert staging(app) == []


def test_others_uploads_are_not_found(client: FlaskClient, alice: dict[str, str],
                                      bob: dict[str, str]) -> None:  # fmt: skip
    url = create(client, alice, 10, filename="mine.txt").headers["Location"]
    assert client.head(url, headers={**V, **bob}).status_code == 404
    assert patch(client, bob, url, 0, b"12345").status_code == 404
    assert client.delete(url, headers={**V, **bob}).status_code == 404
    assert client.head(url, headers={**V}).status_code == 401


def test_cors_when_configured(make_app: MakeApp) -> None:
    app = make_app(cors_origins="https://app.example")
    client = app.test_client()
    r = client.options(TUS, headers={"Origin": "https://app.example",
                                     "Access-Control-Request-Method": "PATCH",
                                     "Access-Control-Request-Headers": "upload-offset"})  # fmt: skip
    assert r.headers["Access-Control-Allow-Origin"] == "https://app.example"
    r = client.post(TUS, headers={"Origin": "https://app.example", **V})
    exposed = r.headers["Access-Control-Expose-Headers"].lower()
    assert "upload-offset" in exposed and "location" in exposed and "upload-file-id" in exposed
    r = client.options(TUS, headers={"Origin": "https://evil.example",
                                     "Access-Control-Request-Method": "PATCH"})  # fmt: skip
    assert "Access-Control-Allow-Origin" not in r.headers


def test_a_file_shorter_than_its_offset_is_trusted(app: Flask, client: FlaskClient,
                                                   alice: dict[str, str]) -> None:  # fmt: skip
    """As after a machine crash that lost unsynced appends: the client resends the tail."""
    body = b"0123456789abcdefghij\n"
    url = create(client, alice, len(body), filename="crash.txt").headers["Location"]
    assert patch(client, alice, url, 0, body[:12]).status_code == 204
    staged = app.extensions["airlock"].staging.path(url.rsplit("/", 1)[1])
    with open(staged, "r+b") as fh:
        fh.truncate(5)
    head = client.head(url, headers={**V, **alice})
    assert head.headers["Upload-Offset"] == "5"
    assert patch(client, alice, url, 12, body[12:]).status_code == 409
    r = patch(client, alice, url, 5, body[5:])
    assert r.status_code == 204
    f = client.get(f"/api/v1/files/{r.headers['Upload-File-Id']}", headers=alice).json
    assert f["sha256"] == hashlib.sha256(body).hexdigest()
