"""The one translator: Airlock errors, Werkzeug HTTP errors and unexpected exceptions become
API.md's JSON envelope. Unexpected exceptions are logged with their traceback and answered
``internal_error`` without any internal text."""

from __future__ import annotations

import html
import logging

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from airlock import errors
from airlock.db import failures

log = logging.getLogger("airlock")

_BY_STATUS: dict[int, type[errors.AirlockError]] = {
    400: errors.BadRequest,
    401: errors.Unauthorized,
    403: errors.Forbidden,
    404: errors.NotFound,
    405: errors.MethodNotAllowed,
    409: errors.Conflict,
    410: errors.Gone,
    412: errors.PreconditionFailed,
    413: errors.TooLarge,
    415: errors.UnsupportedMediaType,
    429: errors.RateLimited,
}


def render(exc: errors.AirlockError, **extra: object) -> Response:
    """The JSON response for an Airlock error (``extra`` goes beside ``error``)."""
    body = {"error": exc.to_dict(), **extra}
    response = jsonify(body)
    response.status_code = exc.status
    if isinstance(exc, errors.MethodNotAllowed) and exc.allow:
        response.headers["Allow"] = ", ".join(exc.allow)
    if isinstance(exc, (errors.RateLimited, errors.Unavailable)):
        response.headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, errors.Unauthorized):
        response.headers["WWW-Authenticate"] = exc.challenge
    if isinstance(exc, errors.RequestTimeout):  # the rest of the body is not waited for
        response.headers["Connection"] = "close"
    response.headers["Cache-Control"] = "no-store"
    return response


def from_http(exc: HTTPException) -> Response:
    """Werkzeug's HTTP errors (routing 404/405, malformed JSON, …) in the JSON envelope. A
    client error API.md has no code for keeps its status with ``bad_request``."""
    status = exc.code or 500
    if status not in _BY_STATUS and 400 <= status < 500:
        response = render(errors.BadRequest())
        response.status_code = status
        return response
    cls = _BY_STATUS.get(status, errors.InternalError)
    if cls is errors.MethodNotAllowed:
        allow = list(getattr(exc, "valid_methods", None) or [])
        return render(errors.MethodNotAllowed(allow=allow))
    if cls is errors.InternalError:
        return render(errors.InternalError())
    return render(cls())


def from_unexpected(exc: Exception) -> Response:
    """A database that is full or unreachable: ``507`` or ``503`` (``db.failures``), logged
    with the database's own words. Anything else is a bug: logged with its traceback, answered
    with no internal detail."""
    translated = failures.translate(exc)
    if translated is not None:
        log.warning("database failure answered %d: %s", translated.status, exc)
        return render(translated)
    log.exception("unhandled error", exc_info=exc)
    return render(errors.InternalError())


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title}</title></head>
<body><main><h1>{title}</h1><p>{message}</p></main></body></html>
"""
_TITLES = {401: "Password needed", 404: "Not found", 410: "No longer available",
           429: "Too many attempts"}  # fmt: skip


def render_for_people(exc: errors.AirlockError) -> Response:
    """``render``, but a small HTML page for a browser that navigated here (it asks for HTML
    before JSON): a used-up share link opened in a tab reads as a page, not as raw JSON."""
    response = render(exc)
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) != "text/html":
        return response
    title = _TITLES.get(exc.status, "Something went wrong")
    message = exc.message if exc.status < 500 else "The server could not answer this request."
    response.set_data(_PAGE.format(title=html.escape(title), message=html.escape(message)))
    response.mimetype = "text/html"
    return response


def translate_within(blueprint: Blueprint, pages: bool = False) -> Blueprint:
    """Answer every error raised in ``blueprint``'s views and hooks in the JSON envelope (or,
    with ``pages``, as a small page for browsers: ``render_for_people``), and only those: the
    host app's own handlers keep answering its own routes."""
    blueprint.register_error_handler(errors.AirlockError, render_for_people if pages else render)
    blueprint.register_error_handler(HTTPException, from_http)
    blueprint.register_error_handler(Exception, from_unexpected)
    return blueprint


def for_routing(exc: Exception | None) -> Response | None:
    """The JSON answer to a request the router could not place (no such path ``404``, or not
    that method ``405`` with ``Allow``), or None for anything else (a redirect, no error)."""
    if isinstance(exc, (NotFound, MethodNotAllowed)):
        return from_http(exc)
    return None
