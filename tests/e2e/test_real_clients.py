"""Bodies as real clients send them: curl's multipart and uploads from stdin (chunked), and a
browser-style multipart body with an empty file input and text fields."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import requests

from tests.support import samples
from tests.support.server import LiveServer

# On local storage and on S3 storage (tests/e2e/conftest.py).
BACKENDS = ("local", "s3")


def curl(*args: str) -> tuple[int, dict]:
    out = subprocess.run(
        ["curl", "-sS", "-w", "\n%{http_code}", *args], capture_output=True, timeout=60, check=True
    ).stdout.decode()
    body, _, status = out.rpartition("\n")
    return int(status), json.loads(body)


def test_curl_multipart_and_stdin(server: LiveServer, tmp_path: Path) -> None:
    png, pdf = tmp_path / "фото.png", tmp_path / "doc.pdf"
    png.write_bytes(samples.png())
    pdf.write_bytes(samples.pdf())
    auth = f"Authorization: Bearer {server.tokens['alice']}"
    status, body = curl("-H", auth, "-F", f"file=@{png}", "-F", f"file=@{pdf};type=text/html",
                        "-F", "visibility=public", server.url + "/api/v1/files")  # fmt: skip
    assert status == 201, body
    assert [f["name"] for f in body["files"]] == ["фото.png", "doc.pdf"]
    assert [f["content_type"] for f in body["files"]] == ["image/png", "application/pdf"]
    # -T - reads stdin and sends it chunked, without Content-Length.
    proc = subprocess.run(
        ["curl", "-sS", "-w", "\n%{http_code}", "-H", auth, "-T", "-",
         server.url + "/api/v1/files/piped.txt"],
        input=b"piped through curl\n" * 1000, capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    text, _, code = proc.stdout.decode().rpartition("\n")
    assert code == "201", text
    assert json.loads(text)["size"] == 19 * 1000


def test_browser_style_body(server: LiveServer) -> None:
    boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
    parts = [
        (b'Content-Disposition: form-data; name="visibility"', b"private"),
        (b'Content-Disposition: form-data; name="file"; filename=""\r\n'
         b"Content-Type: application/octet-stream", b""),
        (b'Content-Disposition: form-data; name="file"; filename="pic.png"\r\n'
         b"Content-Type: image/png", samples.png()),
    ]  # fmt: skip
    body = b"".join(
        b"--" + boundary.encode() + b"\r\n" + head + b"\r\n\r\n" + data + b"\r\n"
        for head, data in parts
    ) + b"--" + boundary.encode() + b"--\r\n"
    r = requests.post(
        server.url + "/api/v1/files", data=body, timeout=10,
        headers={**server.auth("bob"), "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert [f["name"] for f in r.json()["files"]] == ["pic.png"]
    assert r.json()["rejected"] == []
