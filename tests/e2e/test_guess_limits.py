"""Limits on guessing hold under concurrency, on the production server with several workers,
on SQLite and on PostgreSQL: of 40 wrong passwords sent at once, no more than the limit are
checked (the rest answer 429), because each attempt is counted before its password is; and a
right password does not count against the client's address."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.conftest import reset_pg
from tests.support.server import LiveServer

LIMIT = 10


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    env = {"AIRLOCK_LOGIN_ATTEMPTS": str(LIMIT)}
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        reset_pg(url)
        env["AIRLOCK_DATABASE_URL"] = url
    server = LiveServer(tmp_path / "data", env=env, workers=2).start()
    try:
        yield server
    finally:
        server.stop()


def at_once(count: int, send: object) -> list[int]:
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(send, range(count)))  # type: ignore[arg-type]


def test_parallel_wrong_sign_ins_are_counted_before_they_are_checked(live: LiveServer) -> None:
    live.add_user("target")

    def wrong(i: int) -> int:
        r = requests.post(live.url + "/api/v1/session", timeout=60,
                          json={"username": "target", "password": f"guess {i}"})  # fmt: skip
        return r.status_code

    statuses = at_once(40, wrong)
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= LIMIT, f"{statuses.count(401)} passwords were checked"
    assert statuses.count(429) >= 40 - LIMIT


def test_parallel_wrong_link_passwords_are_counted_before_they_are_checked(
    live: LiveServer,
) -> None:
    auth = {"Authorization": f"Bearer {live.add_user('owner')}"}
    r = requests.put(live.url + "/api/v1/files/a.txt", data=b"guarded\n", headers=auth, timeout=10)
    assert r.status_code == 201, r.text
    link = requests.post(f"{live.url}/api/v1/files/{r.json()['id']}/links", headers=auth,
                         json={"expires_in": 600, "password": "the right one"},
                         timeout=10).json()  # fmt: skip

    def wrong(i: int) -> int:
        basic = base64.b64encode(f":guess {i}".encode()).decode()
        return requests.get(live.url + link["url"], timeout=60,
                            headers={"Authorization": f"Basic {basic}"}).status_code  # fmt: skip

    statuses = at_once(40, wrong)
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= LIMIT, f"{statuses.count(401)} passwords were checked"


def test_right_passwords_never_use_up_an_address(live: LiveServer) -> None:
    """Behind a proxy every client has one address: many right sign-ins from it (more than
    the address's allowance of five times the limit) still all succeed."""
    live.add_user("regular")
    for _ in range(LIMIT * 5 + 5):
        r = requests.post(live.url + "/api/v1/session", timeout=30,
                          json={"username": "regular", "password": "correct horse battery"})  # fmt: skip
        assert r.status_code == 200, r.text
