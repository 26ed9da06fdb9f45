"""Uploads through a drop link, without an account: ``POST /d/TOKEN/files`` (multipart, the
same checks and answers as ``POST /api/v1/files``); tus at ``/d/TOKEN/tus/`` is the tus
blueprint registered once more there (``web.tus``). The Files are the link owner's."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.http import parse_options_header

from airlock.db.records import Drop, User
from airlock.errors import UnsupportedMediaType
from airlock.pipeline.receive import boundary_of, receive_multipart
from airlock.web.body import body_chunks_for, check_declared_length
from airlock.web.errors import render, translate_within
from airlock.web.present import file_here
from airlock.web.public import offered
from airlock.web.state import state

guest = translate_within(Blueprint("airlock_guest", __name__))


def drop_caller(count: bool = False) -> tuple[User, Drop] | None:
    """On a drop link's routes: its owner (the Files are theirs) and the drop link, once it
    is open and its password (if any) given; ``count``: this is a new upload, counted
    against the client's address. None on any other route."""
    token = g.get("airlock_drop_token")
    if token is None:
        return None
    drops = state().drops
    drop, owner = drops.open(token, offered(token))
    if count:
        drops.admit(drop, request.remote_addr or "unknown")
    return owner, drop


@guest.post("/d/<token>/files")
def drop_files(token: str) -> Response:
    g.airlock_drop_token = token
    found = drop_caller(count=True)
    assert found is not None
    owner, drop = found
    st = state()
    mimetype, params = parse_options_header(request.headers.get("Content-Type", ""))
    if mimetype != "multipart/form-data":
        raise UnsupportedMediaType("Send the files as multipart/form-data.")
    boundary = boundary_of(params)
    check_declared_length(st.limits.request)
    form = receive_multipart(body_chunks_for(st.limits.request), boundary, st.stager, st.limits)
    stored, rejected = st.service.store_form(owner, form, st.drops.options(drop))
    rejected_json = [{"name": r.name, "error": r.error.to_dict()} for r in rejected]
    if not stored:
        return render(rejected[0].error, rejected=rejected_json)
    # API.md's answer to an upload, as for POST /api/v1/files: the Files' links are the
    # owner's (private), so they answer the uploader 401/404.
    response = jsonify({"files": [file_here(f) for f in stored], "rejected": rejected_json})
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response
