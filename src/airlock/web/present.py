"""API.md's File object and share-link URL as the app that mounted Airlock serves them: every
link carries that app's own prefix (``Airlock(url_prefix=…)``) and the ``SCRIPT_NAME`` it runs
under, so a link answered is a link that works."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import g, request, url_for
from werkzeug.routing import BuildError

from airlock.core.timefmt import rfc3339
from airlock.db.records import Drop, FileRecord, Link
from airlock.shapes import API


def file_json(record: FileRecord, api: str = API, root: str = "") -> dict[str, Any]:
    """The File object, its links under ``api`` (the API's path, script root included) and
    ``root`` (the script root, where the public ``/f/`` and ``/s/`` routes live)."""
    base = f"{api}/files/{record.id}"
    links = {"self": base, "content": f"{base}/content"}
    if record.visibility == "public":
        links["public"] = f"{root}/f/{record.id}/{quote(record.name, safe='')}"
    if record.thumbnail_key:
        links["thumbnail"] = f"{base}/thumbnail"
    return {
        "id": record.id,
        "name": record.name,
        "size": record.size,
        "sha256": record.sha256,
        "content_type": record.content_type,
        "visibility": record.visibility,
        "owner": record.owner,
        "created_at": rfc3339(record.created_at),
        "expires_at": rfc3339(record.expires_at),
        "links": links,
        # Beyond API.md's fields: a File never shown inline whatever its type (a PDF with
        # scripts, accepted with AIRLOCK_PDF_ACTIVE_CONTENT=attachment), and why a File is no
        # longer served, once a rescan found it.
        "attachment_only": record.attachment_only,
        "quarantine": None if record.quarantined_at is None else {
            "at": rfc3339(record.quarantined_at), "reason": record.quarantine_reason,
        },
        "drop_id": record.drop_id,  # the drop link it arrived through, if any
    }  # fmt: skip


def mounted() -> tuple[str, str]:
    """``(api, root)`` of the current request: where this app serves the API and the public
    routes (``url_for`` knows the prefix the blueprints were registered under)."""
    if "airlock_mounted" not in g:
        files = url_for("airlock_api.list_files")
        g.airlock_mounted = (files[: -len("/files")], request.script_root)
    return g.airlock_mounted  # type: ignore[no-any-return]


def file_here(record: FileRecord) -> dict[str, Any]:
    """The File object with this app's links."""
    return file_json(record, *mounted())


def file_url(record: FileRecord) -> str:
    """Where a File is served on this app: its public URL if it is public, else its
    ``content`` link (for its owner, admins and bearers of their tokens). Also the Jinja
    global ``airlock_url``. Needs Airlock's routes (``api=True``)."""
    try:
        links = file_here(record)["links"]
    except BuildError:
        raise RuntimeError("A File's URL needs Airlock's routes: Airlock(app, api=True).") from None
    return str(links.get("public") or links["content"])


def share_url(token: str) -> str:
    """A share link's path on this app."""
    return f"{request.script_root}/s/{token}"


def drop_json(drop: Drop) -> dict[str, Any]:
    """API.md's drop link object (``shapes.DROP``)."""
    return {
        "id": drop.id,
        "url": f"{request.script_root}/d/{drop.token}",
        "name": drop.name,
        "created_at": rfc3339(drop.created_at),
        "expires_at": rfc3339(drop.expires_at),
        "revoked": drop.revoked_at is not None,
        "max_files": drop.max_files,
        "max_bytes": drop.max_bytes,
        "files": drop.files,
        "bytes": drop.bytes,
        "has_password": drop.password_hash is not None,
    }


def link_json(link: Link, file_ids: list[str]) -> dict[str, Any]:
    """API.md's share link object (``shapes.LINK``), serving the Files ``file_ids``."""
    return {
        "id": link.id,
        "url": share_url(link.token) if link.token else None,
        "created_at": rfc3339(link.created_at),
        "expires_at": rfc3339(link.expires_at),
        "max_downloads": link.max_downloads,
        "downloads": link.downloads,
        "has_password": link.password_hash is not None,
        "files": file_ids,
    }
