"""The service starts under its production server and takes an upload end to end."""

from __future__ import annotations

import requests

from tests.support.server import LiveServer


def test_healthz_and_roundtrip(server: LiveServer) -> None:
    assert requests.get(server.url + "/healthz", timeout=5).json() == {"status": "ok"}
    body = b"hello from the smoke test\n"
    r = requests.put(
        server.url + "/api/v1/files/smoke.txt", data=body, headers=server.auth("alice"), timeout=10
    )
    assert r.status_code == 201, r.text
    file = r.json()
    assert r.headers["Location"].endswith(f"/api/v1/files/{file['id']}")
    got = requests.get(
        server.url + file["links"]["content"], headers=server.auth("alice"), timeout=10
    )
    assert got.status_code == 200
    assert got.content == body
    assert got.headers["X-Content-Type-Options"] == "nosniff"
