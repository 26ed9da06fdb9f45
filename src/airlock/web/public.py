"""Bytes without login: share links (``/s/TOKEN``) and public Files (``/f/ID/NAME``)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from airlock.gates import Offered, cookie_name
from airlock.web.errors import translate_within
from airlock.web.serving import send_file_bytes
from airlock.web.state import state
from airlock.web.zipped import send_zip

public = translate_within(Blueprint("airlock_public", __name__), pages=True)


def offered(token: str) -> Offered:
    """What this request offers for a share link's password: HTTP Basic credentials (any
    user name) and the unlock cookie the share page set."""
    auth = request.authorization
    password = auth.password if auth is not None and auth.type == "basic" else None
    return Offered(password, request.cookies.get(cookie_name(token)),
                   request.remote_addr or "unknown")  # fmt: skip


@public.get("/s/<token>")
def shared(token: str) -> Response:
    """A link's File, or, for a link to several, all of them as one zip."""
    # HEAD looks without spending one of a link's limited downloads.
    link, records = state().links.open(token, offered(token), count=request.method != "HEAD")
    if link.file_id is None:
        return send_zip(records, f"{len(records)} files.zip")
    return send_file_bytes(records[0])


@public.get("/s/<token>/<file_id>")
def shared_one(token: str, file_id: str) -> Response:
    """One File of a link (to several, or to this one), counted as a download of the link."""
    _link, records = state().links.open(
        token, offered(token), count=request.method != "HEAD", file_id=file_id
    )
    return send_file_bytes(records[0])


@public.get("/f/<file_id>/<path:name>")
def public_file(file_id: str, name: str) -> Response:
    return send_file_bytes(state().service.public_file(file_id))
