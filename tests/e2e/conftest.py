"""End-to-end fixtures: ``airlock serve`` as a subprocess on an ephemeral 127.0.0.1 port.

A module that sets ``BACKENDS = ("local", "s3")`` runs every test twice: against local storage,
and against S3 storage on the session's SeaweedFS, each with its own server (module scope)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import LiveServer


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        names = getattr(metafunc.module, "BACKENDS", ("local",))
        params = [pytest.param(n, marks=pytest.mark.s3) if n == "s3" else n for n in names]
        metafunc.parametrize("backend", params, indirect=True, scope="module")


@dataclass
class Backend:
    """Where a test server stores: its settings, and what its bucket holds (S3 only). Each
    data dir (each database) gets a bucket of its own, the module's first one ``bucket``: a
    store belongs to one Airlock database, whose gc removes what no row of it refers to."""

    name: str
    env: dict[str, str] = field(default_factory=dict)
    s3: Any = None
    bucket: str = ""
    buckets: dict[Path, str] = field(default_factory=dict)  # data dir -> its bucket

    def contents(self, bucket: str = "") -> set[str]:
        """Every object and unfinished multipart upload in the bucket."""
        client, bucket = self.s3.client(), bucket or self.bucket
        objects = client.list_objects_v2(Bucket=bucket).get("Contents", [])
        uploads = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        return {f"s3:{o['Key']}" for o in objects} | {f"mpu:{u['Key']}" for u in uploads}

    def sizes(self, bucket: str = "") -> dict[str, int]:
        """Every object in the bucket and its size."""
        pages = self.s3.client().get_paginator("list_objects_v2").paginate(
            Bucket=bucket or self.bucket)
        return {o["Key"]: int(o["Size"]) for page in pages for o in page.get("Contents", [])}

    def server(self, data_dir: Path, env: dict[str, str] | None = None,
               **kwargs: Any) -> LiveServer:  # fmt: skip
        """A started ``airlock serve`` on this backend (on the bucket of ``data_dir``)."""
        own = dict(self.env)
        bucket = ""
        if self.s3 is not None:
            bucket = self.buckets.get(data_dir, "")
            if not bucket:
                fresh = bool(self.buckets)  # the module's bucket is taken: a new one
                bucket = self.s3.create_bucket("e2e-" + secrets.token_hex(6)) if fresh else (
                    self.bucket)
                self.buckets[data_dir] = bucket
            own.update(self.s3.env(bucket))
        live = LiveServer(data_dir, env={**own, **(env or {})}, **kwargs)
        if self.s3 is not None:
            live.bucket_contents = lambda: self.contents(bucket)
            live.bucket_sizes = lambda: self.sizes(bucket)
        return live.start()


@pytest.fixture(scope="module")
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "s3":
        s3 = request.getfixturevalue("s3_server")
        bucket = s3.create_bucket("e2e-" + secrets.token_hex(6))
        return Backend("s3", dict(s3.env(bucket)), s3, bucket)
    return Backend("local")


def serving(tmp_path_factory: pytest.TempPathFactory, backend: Backend, name: str,
            env: dict[str, str] | None = None) -> Iterator[LiveServer]:  # fmt: skip
    """For a module fixture: a server with these settings and users ``alice`` (admin) and
    ``bob``, stopped at the end."""
    live = backend.server(tmp_path_factory.mktemp(name) / "data", env=env)
    try:
        live.add_user("alice", admin=True)
        live.add_user("bob")
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Iterator[LiveServer]:
    """A running server with users ``alice`` (admin) and ``bob``; tokens in ``server.tokens``."""
    yield from serving(tmp_path_factory, backend, "live")
