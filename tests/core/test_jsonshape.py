"""One declaration per JSON body: what ``Shape.parse`` accepts is what its schema allows.

Each request shape of the API is checked both ways on the same values: ``parse`` and a JSON
Schema validator (``jsonschema``, on the shape's own ``schema()``) must agree, and ``parse``
answers a ``BadRequest`` that names the field."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jsonschema
import pytest

from airlock import shapes
from airlock.core.jsonshape import (
    Choice,
    Flag,
    Maybe,
    Shape,
    Stamp,
    Text,
    Whole,
    components,
    optional,
    required,
)
from airlock.errors import BadRequest
from airlock.web.openapi import openapi_document

SAMPLE = Shape(
    {
        "name": required(Text(min_length=1, max_length=8, not_blank=True)),
        "count": optional(Maybe(Whole(minimum=1, maximum=5))),
        "flag": optional(Flag()),
        "kind": optional(Choice(("a", "b"))),
        "when": optional(Stamp()),
    },
)
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER
CLOSED = Shape({"a": optional(Flag()), "b": optional(Flag())}, closed=True, min_properties=1)


def _schema_allows(shape: Shape, value: Any) -> bool:
    # The references point into the document's components, as they do in the document.
    schema = {**shape.schema(), "components": {"schemas": components(shapes.COMPONENTS)}}
    validator = jsonschema.Draft202012Validator(schema, format_checker=FORMATS)
    try:
        validator.validate(value)
    except jsonschema.ValidationError:
        return False
    return True


def _parse_allows(shape: Shape, value: Any) -> bool:
    try:
        shape.parse(value)
    except BadRequest:
        return False
    return True


CASES: list[tuple[Shape, dict[str, Any]]] = [
    (SAMPLE, {"name": "x"}),
    (SAMPLE, {"name": "x", "count": None, "flag": False, "kind": "b"}),
    (SAMPLE, {"name": "x", "when": "2027-01-02T03:04:05Z"}),
    (SAMPLE, {"name": "x", "other": 1}),  # open: others ignored
    (SAMPLE, {}),
    (SAMPLE, {"name": ""}),
    (SAMPLE, {"name": "   "}),
    (SAMPLE, {"name": "toolongname"}),
    (SAMPLE, {"name": 3}),
    (SAMPLE, {"name": "x", "count": 0}),
    (SAMPLE, {"name": "x", "count": 6}),
    (SAMPLE, {"name": "x", "count": True}),
    (SAMPLE, {"name": "x", "count": 2.5}),
    (SAMPLE, {"name": "x", "flag": 1}),
    (SAMPLE, {"name": "x", "kind": "c"}),
    (SAMPLE, {"name": "x", "when": "yesterday"}),
    (CLOSED, {"a": True}),
    (CLOSED, {}),
    (CLOSED, {"a": True, "c": 1}),
    (shapes.FILE_UPDATE, {"visibility": "public"}),
    (shapes.FILE_UPDATE, {"visibility": "secret"}),
    (shapes.FILE_UPDATE, {"expires_at": None}),
    (shapes.FILE_UPDATE, {"name": "a.txt", "size": 1}),
    (shapes.LINK_REQUEST, {"expires_in": 60, "max_downloads": None}),
    (shapes.LINK_REQUEST, {"expires_in": 0}),
    (shapes.LINK_REQUEST, {"expires_in": 60, "max_downloads": 10**9 + 1}),
    (shapes.NEW_USER, {"username": "alice", "password": "12345678"}),
    (shapes.NEW_USER, {"username": "-alice", "password": "12345678"}),
    (shapes.NEW_USER, {"username": "alice", "password": "short"}),
    (shapes.USER_UPDATE, {"quota_bytes": None}),
    (shapes.USER_UPDATE, {"quota_bytes": 0}),
    (shapes.USER_UPDATE, {"disabled": "yes"}),
    (shapes.TOKEN_REQUEST, {"name": "ci"}),
    (shapes.TOKEN_REQUEST, {"name": "x" * 256}),
    (shapes.PRESIGN_REQUEST, {"name": "a.png", "size": 0}),
    (shapes.PRESIGN_REQUEST, {"name": "a.png", "size": -1}),
    (shapes.SIGN_IN, {"username": "a"}),
]


@pytest.mark.parametrize(("shape", "value"), CASES)
def test_parse_and_schema_agree(shape: Shape, value: dict[str, Any]) -> None:
    assert _parse_allows(shape, value) == _schema_allows(shape, value)


def test_a_bad_member_is_named() -> None:
    with pytest.raises(BadRequest) as caught:
        SAMPLE.parse({"name": "x", "count": 9})
    assert caught.value.details == {"field": "count"}
    assert caught.value.message == "count must be a whole number from 1 to 5, or null."


def test_a_closed_shape_names_what_it_does_not_know() -> None:
    with pytest.raises(BadRequest) as caught:
        shapes.FILE_UPDATE.parse({"owner": "mallory"})
    assert caught.value.details == {"unknown": ["owner"]}
    assert "name, visibility, expires_at" in caught.value.message


def test_values_come_back_converted() -> None:
    parsed = SAMPLE.parse({"name": "x", "when": "2027-01-02T04:04:05+01:00", "extra": 1})
    assert parsed == {"name": "x", "when": dt.datetime(2027, 1, 2, 3, 4, 5, tzinfo=dt.UTC)}


def test_text_with_a_lone_surrogate_never_fits() -> None:
    with pytest.raises(BadRequest, match="valid Unicode"):
        shapes.TOKEN_REQUEST.parse({"name": "a\ud800"})


def test_the_document_shows_the_declared_shapes() -> None:
    schemas = openapi_document()["components"]["schemas"]
    for name, kind in shapes.COMPONENTS.items():
        assert schemas[name] == kind.schema()
