"""Every JSON body of the API, declared once.

The request shapes check what clients send: the service parses a body with its shape once it
knows the caller may act (so a stranger's request for someone else's File is still 404,
whatever its body), and gets values of the right types. The OpenAPI document's
``components.schemas`` are ``COMPONENTS``, request and response shapes alike. The error
envelope is ``web.openapi_parts``'s, built from the error classes themselves.
"""

from __future__ import annotations

from airlock.accounts import USERNAME_RE
from airlock.core.jsonshape import (
    Anything,
    Choice,
    Const,
    Flag,
    Kind,
    ListOf,
    MapOf,
    Maybe,
    Ref,
    Shape,
    Stamp,
    Text,
    Whole,
    optional,
    required,
)
from airlock.core.pagination import MAX_LIMIT

API = "/api/v1"  # API.md's prefix: the service's, and the extension's default
VISIBILITIES = ("private", "public")
MAX_EXPIRES_IN = 10 * 365 * 24 * 3600  # a File's own expiry, in seconds

ID = Text(min_length=1, max_length=64, pattern="^[A-Za-z0-9_-]+$")
COUNT = Whole(minimum=0)
VISIBILITY = Choice(VISIBILITIES, ref="Visibility")
TEXT = Text()
STAMP = Stamp()
MAX_DOWNLOADS = 10**9
MAX_QUOTA = 2**62  # well inside the signed 64-bit column that keeps it

# Requests -------------------------------------------------------------------------------------

FILE_UPDATE = Shape(
    {
        "name": optional(Text(min_length=1, not_blank=True)),
        "visibility": optional(VISIBILITY),
        "expires_at": optional(Maybe(STAMP)),
    },
    closed=True,
    min_properties=1,
)

_LINK_PASSWORD = optional(
    Text(min_length=1, max_length=1024),
    "The visitor must give it (HTTP Basic credentials, any user name, or the share page's "
    "form); kept hashed.",
)
_LINK_LIFETIME = required(
    Maybe(Whole(minimum=1, unit="seconds")),
    "Seconds; at most the server's longest link lifetime (`AIRLOCK_MAX_LINK_LIFETIME`, one year "
    "by default). null: never, where that setting is 0 (no longest lifetime).",
)
MAX_LINK_FILES = 100

LINK_REQUEST = Shape({
    "expires_in": _LINK_LIFETIME,
    "max_downloads": optional(Maybe(Whole(minimum=1, maximum=MAX_DOWNLOADS))),
    "password": _LINK_PASSWORD,
})

LINKS_REQUEST = Shape({
    "files": required(
        ListOf(ID, min_items=1, max_items=MAX_LINK_FILES),
        "Ids of the caller's Files, in the order the link lists them (repeats count once).",
    ),
    "expires_in": _LINK_LIFETIME,
    "max_downloads": optional(Maybe(Whole(minimum=1, maximum=MAX_DOWNLOADS))),
    "password": _LINK_PASSWORD,
})

MAX_DROP_FILES = 10_000

DROP_REQUEST = Shape({
    "name": required(
        Text(min_length=1, max_length=255, not_blank=True),
        "What the drop page says it is for (\"Photos of the wedding\").",
    ),
    "expires_in": _LINK_LIFETIME,
    "max_files": optional(Maybe(Whole(minimum=1, maximum=MAX_DROP_FILES))),
    "max_bytes": optional(Maybe(Whole(minimum=1, maximum=MAX_QUOTA))),
    "password": _LINK_PASSWORD,
})

PASSWORD_CHANGE = Shape({
    "current": required(Text(min_length=1, max_length=1024)),
    "new": required(Text(min_length=8, max_length=1024), "At least 8 characters."),
})

TOKEN_REQUEST = Shape({"name": required(Text(min_length=1, max_length=255, not_blank=True))})

SIGN_IN = Shape({"username": required(TEXT), "password": required(TEXT)})

_QUOTA = Maybe(Whole(minimum=1, maximum=MAX_QUOTA))
_QUOTA_MEANS = "Bytes; null: the default."

NEW_USER = Shape({
    "username": required(Text(pattern=USERNAME_RE.pattern)),
    "password": required(Text(min_length=8)),
    "is_admin": optional(Flag()),
    "quota_bytes": optional(_QUOTA, _QUOTA_MEANS),
})

USER_UPDATE = Shape(
    {
        "disabled": optional(Flag(), "true: ends the user's sessions and revokes their tokens."),
        "is_admin": optional(Flag()),
        "quota_bytes": optional(_QUOTA, _QUOTA_MEANS),
        "password": optional(
            Text(min_length=8, max_length=1024), "A new password; ends the user's sessions."
        ),
    },
    closed=True,
    min_properties=1,
)

PRESIGN_REQUEST = Shape({
    "name": required(Text(min_length=1, max_length=1024, not_blank=True)),
    "size": required(Whole(minimum=0), "The exact size in bytes; the store refuses others."),
    "visibility": optional(VISIBILITY),
    "expires_in": optional(
        Whole(minimum=1, maximum=MAX_EXPIRES_IN, unit="seconds"),
        "Seconds until the File expires.",
    ),
})

# Responses ------------------------------------------------------------------------------------

FILE = Shape({
    "id": required(ID, "Opaque, URL-safe, unguessable."),
    "name": required(
        Text(min_length=1, max_length=255),
        "Display name, sanitized: no path, no control characters, at most 255 bytes of UTF-8.",
    ),
    "size": required(Whole(minimum=1)),
    "sha256": required(Text(pattern="^[0-9a-f]{64}$")),
    "content_type": required(TEXT, "Detected from the bytes, never the client's claim."),
    "visibility": required(VISIBILITY),
    "owner": required(TEXT),
    "created_at": required(STAMP),
    "expires_at": required(Maybe(STAMP)),
    "links": required(Shape({
        "self": required(Text(pattern=f"^{API}/files/")),
        "content": required(Text(pattern=f"^{API}/files/.+/content$")),
        "public": optional(Text(pattern="^/f/"), "Public Files only: the no-login URL."),
        "thumbnail": optional(
            Text(pattern=f"^{API}/files/.+/thumbnail$"), "Images only: a small WebP preview."
        ),
    })),
    "attachment_only": optional(
        Flag(),
        "Served only as an attachment whatever its type: a PDF with active content, accepted "
        "because `AIRLOCK_PDF_ACTIVE_CONTENT=attachment`.",
    ),
    "drop_id": optional(Maybe(ID), "The drop link it arrived through, if any."),
    "quarantine": optional(Maybe(Shape(
        {"at": required(STAMP), "reason": required(TEXT)},
        description="Set once `airlock rescan` found the File infected: its bytes are no "
        "longer served (`410 gone`) and it is kept until an admin deletes or releases it.",
    ))),  # fmt: skip
})

LINK = Shape({
    "id": required(ID),
    "url": required(
        Maybe(Text(pattern="^/s/[A-Za-z0-9_-]+$")),
        "null for a link made before addresses were kept: revoke it and make another.",
    ),
    "created_at": required(STAMP),
    "expires_at": required(Maybe(STAMP), "null: never."),
    "max_downloads": required(Maybe(Whole(minimum=1))),
    "downloads": required(COUNT),
    "has_password": required(Flag()),
    "files": required(ListOf(ID), "The ids of the Files it serves, in order."),
})

ME = Shape({
    "username": required(TEXT),
    "is_admin": required(Flag()),
    "quota_bytes": required(Maybe(COUNT)),
    "used_bytes": required(COUNT),
})

NEW_TOKEN = Shape({
    "id": required(ID),
    "name": required(TEXT),
    "token": required(TEXT, "The secret; shown this once."),
    "created_at": required(STAMP),
})

TOKEN = Shape({
    "id": required(ID),
    "name": required(TEXT),
    "created_at": required(STAMP),
    "last_used_at": required(Maybe(STAMP)),
})

DROP = Shape({
    "id": required(ID),
    "url": required(Text(pattern="^/d/[A-Za-z0-9_-]+$")),
    "name": required(TEXT),
    "created_at": required(STAMP),
    "expires_at": required(Maybe(STAMP), "null: never."),
    "revoked": required(Flag()),
    "max_files": required(Maybe(Whole(minimum=1))),
    "max_bytes": required(Maybe(Whole(minimum=1))),
    "files": required(COUNT, "Files that arrived through it."),
    "bytes": required(COUNT, "Their bytes."),
    "has_password": required(Flag()),
})

SESSION = Shape({
    "username": required(TEXT),
    "csrf_token": required(
        TEXT,
        "Send it as `X-CSRF-Token` on every cookie-authenticated POST, PUT, PATCH and DELETE.",
    ),
})

ADMIN_USER = Shape({
    "username": required(TEXT),
    "is_admin": required(Flag()),
    "disabled": required(Flag()),
    "quota_bytes": required(Maybe(COUNT)),
    "used_bytes": required(COUNT),
    "files": required(COUNT),
    "created_at": required(STAMP),
})

STATS = Shape({
    "storage": required(Shape({
        "files": required(COUNT), "bytes": required(COUNT), "users": required(COUNT),
    })),
    "days": required(ListOf(Shape({
        "date": required(Anything("string", format="date")),
        "uploads": required(COUNT),
        "rejections": required(COUNT),
    })), "One entry per UTC day, oldest first."),
    "recent_rejections": required(ListOf(Shape({
        "at": required(STAMP),
        "username": required(TEXT),
        "name": required(TEXT),
        "code": required(TEXT),
        "message": required(TEXT),
    }))),
})  # fmt: skip

PRESIGNED = Shape({
    "upload_id": required(TEXT),
    "url": required(TEXT, "POST the form here."),
    "fields": required(
        MapOf(TEXT), "Form fields to send, in order, before the `file` part."
    ),
    "expires_at": required(STAMP),
})

READINESS = Shape({
    "status": required(Choice(("ready", "not ready"))),
    "checks": required(
        MapOf(TEXT),
        "Per dependency (database, storage, scanner): `ok`, or what is wrong; the scanner is "
        "`off` when scanning is, and `skipped` when optional scanning goes on without an "
        "unreachable clamd.",
    ),
})

COMPONENTS: dict[str, Kind] = {
    "Visibility": Choice(VISIBILITIES),
    "File": FILE,
    "UploadResult": Shape({
        "files": required(ListOf(Ref("File"), min_items=1)),
        "rejected": required(ListOf(Ref("Rejection"))),
    }),
    "FileList": Shape({
        "files": required(ListOf(Ref("File"), max_items=MAX_LIMIT)),
        "next_cursor": required(Maybe(TEXT)),
    }),
    "FileUpdate": FILE_UPDATE,
    "LinkRequest": LINK_REQUEST,
    "LinksRequest": LINKS_REQUEST,
    "DropRequest": DROP_REQUEST,
    "Drop": DROP,
    "DropList": Shape({"drops": required(ListOf(Ref("Drop")))}),
    "Link": LINK,
    "LinkList": Shape({"links": required(ListOf(Ref("Link")))}),
    "Me": ME,
    "TokenRequest": TOKEN_REQUEST,
    "PasswordChange": PASSWORD_CHANGE,
    "NewToken": NEW_TOKEN,
    "Token": TOKEN,
    "TokenList": Shape({"tokens": required(ListOf(Ref("Token")))}),
    "Health": Shape({"status": required(Const("ok"))}),
    "Readiness": READINESS,
    "SignIn": SIGN_IN,
    "Session": SESSION,
    "AdminUser": ADMIN_USER,
    "AdminUserList": Shape({"users": required(ListOf(Ref("AdminUser")))}),
    "NewUser": NEW_USER,
    "UserUpdate": USER_UPDATE,
    "Stats": STATS,
    "PresignRequest": PRESIGN_REQUEST,
    "Presigned": PRESIGNED,
}
