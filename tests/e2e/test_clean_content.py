"""Image re-encoding (``AIRLOCK_IMAGE_REENCODE``) and PDFs with active content accepted as
attachments only (``AIRLOCK_PDF_ACTIVE_CONTENT=attachment``), against ``airlock serve``: what is
stored is the clean rewrite (size and SHA-256 describe it), nothing of the original is left, and
an attachment-only File is never shown inline on any route."""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterator

import pytest
import requests
from PIL import Image, PngImagePlugin

from tests.e2e.conftest import Backend, serving
from tests.support.bodies import Leftovers, assert_alive, expect_error
from tests.support.server import LiveServer

# Every test runs on local storage and on S3 storage (tests/e2e/conftest.py).
BACKENDS = ("local", "s3")

API = "/api/v1/files"
TUS = {"Tus-Resumable": "1.0.0"}
POLYGLOT_TAIL = b"<script>alert('appended after the image')</script>"
SECRET = "secret-comment-55"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Iterator[LiveServer]:
    env = {
        "AIRLOCK_IMAGE_REENCODE": "true",
        "AIRLOCK_PDF_ACTIVE_CONTENT": "attachment",
        "AIRLOCK_ALLOWED_TYPES": "png,jpg,jpeg,gif,webp,bmp,tif,tiff,pdf,txt",
    }
    yield from serving(tmp_path_factory, backend, "clean", env)


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Iterator[LiveServer]:
    """The defaults: no re-encoding, PDFs with active content refused."""
    yield from serving(tmp_path_factory, backend, "strict")


def _gps_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "SpyCam Maker"
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 1.0)}
    return exif


def _image(fmt: str, size: tuple[int, int] = (40, 30), **options: object) -> bytes:
    img = Image.new("RGB", size, (200, 40, 40))
    img.putpixel((0, 0), (0, 0, 255))  # a marker corner, to see the image turned
    out = io.BytesIO()
    img.save(out, fmt, **options)
    return out.getvalue()


def put(server: LiveServer, name: str, data: bytes) -> requests.Response:
    return requests.put(f"{server.url}{API}/{name}", data=data, headers=server.auth("alice"),
                        timeout=30)  # fmt: skip


def content(server: LiveServer, file: dict, who: str = "alice") -> requests.Response:
    r = requests.get(server.url + file["links"]["content"], headers=server.auth(who), timeout=30)
    assert r.status_code == 200, r.text
    return r


def assert_clean_copy(server: LiveServer, file: dict, original: bytes) -> bytes:
    """The File describes the bytes it serves, and those are not the original's."""
    data = content(server, file).content
    assert data != original
    assert file["size"] == len(data)
    assert file["sha256"] == hashlib.sha256(data).hexdigest()
    assert POLYGLOT_TAIL not in data
    assert b"SpyCam" not in data and SECRET.encode() not in data
    return data


CASES = {
    "photo.jpg": lambda: _image("JPEG", exif=_gps_exif(), comment=SECRET.encode()),
    "shot.png": lambda: _image("PNG", exif=_gps_exif(), pnginfo=_png_text()),
    "pic.webp": lambda: _image("WEBP", exif=_gps_exif(), xmp=SECRET.encode()),
    "old.gif": lambda: _image("GIF", comment=SECRET.encode()),
    "scan.tiff": lambda: _image("TIFF", tiffinfo={0x010F: "SpyCam Maker"}),
    "paint.bmp": lambda: _image("BMP"),
}


def _png_text() -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SECRET)
    info.add_itxt("Location", SECRET, zip=True)
    return info


@pytest.mark.parametrize("name", sorted(CASES))
def test_metadata_and_appended_bytes_are_gone(server: LiveServer, name: str) -> None:
    original = CASES[name]() + POLYGLOT_TAIL
    assert b"SpyCam" in original or SECRET.encode() in original or name.endswith(".bmp")
    r = put(server, name, original)
    assert r.status_code == 201, r.text
    data = assert_clean_copy(server, r.json(), original)
    clean = Image.open(io.BytesIO(data))
    assert clean.size == (40, 30)
    assert 0x8825 not in clean.getexif() and 0x010F not in clean.getexif()
    assert clean.convert("RGB").getpixel((20, 15))[0] > 150  # still the same picture


def test_a_turned_photo_is_stored_upright(server: LiveServer) -> None:
    """EXIF orientation 6 (turn 90° clockwise to view): the pixels are turned, the tag goes."""
    original = _image("JPEG", exif=_gps_exif(orientation=6))
    r = put(server, "turned.jpg", original)
    assert r.status_code == 201, r.text
    clean = Image.open(io.BytesIO(assert_clean_copy(server, r.json(), original)))
    assert clean.size == (30, 40)
    assert clean.getexif().get(0x0112, 1) == 1


def test_an_icc_profile_and_an_animation_survive(server: LiveServer) -> None:
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    r = put(server, "colour.png", _image("PNG", icc_profile=icc, exif=_gps_exif()))
    assert r.status_code == 201, r.text
    assert Image.open(io.BytesIO(content(server, r.json()).content)).info["icc_profile"] == icc

    frames = [Image.new("RGB", (16, 16), (i * 80, 0, 0)) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=120, loop=0,
                   comment=SECRET.encode())  # fmt: skip
    r = put(server, "anim.gif", out.getvalue() + POLYGLOT_TAIL)
    assert r.status_code == 201, r.text
    clean = Image.open(io.BytesIO(assert_clean_copy(server, r.json(), out.getvalue())))
    assert clean.n_frames == 3 and clean.info["duration"] == 120 and clean.info["loop"] == 0


def test_the_thumbnail_is_made_from_the_clean_image(server: LiveServer) -> None:
    r = put(server, "thumbed.png", _image("PNG", size=(600, 400), exif=_gps_exif()))
    assert r.status_code == 201, r.text
    thumb = requests.get(server.url + r.json()["links"]["thumbnail"],
                         headers=server.auth("alice"), timeout=30)  # fmt: skip
    assert thumb.status_code == 200 and b"SpyCam" not in thumb.content


def test_a_tus_upload_is_reencoded_too(server: LiveServer) -> None:
    original = _image("JPEG", exif=_gps_exif()) + POLYGLOT_TAIL
    headers = {**TUS, **server.auth("alice")}
    meta = "filename " + base64.b64encode(b"tus-photo.jpg").decode()
    created = requests.post(server.url + "/api/v1/tus/", data=original, timeout=30, headers={
        **headers, "Upload-Length": str(len(original)), "Upload-Metadata": meta,
        "Content-Type": "application/offset+octet-stream"})  # fmt: skip
    assert created.status_code == 201, created.text
    file_id = created.headers["Upload-File-Id"]
    file = requests.get(f"{server.url}{API}/{file_id}", headers=headers, timeout=10).json()
    assert_clean_copy(server, file, original)


def test_an_image_that_cannot_be_decoded_is_refused_and_nothing_stays(
    server: LiveServer,
) -> None:
    """It passes detection (the header is a PNG's) but has no pixels: with re-encoding on,
    nothing is stored that was not rewritten."""
    whole = _image("PNG", size=(300, 300))
    broken = whole[: len(whole) // 2]
    before = Leftovers.take(server)
    r = put(server, "broken.png", broken)
    expect_error(r, 422, "unsafe_content")
    before.assert_clean()
    assert_alive(server)


def test_other_types_are_stored_byte_for_byte(server: LiveServer) -> None:
    text = b"not an image: kept exactly as sent\n"
    r = put(server, "notes.txt", text)
    assert r.status_code == 201, r.text
    assert content(server, r.json()).content == text


# PDFs with active content ---------------------------------------------------------------------


def _active_pdf() -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 3 0 R >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
        b"<< /S /JavaScript /JS (app.alert('hi')) >>",
    ]
    body = b"%PDF-1.7\n"
    for i, obj in enumerate(objects, 1):
        body += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    return body + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"


def test_active_pdf_is_refused_by_default(strict: LiveServer) -> None:
    before = Leftovers.take(strict)
    r = put(strict, "script.pdf", _active_pdf())
    expect_error(r, 422, "unsafe_content")
    before.assert_clean()


def test_active_pdf_is_accepted_as_an_attachment_only(server: LiveServer) -> None:
    data = _active_pdf()
    r = put(server, "script.pdf", data)
    assert r.status_code == 201, r.text
    file = r.json()
    assert file["attachment_only"] is True and file["sha256"] == hashlib.sha256(data).hexdigest()
    served = content(server, file)
    assert served.content == data
    assert served.headers["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in served.headers["Content-Security-Policy"]

    vis = requests.patch(f"{server.url}{API}/{file['id']}", json={"visibility": "public"},
                         headers=server.auth("alice"), timeout=10)  # fmt: skip
    assert vis.status_code == 200, vis.text
    public = requests.get(server.url + vis.json()["links"]["public"], timeout=10)
    assert public.status_code == 200
    assert public.headers["Content-Disposition"].startswith("attachment;")

    link = requests.post(f"{server.url}{API}/{file['id']}/links", json={"expires_in": 600},
                         headers=server.auth("alice"), timeout=10)  # fmt: skip
    assert link.status_code == 201, link.text
    shared = requests.get(server.url + link.json()["url"], timeout=10)
    assert shared.status_code == 200
    if shared.headers["Content-Type"].startswith("text/html"):  # the share page: no preview
        assert "<iframe" not in shared.text and "<embed" not in shared.text
    else:
        assert shared.headers["Content-Disposition"].startswith("attachment;")


def test_a_passive_pdf_is_still_shown_inline(server: LiveServer) -> None:
    from tests.support.bodies import pdf

    r = put(server, "plain.pdf", pdf())
    assert r.status_code == 201, r.text
    assert r.json()["attachment_only"] is False
    assert content(server, r.json()).headers["Content-Disposition"].startswith("inline;")


def test_strict_server_stores_images_byte_for_byte(strict: LiveServer) -> None:
    original = _image("PNG", exif=_gps_exif())
    r = put(strict, "as-is.png", original)
    assert r.status_code == 201, r.text
    assert content(strict, r.json()).content == original
