"""``/api/v1``: Files, share links, tokens, the caller."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from werkzeug.http import parse_options_header

from airlock import shapes
from airlock.core.pagination import parse_limit
from airlock.core.timefmt import rfc3339
from airlock.errors import UnsupportedMediaType
from airlock.pipeline.receive import boundary_of, receive_multipart, receive_raw
from airlock.service import UploadOptions
from airlock.web.auth import browser_session, current_user
from airlock.web.body import body_chunks_for, check_declared_length, json_body
from airlock.web.errors import render, translate_within
from airlock.web.openapi import openapi_document
from airlock.web.present import file_here, link_json, mounted
from airlock.web.serving import send_file_bytes, send_thumbnail
from airlock.web.state import state

api = translate_within(Blueprint("airlock_api", __name__))


@api.post("/files")
def upload_multipart() -> Response:
    user = current_user()
    st = state()
    mimetype, params = parse_options_header(request.headers.get("Content-Type", ""))
    if mimetype != "multipart/form-data":
        raise UnsupportedMediaType("Send the files as multipart/form-data.")
    boundary = boundary_of(params)
    limits = st.limits
    check_declared_length(limits.request)
    form = receive_multipart(
        body_chunks_for(limits.request),
        boundary,
        st.stager,
        limits,
    )
    stored, rejected = st.service.store_form(user, form)
    rejected_json = [{"name": r.name, "error": r.error.to_dict()} for r in rejected]
    if not stored:
        return render(rejected[0].error, rejected=rejected_json)
    response = jsonify({"files": [file_here(f) for f in stored], "rejected": rejected_json})
    response.status_code = 201
    return response


# Any characters at all, slashes (unmerged) and newlines included: the name is sanitised later,
# never refused for its characters.
@api.put("/files/<anything:filename>", merge_slashes=False)
def upload_raw(filename: str) -> Response:
    user = current_user()
    st = state()
    opts = UploadOptions.parse(request.args.get("visibility"), request.args.get("expires_in"))
    limit = min(st.settings.max_file_size, st.settings.request_limit)
    check_declared_length(limit)
    chunks = body_chunks_for(st.settings.request_limit)
    staged = receive_raw(chunks, st.stager, limit)
    record = st.service.store(user, staged, filename, opts)
    response = jsonify(file_here(record))
    response.status_code = 201
    response.headers["Location"] = url_for(".get_file", file_id=record.id)
    return response


@api.get("/files")
def list_files() -> Response:
    user = current_user()
    limit = parse_limit(request.args.get("limit"))
    page, nxt = state().service.list_files(
        user, limit, request.args.get("cursor") or None, request.args.get("q"),
        request.args.get("drop"),
    )
    return jsonify({"files": [file_here(f) for f in page], "next_cursor": nxt})


@api.get("/files/<file_id>")
def get_file(file_id: str) -> Response:
    user = current_user()
    return jsonify(file_here(state().service.get_file(user, file_id)))


@api.patch("/files/<file_id>")
def patch_file(file_id: str) -> Response:
    user = current_user()
    record = state().service.update_file(user, file_id, json_body())
    return jsonify(file_here(record))


@api.delete("/files/<file_id>")
def delete_file(file_id: str) -> Response:
    user = current_user()
    state().service.delete_file(user, file_id)
    return Response(status=204)


@api.get("/files/<file_id>/content")
def file_content(file_id: str) -> Response:
    user = current_user()
    return send_file_bytes(state().service.get_file(user, file_id))


@api.get("/files/<file_id>/thumbnail")
def file_thumbnail(file_id: str) -> Response:
    user = current_user()
    return send_thumbnail(state().service.get_file(user, file_id))


@api.post("/files/<file_id>/links")
def create_link(file_id: str) -> Response:
    user = current_user()
    link = state().links.create(user, file_id, json_body())
    response = jsonify(link_json(link, [file_id]))
    response.status_code = 201
    return response


@api.post("/links")
def create_multi_link() -> Response:
    user = current_user()
    links = state().links
    link = links.create_many(user, json_body())
    response = jsonify(link_json(link, links.file_ids([link])[link.id]))
    response.status_code = 201
    return response


@api.get("/files/<file_id>/links")
def list_links(file_id: str) -> Response:
    user = current_user()
    links = state().links
    found = links.of_file(user, file_id)
    ids = links.file_ids(found)
    return jsonify({"links": [link_json(link, ids[link.id]) for link in found]})


@api.delete("/links/<link_id>")
def revoke_link(link_id: str) -> Response:
    state().links.revoke(current_user(), link_id)
    return Response(status=204)


@api.get("/me")
def me() -> Response:
    st = state()
    return jsonify(st.accounts.usage(current_user(), st.settings.default_quota))


@api.post("/me/password")
def change_password() -> Response:
    user = current_user()
    body = json_body(shapes.PASSWORD_CHANGE)
    found = browser_session()
    session = found[1] if found is not None and found[0].id == user.id else None
    state().sessions.change_password(user, body["current"], body["new"], session)
    return Response(status=204)


@api.post("/tokens")
def create_token() -> Response:
    user = current_user()
    new = state().accounts.create_token(user, json_body(shapes.TOKEN_REQUEST)["name"])
    response = jsonify(
        {
            "id": new.token.id,
            "name": new.token.name,
            "token": new.secret,
            "created_at": rfc3339(new.token.created_at),
        }
    )
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response


@api.get("/tokens")
def list_tokens() -> Response:
    tokens = state().accounts.list_tokens(current_user())
    return jsonify(
        {
            "tokens": [
                {
                    "id": t.id,
                    "name": t.name,
                    "created_at": rfc3339(t.created_at),
                    "last_used_at": rfc3339(t.last_used_at),
                }
                for t in tokens
            ]
        }
    )


@api.delete("/tokens/<token_id>")
def delete_token(token_id: str) -> Response:
    state().accounts.delete_token(current_user(), token_id)
    return Response(status=204)


@api.get("/openapi.json")
def openapi() -> Response:
    api_path, root = mounted()
    return jsonify(openapi_document(api_path, root, ops="airlock_ops" in current_app.blueprints))
