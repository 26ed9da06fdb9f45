"""PDF active content and a PNG bomb through the API: ``422 unsafe_content``, nothing stored."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import add_user
from tests.core.test_deep_content import _PAGES, _pdf, _png, _zeros
from tests.web.test_files_api import stored_objects, upload


def test_each_is_unsafe_content_and_nothing_stays(app: Flask, client: FlaskClient) -> None:
    headers = add_user(app, "deep")
    cases = {
        "open-action.pdf": _pdf(b"<< /Type /Catalog /OpenAction 3 0 R >>", _PAGES, b"<< >>"),
        "bomb.png": _png(10, 10, _zeros(64 * 2**20)),
    }
    for name, body in cases.items():
        r = upload(client, headers, (name, body))
        assert r.status_code == 422, (name, r.get_json())
        assert r.get_json()["error"]["code"] == "unsafe_content", name
    assert stored_objects(app) == []
