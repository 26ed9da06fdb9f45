"""Access control under attack: other users' Files, forged, expired and used-up share links,
traversal in download paths, missing or bad credentials."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import requests

from tests.support.bodies import Leftovers, assert_alive, expect_error, raw_request, text
from tests.support.server import LiveServer

# Every test runs on local storage and on S3 storage (tests/e2e/conftest.py).
BACKENDS = ("local", "s3")

API = "/api/v1/files"
SECRET = b"alice's private diary, not for bob\n"
PUBLIC = b"alice's public notice\n"


def upload(server: LiveServer, who: str, name: str, data: bytes, visibility: str) -> dict:
    r = requests.put(f"{server.url}{API}/{name}?visibility={visibility}", data=data,
                     headers=server.auth(who), timeout=10)  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def files(server: LiveServer) -> dict[str, dict]:
    return {
        "private": upload(server, "alice", "diary.txt", SECRET, "private"),
        "public": upload(server, "alice", "notice.txt", PUBLIC, "public"),
    }


def link(server: LiveServer, file: dict, **body: object) -> str:
    r = requests.post(server.url + file["links"]["self"] + "/links", json=body,
                      headers=server.auth("alice"), timeout=10)  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()["url"]  # type: ignore[no-any-return]


def still_there(server: LiveServer, file: dict, data: bytes) -> None:
    r = requests.get(server.url + file["links"]["content"], headers=server.auth("alice"),
                     timeout=10)  # fmt: skip
    assert r.status_code == 200 and r.content == data


# Other users' Files -----------------------------------------------------------------------------

OPS = [
    ("get", "GET", "", None),
    ("content", "GET", "/content", None),
    ("content-download", "GET", "/content?download=1", None),
    ("head-content", "HEAD", "/content", None),
    ("patch-name", "PATCH", "", {"name": "mine.txt"}),
    ("patch-visibility", "PATCH", "", {"visibility": "public"}),
    ("delete", "DELETE", "", None),
    ("links", "POST", "/links", {"expires_in": 60}),
]


@pytest.mark.parametrize("method,suffix,body", [o[1:] for o in OPS], ids=[o[0] for o in OPS])
def test_private_file_of_another_user_is_not_found(
    server: LiveServer, files: dict[str, dict], method: str, suffix: str, body: object
) -> None:
    file = files["private"]
    r = requests.request(method, server.url + file["links"]["self"] + suffix, json=body,
                         headers=server.auth("bob"), timeout=10)  # fmt: skip
    if method == "HEAD":
        assert r.status_code == 404 and not r.content
    else:
        expect_error(r, 404, "not_found")
        assert SECRET not in r.content
    still_there(server, file, SECRET)
    listed = requests.get(server.url + API, headers=server.auth("bob"), timeout=10).json()
    assert file["id"] not in {f["id"] for f in listed["files"]}


def test_private_404_is_indistinguishable_from_missing(
    server: LiveServer, files: dict[str, dict]
) -> None:
    """Bob cannot tell alice's private File from one that does not exist."""
    real = requests.get(server.url + files["private"]["links"]["self"],
                        headers=server.auth("bob"), timeout=10)  # fmt: skip
    fake_id = "A" * len(files["private"]["id"])
    fake = requests.get(f"{server.url}{API}/{fake_id}", headers=server.auth("bob"), timeout=10)
    assert (real.status_code, real.json()) == (fake.status_code, fake.json())


@pytest.mark.parametrize("method,body", [("DELETE", None), ("PATCH", {"name": "bob.txt"}),
                                         ("PATCH", {"visibility": "private"}),
                                         ("POST", {"expires_in": 60})],
                         ids=["delete", "rename", "hide", "link"])  # fmt: skip
def test_public_file_readable_but_not_changeable_by_others(
    server: LiveServer, files: dict[str, dict], method: str, body: object
) -> None:
    file = files["public"]
    read = requests.get(server.url + file["links"]["content"], headers=server.auth("bob"),
                        timeout=10)  # fmt: skip
    assert read.status_code == 200 and read.content == PUBLIC
    suffix = "/links" if method == "POST" else ""
    r = requests.request(method, server.url + file["links"]["self"] + suffix, json=body,
                         headers=server.auth("bob"), timeout=10)  # fmt: skip
    expect_error(r, 403, "forbidden")
    got = requests.get(server.url + file["links"]["self"], headers=server.auth("alice"),
                       timeout=10).json()  # fmt: skip
    assert (got["name"], got["visibility"]) == ("notice.txt", "public")
    still_there(server, file, PUBLIC)


def test_public_route_refuses_private_file(server: LiveServer, files: dict[str, dict]) -> None:
    for name in ("diary.txt", "x", "../diary.txt"):
        r = requests.get(f"{server.url}/f/{files['private']['id']}/{name}", timeout=10)
        expect_error(r, 404, "not_found")
        assert SECRET not in r.content


# Share links ------------------------------------------------------------------------------------

FORGED = ["A" * 43, "not-a-token", "%00", "..", "' OR 1=1 --", "x" * 200, "0"]


@pytest.mark.parametrize("token", FORGED, ids=range(len(FORGED)))
def test_forged_share_token(server: LiveServer, files: dict[str, dict], token: str) -> None:
    link(server, files["private"], expires_in=60)  # a real link exists too
    r = raw_request(server.url, "GET", "/s/" + quote(token, safe=""), {})
    expect_error(r, 404, "not_found")
    _no_leak(r)


def test_expired_share_link(server: LiveServer, files: dict[str, dict]) -> None:
    url = link(server, files["private"], expires_in=1)
    time.sleep(2.1)
    r = requests.get(server.url + url, timeout=10)
    expect_error(r, 410, "gone")
    assert SECRET not in r.content
    head = requests.head(server.url + url, timeout=10)
    assert head.status_code == 410


def test_expired_file_is_gone_everywhere(server: LiveServer) -> None:
    """A File uploaded with ``expires_in=1``: after it expired, no route serves its bytes, not
    even a share link made while it was alive."""
    r = requests.put(f"{server.url}{API}/ephemeral.txt?visibility=public&expires_in=1",
                     data=SECRET, headers=server.auth("alice"), timeout=10)  # fmt: skip
    assert r.status_code == 201, r.text
    file = r.json()
    url = link(server, file, expires_in=600)
    time.sleep(2.1)
    for path, headers in [(file["links"]["content"], server.auth("alice")),
                          (file["links"]["public"], {}), (url, {})]:  # fmt: skip
        got = requests.get(server.url + path, headers=headers, timeout=10)
        expect_error(got, 410, "gone")
        assert SECRET not in got.content


def test_used_up_share_link(server: LiveServer, files: dict[str, dict]) -> None:
    url = link(server, files["private"], expires_in=600, max_downloads=1)
    assert requests.head(server.url + url, timeout=10).status_code == 200  # HEAD does not count
    first = requests.get(server.url + url, timeout=10)
    assert first.status_code == 200 and first.content == SECRET
    second = requests.get(server.url + url, timeout=10)
    expect_error(second, 410, "gone")
    assert SECRET not in second.content
    ranged = requests.get(server.url + url, headers={"Range": "bytes=0-3"}, timeout=10)
    expect_error(ranged, 410, "gone")


def test_used_up_link_race(server: LiveServer, files: dict[str, dict]) -> None:
    """Twelve simultaneous downloads of a one-download link: exactly one gets the bytes."""
    url = link(server, files["private"], expires_in=600, max_downloads=1)

    def fetch(_: int) -> tuple[int, bytes]:
        r = requests.get(server.url + url, timeout=20)
        return r.status_code, r.content

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        results = list(pool.map(fetch, range(12)))
    assert sorted(s for s, _ in results) == [200] + [410] * 11
    assert [b for s, b in results if s == 200] == [SECRET]


@pytest.mark.parametrize("body", [{"expires_in": 0}, {"expires_in": -1},
                                  {"expires_in": "abc"}, {"expires_in": 10**20},
                                  {"expires_in": 60, "max_downloads": 0},
                                  {"expires_in": 60, "max_downloads": -1},
                                  {"expires_in": 60, "max_downloads": True},
                                  {"expires_in": 60, "max_downloads": "1"}],
                         ids=range(8))  # fmt: skip
def test_bad_link_parameters(server: LiveServer, files: dict[str, dict], body: dict) -> None:
    r = requests.post(server.url + files["private"]["links"]["self"] + "/links", json=body,
                      headers=server.auth("alice"), timeout=10)  # fmt: skip
    expect_error(r, 400, "bad_request")


# Traversal in download paths --------------------------------------------------------------------


def _no_leak(r: object, *extra: bytes) -> None:
    body = r.body if hasattr(r, "body") else r.content  # type: ignore[attr-defined]
    assert b"root:" not in body
    assert SECRET not in body
    for e in extra:
        assert e not in body


@pytest.mark.parametrize("path", [
    "/f/{pub}/../../etc/passwd",
    "/f/{pub}/..%2F..%2F..%2Fetc%2Fpasswd",
    "/f/{pub}/%2e%2e/%2e%2e/etc/passwd",
    "/f/{pub}/....//....//etc/passwd",
])  # fmt: skip
def test_traversal_after_public_id_serves_only_that_file(
    server: LiveServer, files: dict[str, dict], path: str
) -> None:
    """The name part of ``/f/ID/NAME`` is decoration: a traversal in it serves that public
    File's own bytes (or nothing), never anything else."""
    r = raw_request(server.url, "GET", path.format(pub=files["public"]["id"]), {})
    if r.status == 200:
        assert r.body == PUBLIC
    else:
        expect_error(r, 404, "not_found")
    _no_leak(r)


# What each traversal answers, and why. No answer depends on the caller: ``/f/`` and ``/s/``
# need no login and never look at one, and the router answers 404/405 before any view (and so
# before authentication) runs. gunicorn decodes ``%2F`` (and ``%2e``) once before routing, so
# those paths route as if the client had sent ``/`` and ``.``.
TRAVERSALS = [
    # /f/<file_id>/<path:name>: the first segment is the id, the rest is decoration; no such
    # public File (the private one is not served there either) is 404.
    ("/f/{prv}/../../etc/passwd", 404, "not_found"),
    ("/f/../../etc/passwd", 404, "not_found"),
    ("/f/..%2F..%2Fetc%2Fpasswd/x", 404, "not_found"),
    ("/f/%2e%2e/%2e%2e/etc/passwd", 404, "not_found"),
    ("/f/..%252F..%252Fetc%252Fpasswd/x", 404, "not_found"),  # id "..%2F..%2Fetc%2Fpasswd"
    # /s/<token> is one segment: with a slash in it no route matches (router 404)...
    ("/s/../api/v1/files", 404, "not_found"),
    ("/s/..%2Fapi%2Fv1%2Ffiles", 404, "not_found"),
    ("/s/%2E%2E/api/v1/files", 404, "not_found"),
    ("/s/..%2F..%2Fetc%2Fpasswd", 404, "not_found"),
    ("/s/%2e%2e%2f%2e%2e%2fetc%2fpasswd", 404, "not_found"),
    # ...and a backslash is no separator: a forged token, 404.
    ("/s/..%5C..%5Cetc%5Cpasswd", 404, "not_found"),
    # /api/v1/files/<id> is one segment too; the only route that takes a slash there is the
    # raw upload, PUT /api/v1/files/{filename} (any name; it is sanitized), so a GET is 405
    # with ``Allow: OPTIONS, PUT``, anonymous or not.
    ("/api/v1/files/..%2F..%2Fetc%2Fpasswd", 405, "method_not_allowed"),
    ("/api/v1/files/{prv}%2F..%2F..%2Fetc%2Fpasswd", 405, "method_not_allowed"),
    ("/api/v1/files/%2e%2e%2f{prv}/content", 405, "method_not_allowed"),
]


@pytest.mark.parametrize(("path", "status", "code"), TRAVERSALS, ids=range(len(TRAVERSALS)))
def test_traversal_in_download_paths(
    server: LiveServer, files: dict[str, dict], path: str, status: int, code: str
) -> None:
    before = Leftovers.take(server)
    target = path.format(prv=files["private"]["id"])
    for who in (None, "bob"):
        r = raw_request(server.url, "GET", target, server.auth(who) if who else {})
        assert (r.status, r.code) == (status, code), (target, who, r.status, r.body[:300])
        if status == 405:  # Werkzeug lists the methods in no fixed order
            allow = {m.strip() for m in (r.headers.get("Allow") or "").split(",")}
            assert allow == {"OPTIONS", "PUT"}, (target, r.headers.get("Allow"))
        _no_leak(r, PUBLIC[:10])
    before.assert_clean()


# Credentials ------------------------------------------------------------------------------------

AUTHS = [
    ("none", {}),
    ("bad-token", {"Authorization": "Bearer al_not-a-real-token"}),
    ("empty-bearer", {"Authorization": "Bearer "}),
    ("basic", {"Authorization": "Basic YWxpY2U6Y29ycmVjdCBob3JzZSBiYXR0ZXJ5"}),
    ("token-no-scheme", {"Authorization": "al_xxxxxxxxxxxxxxxxxxxxxxxxxxxx"}),
    ("huge-token", {"Authorization": "Bearer " + "a" * 4000}),
    ("cookie-forged", {"Cookie": "session=forged; airlock_session=forged"}),
]
ENDPOINTS = [
    ("GET", API), ("GET", API + "/{prv}"), ("GET", API + "/{prv}/content"),
    ("DELETE", API + "/{prv}"), ("PATCH", API + "/{prv}"), ("POST", API + "/{prv}/links"),
    ("PUT", API + "/x.txt"), ("GET", "/api/v1/me"), ("GET", "/api/v1/tokens"),
]  # fmt: skip


@pytest.mark.parametrize("headers", [a[1] for a in AUTHS], ids=[a[0] for a in AUTHS])
def test_unauthenticated(server: LiveServer, files: dict[str, dict],
                         headers: dict[str, str]) -> None:  # fmt: skip
    before = Leftovers.take(server)
    for method, path in ENDPOINTS:
        url = server.url + path.format(prv=files["private"]["id"])
        r = requests.request(method, url, headers=headers, data=text(50), timeout=10)
        expect_error(r, 401, "unauthorized")
        _no_leak(r)
    still_there(server, files["private"], SECRET)
    before.assert_clean()


def test_server_alive_after_access_attacks(server: LiveServer) -> None:
    assert_alive(server)


@pytest.fixture(autouse=True)
def _nothing_escaped(server: LiveServer) -> Iterator[None]:
    yield
    # No request above may have created anything under a traversed name.
    assert not (server.data_dir.parent / "etc").exists()
