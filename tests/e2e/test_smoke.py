"""The service starts under its production server and takes an upload end to end."""

from __future__ import annotations

import requests

from tests.support.server import LiveServer

# On local storage and on S3 storage (tests/e2e/conftest.py).
BACKENDS = ("local", "s3")


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


def test_metrics_are_summed_over_workers(server: LiveServer) -> None:
    def stored() -> float:
        text = requests.get(server.url + "/metrics", timeout=5).text
        for line in text.splitlines():
            if line.startswith('airlock_uploads_total{code="none",outcome="stored"}'):
                return float(line.split()[-1])
        return 0.0

    before = stored()
    for i in range(6):  # separate connections: both workers take some
        with requests.Session() as s:
            r = s.put(server.url + f"/api/v1/files/m{i}.txt", data=b"m\n",
                      headers=server.auth("bob"), timeout=10)  # fmt: skip
            assert r.status_code == 201
    assert stored() == before + 6
