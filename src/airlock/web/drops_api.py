"""``/api/v1/drops``: the caller's drop links (guest uploads): make, list, revoke."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from airlock.web.auth import current_user
from airlock.web.body import json_body
from airlock.web.errors import translate_within
from airlock.web.present import drop_json
from airlock.web.state import state

drops_bp = translate_within(Blueprint("airlock_drops", __name__))


@drops_bp.post("/drops")
def create_drop() -> Response:
    drop = state().drops.create(current_user(), json_body())
    response = jsonify(drop_json(drop))
    response.status_code = 201  # Cache-Control: no-store, as on every API answer (ext)
    return response


@drops_bp.get("/drops")
def list_drops() -> Response:
    drops = state().drops.of_owner(current_user())
    return jsonify({"drops": [drop_json(d) for d in drops]})


@drops_bp.delete("/drops/<drop_id>")
def revoke_drop(drop_id: str) -> Response:
    state().drops.revoke(current_user(), drop_id)
    return Response(status=204)
