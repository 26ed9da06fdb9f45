"""The OpenAPI description of browser sign-in (``/session``) and the admin endpoints; part of
the document ``openapi.openapi_document`` builds (from ``openapi_parts``)."""

from __future__ import annotations

from airlock.shapes import API
from airlock.web.openapi_parts import (
    DEFAULT_PAGE,
    MAX_PAGE,
    PUBLIC,
    Json,
    errors,
    json_body,
    json_response,
    nullable,
    operation,
    parameter,
    ref,
    schema_ref,
)

_NO_STORE = {"Cache-Control": {"description": "`no-store`.", "schema": {"const": "no-store"}}}
_QUOTA = nullable({"type": "integer", "minimum": 1, "description": "Bytes; null: the default."})


def session_paths() -> Json:
    cookie_security: list[Json] = [{"cookieAuth": []}]
    return {
        f"{API}/session": {
            "post": operation(
                "signIn", "session", "Sign in (browser)",
                {
                    "200": {
                        **json_response("Signed in; the `airlock_session` cookie is set.",
                                        schema_ref("Session"), _NO_STORE),
                    },
                    **errors(400, 401, 415, 429),
                },
                description="Sets an `HttpOnly`, `SameSite=Lax` cookie (`Secure` over HTTPS). "
                "Failed sign-ins are rate-limited per user name and per address (429 with "
                "`Retry-After`).",
                body=json_body(schema_ref("SignIn"), "The credentials."),
                security=PUBLIC,
            ),
            "get": operation(
                "getSession", "session", "The browser session",
                {"200": json_response("The signed-in user and CSRF token.",
                                      schema_ref("Session"), _NO_STORE),
                 **errors(401)},
                security=cookie_security,
            ),  # fmt: skip
            "delete": operation(
                "signOut", "session", "Sign out (browser)",
                {"204": {"description": "Signed out; the cookie is cleared."}, **errors(403)},
                description="Needs `X-CSRF-Token` when a session cookie is sent.",
                security=PUBLIC,
            ),
        },
    }


def admin_paths() -> Json:
    user_param = [parameter("path", "username", "The user's name.", {"type": "string"})]
    return {
        f"{API}/admin/users": {
            "get": operation(
                "listUsers", "admin", "Every user, with usage",
                {"200": json_response("The users.", schema_ref("AdminUserList")),
                 **errors(401, 403)},
            ),  # fmt: skip
            "post": operation(
                "addUser", "admin", "Create a user",
                {"201": json_response("The user.", schema_ref("AdminUser")),
                 **errors(400, 401, 403, 409, 415)},
                body=json_body(schema_ref("NewUser"), "The new user."),
            ),  # fmt: skip
        },
        f"{API}/admin/users/{{username}}": {
            "parameters": user_param,
            "patch": operation(
                "updateUser", "admin",
                "Disable or enable a user, set their quota or role, reset their password",
                {"200": json_response("The user.", schema_ref("AdminUser")),
                 **errors(400, 401, 403, 404, 415)},
                description="Admins cannot disable or demote themselves. Disabling ends the "
                "user's sessions and revokes their API tokens for good; a password reset ends "
                "their sessions.",
                body=json_body(schema_ref("UserUpdate"), "What to change."),
            ),  # fmt: skip
            "delete": operation(
                "deleteUser", "admin", "Delete a user with all of their Files",
                {"204": {"description": "Gone, with their Files (and bytes), links, drop links, "
                                        "tokens and sessions."},
                 **errors(400, 401, 403, 404)},
                description="Admins cannot delete themselves.",
            ),  # fmt: skip
        },
        f"{API}/admin/quarantine": {
            "get": operation(
                "listQuarantine", "admin", "Quarantined Files, most recently quarantined first",
                {"200": json_response("A page of quarantined Files (each with its "
                                      "`quarantine`).", schema_ref("FileList")),
                 **errors(400, 401, 403)},
                description="The Files `airlock rescan` found infected, of every owner; their "
                "bytes are not served (`410 gone`) until an admin releases or deletes them.",
                params=[
                    parameter("query", "limit", f"Page size (default {DEFAULT_PAGE}).",
                              {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
                    parameter("query", "cursor", "`next_cursor` of the previous page.",
                              {"type": "string"}),
                ],
            ),
        },
        f"{API}/admin/files/{{id}}/release": {
            "parameters": [ref("parameters", "FileId")],
            "post": operation(
                "releaseFile", "admin", "Release a quarantined File (a false positive)",
                {"200": json_response("The File, served again; `quarantine` is null.",
                                      schema_ref("File")),
                 **errors(401, 403, 404, 409)},
                description="Clears the File's quarantine: its bytes are served again on "
                "every route. 409 `conflict` when it is not quarantined. Logged with the "
                "admin, the File and the signature released. A later `airlock rescan` scans "
                "it again, and quarantines it again if the signature still matches.",
            ),
        },
        f"{API}/admin/stats": {
            "get": operation(
                "getStats", "admin", "Storage, uploads and rejections per day",
                {"200": json_response("The statistics.", schema_ref("Stats")),
                 **errors(400, 401, 403)},
                params=[parameter("query", "days", "How many days (default 14).",
                                  {"type": "integer", "minimum": 1, "maximum": 90})],
            ),  # fmt: skip
        },
    }
