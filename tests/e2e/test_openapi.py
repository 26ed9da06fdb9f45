"""The served OpenAPI document: valid OpenAPI 3.1, complete against the app's real routes, and
accurate against the live server (a bounded schemathesis run)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import OpenAPIV31SpecValidator
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from airlock import create_app
from airlock.config import Settings
from airlock.errors import Unavailable, all_error_classes
from airlock.web.openapi import openapi_document
from tests.support.server import LiveServer

# The schemathesis runs go against local storage and S3 storage (direct uploads are S3's).
BACKENDS = ("local", "s3")

# tus bodies are raw bytes under their own media type; send them as application/octet-stream is.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")

OPENAPI_PATH = "/api/v1/openapi.json"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
# Prefixes of the routes the document must describe (Flask's own /static is not ours).
DOCUMENTED_PREFIXES = ("/api/v1/", "/s/", "/f/", "/d/", "/healthz", "/readyz", "/metrics")


@pytest.fixture(scope="module")
def document(server: LiveServer) -> dict[str, Any]:
    response = requests.get(server.url + OPENAPI_PATH, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    doc: dict[str, Any] = response.json()
    return doc


def _shape(path: str) -> str:
    """A path with its parameters blanked: ``/f/<file_id>/<path:name>`` and ``/f/{id}/{name}``
    are both ``/f/{}/{}``."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


def _real_operations(tmp_path: Path) -> set[tuple[str, str]]:
    """(path shape, method) of every route of the real app that the document must describe;
    HEAD and OPTIONS, which Flask adds to every route, are compared separately."""
    app = create_app(Settings.load({}, data_dir=tmp_path / "data"))
    found = set()
    for rule in app.url_map.iter_rules():
        # Static files (the upload widget's assets under the API prefix) and pages (the drop
        # page at /d/TOKEN) are no API operation.
        if (not rule.rule.startswith(DOCUMENTED_PREFIXES) or rule.endpoint.endswith(".static")
                or rule.endpoint.startswith("airlock_ui.")):
            continue
        for method in rule.methods or ():
            if method not in ("HEAD", "OPTIONS"):
                found.add((_shape(rule.rule), method.lower()))
    return found


def _documented_operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (_shape(path), method)
        for path, item in doc["paths"].items()
        for method in item
        if method in METHODS
    }


def _resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_served_document_is_valid_openapi_31(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    OpenAPIV31SpecValidator(document).validate()
    assert document == json.loads(json.dumps(openapi_document()))


def test_document_describes_every_real_route(document: dict[str, Any], tmp_path: Path) -> None:
    real = _real_operations(tmp_path)
    documented = _documented_operations(document)
    assert real, "no routes found: the prefixes above are out of date"
    missing = sorted(real - (documented - {(p, "head") for p, _ in documented}))
    assert not missing, f"routes the document does not describe: {missing}"
    # …and nothing that is not a route (HEAD is only documented where GET is real, OPTIONS
    # where the path is).
    real_paths = {path for path, _ in real}
    phantom = sorted(
        (path, method)
        for path, method in documented
        if (method == "options" and path not in real_paths)
        or (method != "options" and (path, "get" if method == "head" else method) not in real)
    )
    assert not phantom, f"documented operations the app does not have: {phantom}"
    for path in document["paths"]:
        if not path.startswith(("/healthz", "/readyz", "/metrics", "/s/", "/f/", "/d/")):
            assert path.startswith("/api/v1/"), path


def test_every_error_response_is_the_envelope(document: dict[str, Any]) -> None:
    codes = {cls.code for cls in all_error_classes()}
    by_status = {}
    for cls in all_error_classes():
        by_status.setdefault(cls.status, set()).add(cls.code)
    by_status[503].add(Unavailable.code)  # a backend's passing outage: 503 internal_error
    assert set(_resolve(document, {"$ref": "#/components/schemas/ErrorCode"})["enum"]) == codes
    checked = 0
    for path, item in document["paths"].items():
        if not path.startswith(("/api/v1/", "/s/", "/f/")):
            continue  # /readyz's 503 is its readiness report
        for method, op in item.items():
            if method not in METHODS:
                continue
            assert op["responses"], (path, method)
            for status, response in op["responses"].items():
                response = _resolve(document, response)
                if int(status) < 400 or method == "head" or int(status) == 416:
                    continue  # HEAD has no body; 416 has no API.md error code (no body)
                schema = _resolve(document, response["content"]["application/json"]["schema"])
                error = schema["properties"]["error"]
                assert schema["required"] == ["error"]
                assert error["required"] == ["code", "message", "details"]
                assert set(error["properties"]["code"]["enum"]) == by_status[int(status)], (
                    path, method, status,
                )  # fmt: skip
                checked += 1
    assert checked > 20


# A bounded schemathesis run against the live server ---------------------------------------------
#
# Loaded from the live server's URL and driven per operation with Hypothesis. (Not through
# ``schemathesis.pytest.from_fixture``: its lazy loader writes ``Item._nodeid``, which pytest 9.2
# no longer has, and fails with AttributeError.)

# Valid requests: the answers must be exactly what the document says, and operations that
# declare bearer auth must refuse requests without it.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    response_headers_conformance,
    ignored_auth,
]
# Invalid requests (wrong types, missing required parts…): never a server error.
NEGATIVE_CHECKS = [not_a_server_error]
EXAMPLES_PER_OPERATION = 20
NEGATIVE_EXAMPLES_PER_OPERATION = 10


def _operations() -> list[tuple[str, str]]:
    """(METHOD, path) of every documented operation, read from the same code that serves the
    document (the live one is checked to be identical)."""
    return [
        (method.upper(), path)
        for path, item in openapi_document()["paths"].items()
        for method in item
        if method in METHODS
    ]


def _with_inputs() -> list[tuple[str, str]]:
    """The operations that take parameters or a body, so that invalid requests exist."""
    return [
        (method.upper(), path)
        for path, item in openapi_document()["paths"].items()
        for method, op in item.items()
        if method in METHODS
        and (op.get("parameters") or item.get("parameters") or op.get("requestBody"))
    ]


OPERATIONS = _operations()
OPERATIONS_WITH_INPUTS = _with_inputs()


@pytest.fixture(scope="module")
def live_schema(server: LiveServer) -> Any:
    config = schemathesis.Config.from_dict({"base-url": server.url, "request-timeout": 10})
    return schemathesis.openapi.from_url(server.url + OPENAPI_PATH, config=config)


def _upload(server: LiveServer, visibility: str = "public") -> dict[str, Any]:
    r = requests.put(
        server.url + "/api/v1/files/probe.txt", params={"visibility": visibility},
        data=b"hello, schemathesis\n", headers=server.auth("alice"), timeout=10,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return dict(r.json())


def _real_target(
    server: LiveServer, method: str, path: str
) -> tuple[dict[str, str], dict[str, Any] | None] | None:
    """Path parameters naming something that exists (fresh for each test, as cases may change or
    delete it) and the File behind them, so that cases reach success answers and not only 404."""
    auth = server.auth("alice")
    if path.startswith("/api/v1/files/{id}") and method != "PUT":
        file = _upload(server, visibility="private")
        return {"id": file["id"]}, file
    if path == "/f/{id}/{name}":
        file = _upload(server)
        return {"id": file["id"], "name": file["name"]}, file
    if path == "/s/{token}":
        file = _upload(server, visibility="private")
        r = requests.post(
            server.url + file["links"]["self"] + "/links", json={"expires_in": 3600},
            headers=auth, timeout=10,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        return {"token": r.json()["url"].removeprefix("/s/")}, file
    if path == "/api/v1/uploads/{upload_id}/complete" and server.bucket_contents is not None:
        data = b"sent straight to the store\n"
        r = requests.post(server.url + "/api/v1/uploads/presign", json={"name": "direct.txt",
                          "size": len(data)}, headers=auth, timeout=10)  # fmt: skip
        assert r.status_code == 201, r.text
        presigned = r.json()
        sent = requests.post(presigned["url"], data=presigned["fields"],
                             files={"file": ("blob", data)}, timeout=10)  # fmt: skip
        assert sent.status_code in (200, 201, 204), sent.text
        return {"upload_id": presigned["upload_id"]}, None
    if path == "/api/v1/tokens/{id}":
        r = requests.post(
            server.url + "/api/v1/tokens", json={"name": "throwaway"}, headers=auth, timeout=10
        )
        assert r.status_code == 201, r.text
        return {"id": r.json()["id"]}, None
    return None


BYTE_ROUTES = ("/api/v1/files/{id}/content", "/s/{token}", "/f/{id}/{name}")
# Random header values almost never make a valid range or a matching ETag; these do.
RANGES = ["bytes=0-4", "bytes=5-", "bytes=-3", "bytes=0-999", "bytes=999-", "bytes=3-1"]


def _strategy(
    operation: Any, server: LiveServer, method: str, path: str, mode: GenerationMode
) -> st.SearchStrategy[Any]:
    strategies = [operation.as_strategy(mode)]
    target = _real_target(server, method, path)
    if target is not None:
        params, file = target
        strategies.append(operation.as_strategy(mode, path_parameters=params))
        if file is not None and path in BYTE_ROUTES and mode is GenerationMode.POSITIVE:
            etag = f'"{file["sha256"]}"'
            conditional = [{"Range": r} for r in RANGES] + [{"If-None-Match": etag}]
            strategies.append(
                st.sampled_from(conditional).flatmap(
                    lambda extra: operation.as_strategy(
                        mode, headers=extra, path_parameters=params
                    )
                )
            )
    return st.one_of(strategies)


def _run(
    strategy: st.SearchStrategy[Any], examples: int, checks: list[Any], auth: dict[str, str]
) -> None:
    @settings(
        max_examples=examples,
        phases=[Phase.explicit, Phase.generate],
        deadline=None,
        database=None,
    )
    @given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        # Sent with the call (not generated), so `ignored_auth` knows them for valid credentials
        # and probes the operation without them and with made-up ones.
        case.call_and_validate(headers=auth, checks=checks)

    run()


@pytest.mark.parametrize(
    ("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS]
)
def test_live_server_conforms_to_the_document(
    live_schema: Any, server: LiveServer, method: str, path: str
) -> None:
    operation = live_schema[path][method]
    strategy = _strategy(operation, server, method, path, GenerationMode.POSITIVE)
    _run(strategy, EXAMPLES_PER_OPERATION, CHECKS, server.auth("alice"))


@pytest.mark.parametrize(
    ("method", "path"), OPERATIONS_WITH_INPUTS, ids=[f"{m} {p}" for m, p in OPERATIONS_WITH_INPUTS]
)
def test_live_server_survives_invalid_requests(
    live_schema: Any, server: LiveServer, method: str, path: str
) -> None:
    operation = live_schema[path][method]
    strategy = _strategy(operation, server, method, path, GenerationMode.NEGATIVE)
    _run(strategy, NEGATIVE_EXAMPLES_PER_OPERATION, NEGATIVE_CHECKS, server.auth("alice"))

