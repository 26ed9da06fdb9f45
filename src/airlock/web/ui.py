"""The browser UI: server-rendered pages (sign-in, upload, my files, admin, share and public
pages) whose behaviour lives in Airlock's own JavaScript modules under ``static/js``.

Every page carries a strict Content-Security-Policy (no inline script or style, nothing from
other origins); user text reaches the HTML only through Jinja's autoescaping, and the scripts
only ever set it as ``textContent``.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import quote, urlencode

import segno
from flask import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from airlock.core import filetypes
from airlock.db.records import FileRecord, User
from airlock.errors import (
    AirlockError,
    Forbidden,
    NotFound,
    PasswordRequired,
    RateLimited,
    Unauthorized,
)
from airlock.gates import Offered, cookie_name
from airlock.web.auth import csrf_token, session_user
from airlock.web.state import state

ui = Blueprint(
    "airlock_ui", __name__,
    template_folder="templates", static_folder="static", static_url_path="/static",
)  # fmt: skip

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self'; connect-src 'self'; frame-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# The tus PATCH size the upload page uses: big enough to keep the connection busy, small enough
# that a cut connection costs little (the server keeps what arrived of a cut PATCH anyway).
CHUNK_SIZE = 8 * 2**20
# What a share or public page shows of a passive type, by its MIME type.
_PREVIEW_KINDS = (
    ("image/", "image"), ("audio/", "audio"), ("video/", "video"), ("application/pdf", "pdf"),
    ("text/", "text"), ("application/json", "text"),
)  # fmt: skip
LINK_LIFETIMES = ((3600, "1 hour"), (86400, "1 day"), (604800, "1 week"),
                  (2592000, "30 days"), (31536000, "1 year"))  # fmt: skip
DEFAULT_LINK_LIFETIME = 604800
EXPIRY_CHOICES = (("", "Never"), ("3600", "1 hour"), ("86400", "1 day"),
                  ("604800", "1 week"), ("2592000", "30 days"))  # fmt: skip


@ui.after_request
def _page_headers(response: Response) -> Response:
    for name, value in PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    store = _store_origin()
    if store:  # direct uploads: the page may also talk to the object store
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "connect-src 'self'", f"connect-src 'self' {store}"
        )
    if request.endpoint == "airlock_ui.static":
        response.headers["Cache-Control"] = "no-cache"  # revalidate: the ETag keeps it cheap
    else:
        response.headers["Cache-Control"] = "no-store"
    return response


@ui.errorhandler(AirlockError)
def _error_page(exc: AirlockError) -> tuple[str, int]:
    titles = {403: "Not allowed", 404: "Not found", 410: "No longer available"}
    title = titles.get(exc.status, "Something went wrong")
    message = exc.message if exc.status < 500 else "The server could not answer this request."
    return render_template("error.html", title=title, message=message,
                           status=exc.status), exc.status  # fmt: skip


@ui.app_template_filter("filesize")
def filesize(size: int | None) -> str:
    """``1.2 MB``-style sizes (decimal units, as the upload page's script writes them)."""
    if size is None:
        return "—"
    if size < 1000:
        return f"{size} B"
    value = float(size)
    for unit in ("kB", "MB", "GB", "TB", "PB"):
        value /= 1000
        if value < 1000 or unit == "PB":
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
    raise AssertionError("unreachable")


@ui.app_template_filter("when")
def when(moment: dt.datetime | None) -> str:
    """A timestamp as ``2026-01-02 03:04 UTC``."""
    if moment is None:
        return "never"
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@ui.context_processor
def _chrome() -> dict[str, Any]:
    user = session_user()
    return {"user": user, "csrf": csrf_token() if user else None,
            "link_expiry_choices": link_expiry_choices()}  # fmt: skip


def link_expiry_choices() -> list[tuple[str, str, bool]]:
    """The share dialog's lifetimes (value, label, preselected): those within the longest
    lifetime configured, and "Never" where there is none."""
    longest = state().settings.max_link_lifetime
    choices = [(str(s), label, s == DEFAULT_LINK_LIFETIME) for s, label in LINK_LIFETIMES
               if not longest or s <= longest]  # fmt: skip
    if not choices:
        choices = [(str(longest), f"{longest} seconds", True)]
    if not longest:
        choices.append(("", "Never", False))
    if not any(chosen for _, _, chosen in choices):
        value, label, _ = choices[-1]
        choices[-1] = (value, label, True)
    return choices


def safe_next(target: str | None, default: str = "/upload") -> str:
    """Where to go after signing in: only a local path (one leading ``/``, no backslash, no
    control character), so ``?next=`` can never send anyone to another site."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target)
    ):
        return default
    return target


def _signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send anyone not signed in to the sign-in page, and back here afterwards."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if session_user() is None:
            here = request.full_path if request.query_string else request.path
            return redirect(url_for("airlock_ui.login", next=here))
        return view(*args, **kwargs)

    return wrapper


@ui.get("/")
def index() -> WerkzeugResponse:
    target = "airlock_ui.upload" if session_user() else "airlock_ui.login"
    return redirect(url_for(target))


@ui.get("/login")
def login() -> Any:
    target = safe_next(request.args.get("next"))
    if session_user() is not None:
        return redirect(target)
    return render_template("login.html", next=target)


@ui.get("/upload")
@_signed_in
def upload() -> str:
    return render_template(
        "upload.html", page="upload", chunk_size=CHUNK_SIZE, expiry_choices=EXPIRY_CHOICES,
        max_file_size=state().settings.max_file_size, direct=_direct_uploads(),
    )  # fmt: skip


def _store_origin() -> str:
    """The object store's origin as browsers reach it, when direct uploads are on."""
    settings = state().settings
    if not (settings.direct_uploads and state().caps.direct_uploads):
        return ""
    return (settings.s3_public_endpoint or settings.s3_endpoint).rstrip("/")


def _direct_uploads() -> bool:
    """Whether the upload page sends files straight to the object store."""
    st = state()
    return st.settings.direct_uploads and st.caps.direct_uploads


@ui.get("/files")
@_signed_in
def files() -> str:
    return render_template("files.html", page="files")


@ui.get("/account")
@_signed_in
def account() -> str:
    return render_template("account.html", page="account")


@ui.get("/drops")
@_signed_in
def drops() -> str:
    return render_template("drops.html", page="drops")


@ui.get("/admin")
@_signed_in
def admin() -> str:
    user: User | None = session_user()
    if user is None or not user.is_admin:
        raise Forbidden("This page is for administrators.")
    return render_template("admin.html", page="admin",
                           default_quota=state().settings.default_quota)  # fmt: skip


@ui.get("/share/<token>")
def share(token: str) -> str:
    """A share link's page: viewing it spends none of the link's downloads, so a preview (which
    fetches the bytes) is only embedded when the link has no download limit. A link with a
    password shows nothing of its File until the password is given (``unlock_share``)."""
    links = state().links
    link, records = links.look(token)
    if not links.unlocked(link, Offered(cookie=request.cookies.get(cookie_name(token)))):
        action = url_for("airlock_ui.unlock_share", token=token)
        return render_template("unlock.html", action=action, what="link", error=None)
    base = "/s/" + quote(token, safe="")
    downloads_left = (
        max(link.max_downloads - link.downloads, 0) if link.max_downloads is not None else None
    )
    if link.file_id is None:
        return render_template(
            "share_many.html", files=records, base=base, total=sum(r.size for r in records),
            expires_at=link.expires_at, downloads_left=downloads_left,
            kinds={r.id: preview_kind(r) or "file" for r in records},
        )  # fmt: skip
    record = records[0]
    limited = link.max_downloads is not None
    ends = min((t for t in (link.expires_at, record.expires_at) if t is not None), default=None)
    return render_template(
        "share.html",
        file=record,
        kind=preview_kind(record),
        preview_url=None if limited else base,
        download_url=base + "?" + urlencode({"download": "1"}),
        expires_at=ends,
        downloads_left=downloads_left,
    )


@ui.post("/share/<token>")
def unlock_share(token: str) -> Any:
    """The share page's password form: a right password sets the link's unlock cookie and
    goes back to the page; the password travels in the body only, never in an address."""
    return _unlock(
        lambda offered: state().links.unlock(token, offered),
        url_for("airlock_ui.share", token=token),
        url_for("airlock_ui.unlock_share", token=token), "link",
    )


def _unlock(
    unlock: Callable[[Offered], tuple[str, str, int]], back: str, action: str, what: str
) -> Any:
    """A password form's answer: with the right password, the unlock cookie and back to the
    page (303); else the form again, saying why (401, or 429 with ``Retry-After``)."""
    offered = Offered(password=request.form.get("password", ""),
                      address=request.remote_addr or "unknown")  # fmt: skip
    try:
        name, value, lifetime = unlock(offered)
    except PasswordRequired:
        error = f"That is not the password of this {what}."
        return render_template("unlock.html", action=action, what=what, error=error), 401
    except RateLimited as exc:
        minutes = max(1, round(exc.retry_after / 60))
        error = f"Too many wrong passwords. Try again in {minutes} minute{'s' * (minutes != 1)}."
        page = render_template("unlock.html", action=action, what=what, error=error)
        return page, 429, {"Retry-After": str(exc.retry_after)}
    response = redirect(back, 303)
    response.set_cookie(name, value, max_age=lifetime, path="/", httponly=True, samesite="Lax",
                        secure=state().settings.cookie_secure or request.is_secure)  # fmt: skip
    return response


@ui.get("/d/<token>")
def drop_page(token: str) -> str:
    """A drop link's page: anyone with it uploads files (over tus, resuming) into its
    owner's space; it shows what the link is for and its limits, nothing of the owner's."""
    drops = state().drops
    drop, _owner = drops.look(token)
    if not drops.unlocked(drop, Offered(cookie=request.cookies.get(cookie_name(token)))):
        action = url_for("airlock_ui.unlock_drop", token=token)
        return render_template("unlock.html", action=action, what="drop link", error=None)
    return render_template(
        "drop.html", drop=drop, token=token, endpoint=f"/d/{quote(token, safe='')}/tus/",
        max_file_size=state().settings.max_file_size,
    )  # fmt: skip


@ui.post("/d/<token>")
def unlock_drop(token: str) -> Any:
    """The drop page's password form, as the share page's."""
    return _unlock(
        lambda offered: state().drops.unlock(token, offered),
        url_for("airlock_ui.drop_page", token=token),
        url_for("airlock_ui.unlock_drop", token=token), "drop link",
    )


@ui.get("/links/<link_id>/qr.svg")
def link_qr(link_id: str) -> Response:
    """A QR code of a link's share page address, for its owner (an SVG without script)."""
    user = session_user()
    if user is None:
        raise Unauthorized()
    link = state().links.get(user, link_id)
    if link.token is None:
        raise NotFound("This link's address was not kept.")
    address = request.url_root.rstrip("/") + url_for("airlock_ui.share", token=link.token)
    out = io.BytesIO()
    segno.make(address, error="m").save(out, kind="svg", scale=5, border=2, xmldecl=False,
                                        title="QR code of the share link")  # fmt: skip
    response = Response(out.getvalue(), mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response


@ui.get("/public/<file_id>")
def public_page(file_id: str) -> str:
    record = state().service.public_file(file_id)
    base = f"/f/{quote(record.id, safe='')}/{quote(record.name, safe='')}"
    return render_template(
        "share.html",
        file=record,
        kind=preview_kind(record),
        preview_url=base,
        download_url=base + "?" + urlencode({"download": "1"}),
        expires_at=record.expires_at,
        downloads_left=None,
    )


def preview_kind(record: FileRecord) -> str | None:
    """Which preview a File gets (``image``, ``pdf``, ``text``, ``audio``, ``video``), or None
    when it may not be shown inline (by its type, or as an attachment-only File)."""
    file_type = filetypes.lookup(record.content_type)
    if record.attachment_only or not filetypes.inline_ok(file_type):
        return None
    for prefix, kind in _PREVIEW_KINDS:
        if file_type.mime.startswith(prefix):
            return kind
    return None
