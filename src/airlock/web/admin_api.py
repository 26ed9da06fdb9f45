"""``/api/v1/admin``: users, quarantined Files and upload statistics, for admins."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from airlock.web.auth import current_user
from airlock.web.body import json_body
from airlock.web.errors import translate_within
from airlock.web.present import file_here
from airlock.web.state import state

admin_bp = translate_within(Blueprint("airlock_admin", __name__))


@admin_bp.get("/admin/users")
def list_users() -> Response:
    return jsonify({"users": state().admin.users(current_user())})


@admin_bp.post("/admin/users")
def add_user() -> Response:
    actor = current_user()
    response = jsonify(state().admin.add_user(actor, json_body()))
    response.status_code = 201
    return response


@admin_bp.patch("/admin/users/<username>")
def update_user(username: str) -> Response:
    actor = current_user()
    return jsonify(state().admin.update_user(actor, username, json_body()))


@admin_bp.delete("/admin/users/<username>")
def delete_user(username: str) -> Response:
    state().admin.delete_user(current_user(), username)
    return Response(status=204)


@admin_bp.get("/admin/stats")
def stats() -> Response:
    return jsonify(state().admin.stats(current_user(), request.args.get("days")))


@admin_bp.get("/admin/quarantine")
def quarantine() -> Response:
    actor = current_user()
    page, nxt = state().admin.quarantine(
        actor, request.args.get("limit"), request.args.get("cursor") or None
    )
    return jsonify({"files": [file_here(f) for f in page], "next_cursor": nxt})


@admin_bp.post("/admin/files/<file_id>/release")
def release(file_id: str) -> Response:
    actor = current_user()
    return jsonify(file_here(state().admin.release(actor, file_id)))
