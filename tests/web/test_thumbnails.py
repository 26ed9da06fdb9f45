"""Image thumbnails made at commit, stored beside the File, served with the safe headers; and
searching Files by name."""

from __future__ import annotations

import datetime as dt
import io

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from airlock import gc
from tests.support import samples
from tests.web.test_files_api import stored_objects


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def test_image_gets_a_small_webp_thumbnail(client: FlaskClient, alice: dict) -> None:
    r = client.put("/api/v1/files/photo.jpg", data=jpeg(1200, 600), headers=alice)
    assert r.status_code == 201
    url = r.json["links"]["thumbnail"]
    t = client.get(url, headers=alice)
    assert t.status_code == 200
    assert t.headers["Content-Type"] == "image/webp"
    assert t.headers["X-Content-Type-Options"] == "nosniff"
    assert t.headers["Content-Security-Policy"].startswith("sandbox")
    assert t.headers["Content-Disposition"].startswith("inline")
    assert t.headers["Cache-Control"].startswith("private")
    with Image.open(io.BytesIO(t.data)) as img:
        assert img.format == "WEBP" and img.size == (256, 128)
    again = client.get(url, headers={**alice, "If-None-Match": t.headers["ETag"]})
    assert again.status_code == 304
    assert t.headers["ETag"] != r.json["sha256"]


def test_thumbnails_follow_the_files_visibility(client: FlaskClient, alice: dict, bob: dict) -> None:
    r = client.put("/api/v1/files/a.png", data=samples.png(40, 30), headers=alice)
    url = r.json["links"]["thumbnail"]
    assert client.get(url, headers=bob).status_code == 404
    assert client.get(url).status_code == 401


def test_other_types_have_none(client: FlaskClient, alice: dict) -> None:
    r = client.put("/api/v1/files/doc.pdf", data=samples.pdf(), headers=alice)
    assert "thumbnail" not in r.json["links"]
    t = client.get(f"/api/v1/files/{r.json['id']}/thumbnail", headers=alice)
    assert t.status_code == 404 and t.json["error"]["code"] == "not_found"


def test_thumbnail_goes_with_the_file(app: Flask, client: FlaskClient, alice: dict) -> None:
    a = client.put("/api/v1/files/a.png", data=samples.png(20, 20), headers=alice).json
    b = client.put("/api/v1/files/b.png?expires_in=1", data=samples.png(20, 20),
                   headers=alice).json  # fmt: skip
    assert len(stored_objects(app)) == 4
    assert client.delete(f"/api/v1/files/{a['id']}", headers=alice).status_code == 204
    assert len(stored_objects(app)) == 2
    report = gc.collect(app.extensions["airlock"], dt.datetime.now(dt.UTC) + dt.timedelta(hours=2))
    assert report.expired_files == 1 and report.orphaned_objects == 0
    assert stored_objects(app) == [] and b["id"]


def test_gc_keeps_live_thumbnails(app: Flask, client: FlaskClient, alice: dict) -> None:
    client.put("/api/v1/files/a.png", data=samples.png(20, 20), headers=alice)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    assert gc.collect(app.extensions["airlock"], later).orphaned_objects == 0
    assert len(stored_objects(app)) == 2


def test_undecodable_image_is_stored_without_thumbnail(client: FlaskClient, alice: dict) -> None:
    # The PNG signature and header are right (so the type checks pass) but the data is not.
    broken = samples.png(10, 10)[:40] + b"\x00" * 30
    r = client.put("/api/v1/files/broken.png", data=broken, headers=alice)
    assert r.status_code == 201 and "thumbnail" not in r.json["links"]


def test_search_by_name(client: FlaskClient, alice: dict, bob: dict) -> None:
    for name in ("Holiday.txt", "holiday-2.txt", "work.txt", "100%_done.txt"):
        client.put(f"/api/v1/files/{name}", data=b"some notes\n", headers=alice)
    client.put("/api/v1/files/holiday-bob.txt", data=b"some notes\n", headers=bob)

    def names(query: str, **params: str) -> list[str]:
        r = client.get("/api/v1/files", query_string={"q": query, **params}, headers=alice)
        assert r.status_code == 200
        return [f["name"] for f in r.json["files"]]

    assert names("HOLIDAY") == ["holiday-2.txt", "Holiday.txt"]
    assert names("%") == ["100%_done.txt"]  # LIKE wildcards are literal
    assert names("_") == ["100%_done.txt"]
    assert names("nothing") == []
    assert len(names("")) == 4
    first = client.get("/api/v1/files?q=holiday&limit=1", headers=alice).json
    assert [f["name"] for f in first["files"]] == ["holiday-2.txt"]
    rest = client.get(f"/api/v1/files?q=holiday&limit=1&cursor={first['next_cursor']}",
                      headers=alice).json  # fmt: skip
    assert [f["name"] for f in rest["files"]] == ["Holiday.txt"] and rest["next_cursor"] is None
    assert client.get("/api/v1/files?q=" + "x" * 300, headers=alice).status_code == 400
