"""JSON shapes declared once: a shape is both the check a request body gets and the JSON
Schema the OpenAPI document shows for it, so the two cannot drift apart.

A ``Shape`` is named fields, each of one kind (``Text``, ``Whole``, ``Flag``, ``Choice``,
``Stamp``, ``Maybe`` …). ``Shape.parse`` checks a decoded JSON object and answers its values
(timestamps as aware datetimes) or raises ``BadRequest`` naming the field; ``schema()`` of a
shape or a kind is its JSON Schema (2020-12, the dialect of OpenAPI 3.1). Kinds that only
describe responses (``Ref``, ``ListOf``, ``MapOf``, ``Const``, ``Anything``) have a schema and
no parser.
"""

from __future__ import annotations

import abc
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airlock.errors import BadRequest

Json = dict[str, Any]

# Has a character Python's str.strip() keeps (JSON Schema's \s lacks \x1c-\x1f and \x85).
NOT_BLANK = "[^\\s\\x1c-\\x1f\\x85]"


class Invalid(Exception):
    """A value does not fit its kind; ``phrase`` completes "<field> …" ("must be …")."""

    def __init__(self, phrase: str) -> None:
        super().__init__(phrase)
        self.phrase = phrase


class Kind(abc.ABC):
    """One kind of JSON value: its schema, and (for request kinds) its check."""

    @abc.abstractmethod
    def schema(self) -> Json:
        """Its JSON Schema."""

    def parse(self, value: Any) -> Any:
        """``value`` as the program uses it; ``Invalid`` when it does not fit."""
        raise TypeError(f"{type(self).__name__} describes responses only")


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Text(Kind):
    """A string: at least ``min_length`` and at most ``max_length`` characters, not blank if
    ``not_blank``, matching ``pattern`` (searched, as JSON Schema does) if given. Strings
    with lone surrogates (which JSON can carry and UTF-8 cannot) never fit."""

    min_length: int = 0
    max_length: int | None = None
    not_blank: bool = False
    pattern: str | None = None

    def __post_init__(self) -> None:
        if self.not_blank and self.pattern:
            raise ValueError("a schema has one pattern: use not_blank or pattern")

    def schema(self) -> Json:
        out: Json = {"type": "string"}
        if self.min_length:
            out["minLength"] = self.min_length
        if self.max_length is not None:
            out["maxLength"] = self.max_length
        if self.not_blank or self.pattern:
            out["pattern"] = self.pattern or NOT_BLANK
        return out

    def parse(self, value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid(self._phrase())
        if len(value) < self.min_length or (
            self.max_length is not None and len(value) > self.max_length
        ):
            raise Invalid(self._phrase())
        if self.not_blank and not value.strip():
            raise Invalid(self._phrase())
        if self.pattern and not re.search(self.pattern, value):
            raise Invalid("is not in the accepted form")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Invalid("must be valid Unicode text") from None
        return value

    def _phrase(self) -> str:
        what = "a non-empty string" if self.not_blank or self.min_length else "a string"
        if self.max_length is not None:
            what += f" of at most {self.max_length} characters"
        return f"must be {what}"


@dataclass(frozen=True)
class Whole(Kind):
    """A whole number (never a boolean) from ``minimum`` to ``maximum``."""

    minimum: int | None = None
    maximum: int | None = None
    unit: str = ""  # "seconds": named in the message

    def schema(self) -> Json:
        out: Json = {"type": "integer"}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out

    def parse(self, value: Any) -> int:
        low = self.minimum if self.minimum is not None else value
        high = self.maximum if self.maximum is not None else value
        if not _whole(value) or not low <= value <= high:
            raise Invalid(self.phrase())
        return int(value)

    def phrase(self) -> str:
        what = "a whole number" + (f" of {self.unit}" if self.unit else "")
        if self.minimum is not None and self.maximum is not None:
            return f"must be {what} from {self.minimum} to {self.maximum}"
        if self.minimum is not None:
            return f"must be {what} of at least {self.minimum}"
        return f"must be {what}"


@dataclass(frozen=True)
class Flag(Kind):
    """``true`` or ``false``."""

    def schema(self) -> Json:
        return {"type": "boolean"}

    def parse(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise Invalid("must be true or false")
        return value


@dataclass(frozen=True)
class Choice(Kind):
    """One of ``values``; in the schema a reference to the component ``ref`` if given."""

    values: tuple[str, ...]
    ref: str | None = None

    def schema(self) -> Json:
        if self.ref:
            return Ref(self.ref).schema()
        return {"type": "string", "enum": list(self.values)}

    def parse(self, value: Any) -> str:
        if not isinstance(value, str) or value not in self.values:
            quoted = [f"'{v}'" for v in self.values]
            listed = " or ".join(quoted) if len(quoted) == 2 else "one of " + ", ".join(quoted)
            raise Invalid(f"must be {listed}")
        return value


@dataclass(frozen=True)
class Stamp(Kind):
    """An RFC 3339 timestamp with a time zone; parsed to an aware UTC datetime."""

    def schema(self) -> Json:
        return {"type": "string", "format": "date-time", "description": "RFC 3339, UTC."}

    def parse(self, value: Any) -> dt.datetime:
        phrase = "must be an RFC 3339 timestamp with a time zone (2027-01-02T03:04:05Z)"
        if not isinstance(value, str):
            raise Invalid(phrase)
        try:
            when = dt.datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
            if when.tzinfo is None:
                raise Invalid(phrase)
            return when.astimezone(dt.UTC)
        except (ValueError, OverflowError):
            raise Invalid(phrase) from None


@dataclass(frozen=True)
class Maybe(Kind):
    """``kind`` or ``null`` (OpenAPI 3.1 has no ``nullable``)."""

    kind: Kind

    def schema(self) -> Json:
        return {"oneOf": [self.kind.schema(), {"type": "null"}]}

    def parse(self, value: Any) -> Any:
        if value is None:
            return None
        try:
            return self.kind.parse(value)
        except Invalid as exc:
            raise Invalid(f"{exc.phrase}, or null") from None


@dataclass(frozen=True)
class Ref(Kind):
    """The schema component named ``name``."""

    name: str

    def schema(self) -> Json:
        return {"$ref": f"#/components/schemas/{self.name}"}


@dataclass(frozen=True)
class ListOf(Kind):
    """An array of ``kind``."""

    kind: Kind
    min_items: int = 0
    max_items: int | None = None

    def schema(self) -> Json:
        out: Json = {"type": "array"}
        if self.min_items:
            out["minItems"] = self.min_items
        if self.max_items is not None:
            out["maxItems"] = self.max_items
        out["items"] = self.kind.schema()
        return out

    def parse(self, value: Any) -> list[Any]:
        count = f"{self.min_items} to {self.max_items}" if self.max_items is not None else (
            f"at least {self.min_items}"
        )
        if not isinstance(value, list) or not (
            self.min_items <= len(value) <= (self.max_items or len(value))
        ):
            raise Invalid(f"must be a list of {count} items")
        out = []
        for i, item in enumerate(value):
            try:
                out.append(self.kind.parse(item))
            except Invalid as exc:
                raise Invalid(f"item {i} {exc.phrase}") from None
        return out


@dataclass(frozen=True)
class MapOf(Kind):
    """An object of any keys whose values are ``kind``."""

    kind: Kind

    def schema(self) -> Json:
        return {"type": "object", "additionalProperties": self.kind.schema()}


@dataclass(frozen=True)
class Const(Kind):
    """Exactly ``value``."""

    value: Any

    def schema(self) -> Json:
        return {"const": self.value}


@dataclass(frozen=True)
class Anything(Kind):
    """Any value of JSON type ``json_type`` (``object``, ``string`` …), or any value at all."""

    json_type: str | None = None
    pattern: str | None = None
    format: str | None = None

    def schema(self) -> Json:
        out: Json = {}
        if self.json_type:
            out["type"] = self.json_type
        if self.pattern:
            out["pattern"] = self.pattern
        if self.format:
            out["format"] = self.format
        return out


@dataclass(frozen=True)
class Field:
    """One member of a shape: its kind, whether it must be there, what it means."""

    kind: Kind
    required: bool = False
    description: str | None = None

    def schema(self) -> Json:
        out = self.kind.schema()
        if self.description:
            out = {**out, "description": self.description}
        return out


def required(kind: Kind, description: str | None = None) -> Field:
    return Field(kind, True, description)


def optional(kind: Kind, description: str | None = None) -> Field:
    return Field(kind, False, description)


@dataclass(frozen=True)
class Shape(Kind):
    """A JSON object of ``fields``. ``closed``: no other member is accepted; at least
    ``min_properties`` members must be sent. Members of an open shape that it does not
    name are ignored."""

    fields: Mapping[str, Field]
    closed: bool = False
    min_properties: int = 0
    description: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # further schema keywords

    def schema(self) -> Json:
        out: Json = {"type": "object"}
        if self.description:
            out["description"] = self.description
        if self.min_properties:
            out["minProperties"] = self.min_properties
        if self.closed:
            out["additionalProperties"] = False
        names = [name for name, f in self.fields.items() if f.required]
        if names:
            out["required"] = names
        out["properties"] = {name: f.schema() for name, f in self.fields.items()}
        out.update(self.extra)
        return out

    def parse(self, value: Any) -> dict[str, Any]:
        """The members this shape names, checked and converted; ``BadRequest`` (with
        ``details.field``, or ``details.unknown`` for members a closed shape does not know)
        for the first that does not fit."""
        if not isinstance(value, dict):
            raise BadRequest("The body must be a JSON object.")
        unknown = sorted(set(value) - set(self.fields)) if self.closed else []
        if unknown or len(value) < self.min_properties:
            raise BadRequest(f"Send {self._listing()}.", unknown=unknown)
        out: dict[str, Any] = {}
        for name, member in self.fields.items():
            if name not in value:
                if member.required:
                    raise BadRequest(f"{name} is required.", field=name)
                continue
            try:
                out[name] = member.kind.parse(value[name])
            except Invalid as exc:
                raise BadRequest(f"{name} {exc.phrase}.", field=name) from None
        return out

    def _listing(self) -> str:
        names = list(self.fields)
        if self.min_properties and not any(f.required for f in self.fields.values()):
            return "any of " + ", ".join(names)
        return ", ".join(names)


def components(shapes: Mapping[str, Kind]) -> Json:
    """The ``components.schemas`` of ``shapes``, by name."""
    return {name: kind.schema() for name, kind in shapes.items()}
