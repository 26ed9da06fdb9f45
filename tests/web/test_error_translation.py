"""The one translator: a Werkzeug HTTP error that API.md has no code for keeps its status and
answers ``bad_request`` in the JSON envelope (a 4xx is the client's, never ``internal_error``)."""

from __future__ import annotations

import pytest
from flask import Blueprint, Flask
from werkzeug import exceptions

from airlock.web.errors import translate_within
from tests.conftest import MakeApp


@pytest.mark.parametrize("error", [exceptions.RequestURITooLarge,
                                   exceptions.RequestHeaderFieldsTooLarge,
                                   exceptions.RequestedRangeNotSatisfiable,
                                   exceptions.ImATeapot])  # fmt: skip
def test_unmapped_client_errors_keep_their_status(make_app: MakeApp,
                                                  error: type[exceptions.HTTPException]) -> None:
    app: Flask = make_app()
    blueprint = translate_within(Blueprint("raising_for_test", __name__))

    @blueprint.get("/raise-for-test")
    def raising() -> None:
        raise error()

    app.register_blueprint(blueprint, url_prefix="/api/v1")

    r = app.test_client().get("/api/v1/raise-for-test")
    assert r.status_code == error.code
    assert r.json == {"error": {"code": "bad_request", "message": "The request is malformed.",
                                "details": {}}}  # fmt: skip
    assert r.headers["X-Content-Type-Options"] == "nosniff"
