"""Serving a File's bytes: headers, conditional requests, ranges, share links, public URLs."""

from __future__ import annotations


import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.http import parse_options_header

from tests.conftest import Clock, MakeApp, add_user
from tests.support import samples

BODY = bytes(range(256)) * 40  # 10240 bytes, text-free: a zip member keeps it an allowed type


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def app(request: pytest.FixtureRequest, make_app: MakeApp) -> Flask:
    """Every serving test on local storage and on S3 storage (SeaweedFS)."""
    if request.param == "s3":
        return make_app(**request.getfixturevalue("s3_settings"))
    return make_app()


def put(client: FlaskClient, headers: dict[str, str], name: str, body: bytes, query: str = ""):
    r = client.put(f"/api/v1/files/{name}{query}", data=body, headers=headers)
    assert r.status_code == 201, r.json
    return r.json


def test_headers_for_a_passive_type(client: FlaskClient, alice: dict[str, str]) -> None:
    f = put(client, alice, "фото.png", samples.png())
    r = client.get(f["links"]["content"], headers=alice)
    assert r.status_code == 200
    assert r.data == samples.png()
    assert r.headers["Content-Type"] == "image/png"
    kind, params = parse_options_header(r.headers["Content-Disposition"])
    assert kind == "inline" and params["filename"] == "фото.png"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert r.headers["Cache-Control"].startswith("private")
    assert r.headers["ETag"] == f'"{f["sha256"]}"'
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["Last-Modified"].endswith("GMT")
    assert int(r.headers["Content-Length"]) == f["size"]
    d = client.get(f["links"]["content"] + "?download=1", headers=alice)
    assert d.headers["Content-Disposition"].startswith("attachment")


def test_non_passive_types_are_attachments(client: FlaskClient, alice: dict[str, str]) -> None:
    f = put(client, alice, "a.zip", samples.zip_of({"a.txt": b"x"}))
    r = client.get(f["links"]["content"], headers=alice)
    assert r.headers["Content-Disposition"].startswith("attachment")
    assert r.headers["Content-Type"] == "application/zip"


def test_operator_allowed_html_is_never_served_as_html(make_app, tmp_path) -> None:
    from tests.conftest import add_user

    app = make_app(allowed_types="html,txt")
    client = app.test_client()
    headers = add_user(app, "op")
    f = put(client, headers, "page.html", b"<html><body><script>alert(1)</script></body></html>")
    assert f["content_type"] == "text/html"
    r = client.get(f["links"]["content"], headers=headers)
    assert r.headers["Content-Type"].startswith("text/plain")
    assert r.headers["Content-Disposition"].startswith("attachment")


def test_conditional_get(client: FlaskClient, alice: dict[str, str]) -> None:
    f = put(client, alice, "a.png", samples.png())
    etag = f'"{f["sha256"]}"'
    r = client.get(f["links"]["content"], headers={**alice, "If-None-Match": etag})
    assert r.status_code == 304 and r.data == b""
    assert r.headers["ETag"] == etag
    r = client.get(f["links"]["content"], headers={**alice, "If-None-Match": '"nope"'})
    assert r.status_code == 200


def test_ranges(client: FlaskClient, alice: dict[str, str]) -> None:
    body = samples.zip_of({"data.bin": BODY}, stored=True)
    f = put(client, alice, "r.zip", body)
    url = f["links"]["content"]
    size = len(body)
    r = client.get(url, headers={**alice, "Range": "bytes=10-19"})
    assert r.status_code == 206 and r.data == body[10:20]
    assert r.headers["Content-Range"] == f"bytes 10-19/{size}"
    assert r.headers["Content-Length"] == "10"
    r = client.get(url, headers={**alice, "Range": "bytes=-5"})
    assert r.status_code == 206 and r.data == body[-5:]
    r = client.get(url, headers={**alice, "Range": f"bytes={size}-"})
    assert r.status_code == 416 and r.headers["Content-Range"] == f"bytes */{size}"
    # Several ranges, even overlapping ones, are never amplified: the whole file once.
    many = ",".join(["0-"] * 50)
    r = client.get(url, headers={**alice, "Range": f"bytes={many}"})
    assert r.status_code == 200 and r.data == body
    r = client.get(url, headers={**alice, "Range": "bytes=0-99999999999999999999"})
    assert r.status_code == 206 and r.data == body
    # If-Range with another validator: the whole file.
    r = client.get(url, headers={**alice, "Range": "bytes=0-1", "If-Range": '"old"'})
    assert r.status_code == 200 and r.data == body
    r = client.get(url, headers={**alice, "Range": "bytes=0-1", "If-Range": f'"{f["sha256"]}"'})
    assert r.status_code == 206


def test_head_sends_no_body(client: FlaskClient, alice: dict[str, str]) -> None:
    f = put(client, alice, "a.png", samples.png())
    r = client.head(f["links"]["content"], headers=alice)
    assert r.status_code == 200 and r.data == b""
    assert int(r.headers["Content-Length"]) == f["size"]


def test_share_links(client: FlaskClient, alice: dict[str, str]) -> None:
    f = put(client, alice, "a.png", samples.png())
    r = client.post(f"/api/v1/files/{f['id']}/links", headers=alice,
                    json={"expires_in": 60, "max_downloads": 2})  # fmt: skip
    assert r.status_code == 201
    url = r.json["url"]
    assert url.startswith("/s/") and r.json["expires_at"].endswith("Z")
    assert client.head(url).status_code == 200  # a look does not count
    assert client.get(url).data == samples.png()
    second = client.get(url)
    assert second.status_code == 200 and second.headers["Cache-Control"].startswith("private")
    third = client.get(url)
    assert third.status_code == 410 and third.json["error"]["code"] == "gone"
    forged = client.get("/s/" + "A" * 43)
    assert forged.status_code == 404 and forged.json["error"]["code"] == "not_found"


def test_share_link_expiry(make_app: MakeApp) -> None:
    clock = Clock()
    app = make_app(clock=clock)
    client = app.test_client()
    alice = add_user(app, "alice")
    f = put(client, alice, "a.png", samples.png())
    url = client.post(f"/api/v1/files/{f['id']}/links", headers=alice,
                      json={"expires_in": 60}).json["url"]  # fmt: skip
    assert client.get(url).status_code == 200
    clock.advance(61)
    r = client.get(url)
    assert r.status_code == 410


def test_bad_link_requests(client: FlaskClient, alice: dict[str, str]) -> None:
    f = put(client, alice, "a.png", samples.png())
    for body in ({}, {"expires_in": 0}, {"expires_in": "soon"}, {"expires_in": 60, "max_downloads": 0},
                 {"expires_in": True}):  # fmt: skip
        r = client.post(f"/api/v1/files/{f['id']}/links", headers=alice, json=body)
        assert r.status_code == 400, body


def test_public_urls(client: FlaskClient, alice: dict[str, str]) -> None:
    private = put(client, alice, "p.png", samples.png())
    assert client.get(f"/f/{private['id']}/p.png").status_code == 404
    public = put(client, alice, "q.png", samples.png(), "?visibility=public")
    r = client.get(public["links"]["public"])
    assert r.status_code == 200 and r.headers["Cache-Control"].startswith("public")
    assert client.get(f"/f/{public['id']}/../../etc/passwd").status_code in (200, 404)
    assert client.get("/f/../../etc/passwd").status_code == 404


def test_metrics_count_decisions(app: Flask, client: FlaskClient, alice: dict[str, str]) -> None:
    put(client, alice, "a.png", samples.png())
    client.put("/api/v1/files/b.png", data=b"", headers=alice)
    text = client.get("/metrics").data.decode()
    assert 'airlock_uploads_total{code="none",outcome="stored"} 1.0' in text
    assert 'airlock_uploads_total{code="empty_file",outcome="rejected"} 1.0' in text
    assert "airlock_bytes_in_total" in text
    assert "airlock_request_seconds_bucket" in text


def test_health_and_readiness(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json["checks"]["database"] == "ok" and r.json["checks"]["storage"] == "ok"
