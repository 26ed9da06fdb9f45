"""The one error hierarchy: each class is one of API.md's error codes.

Code below the web layer raises these and never builds responses; ``airlock.web.errors``
translates them (and Werkzeug's HTTP exceptions) into the JSON envelope, once.
This module imports nothing of Airlock's so that every layer, the pure core included, may use it.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AirlockError(Exception):
    """Base of every error that becomes an API response.

    ``message`` is for people and must never carry internal detail (paths, SQL, tracebacks);
    ``details`` is a small JSON-able dict for programs.
    """

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    default_message: ClassVar[str] = "Internal error."

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        """The ``error`` object of the JSON envelope."""
        return {"code": self.code, "message": self.message, "details": self.details}


class Rejected(AirlockError):
    """An upload was refused by a check; its bytes are discarded."""


class BadRequest(AirlockError):
    status, code, default_message = 400, "bad_request", "The request is malformed."


class RequestTimeout(BadRequest):
    """A body that stopped, or trickled below the minimum rate: cut (API.md has no code of its
    own for 408; it is a request that could not be taken as sent)."""

    status = 408
    default_message = "The request body arrived too slowly and was cut off."


class MalformedMultipart(AirlockError):
    status, code = 400, "malformed_multipart"
    default_message = "The body is not valid multipart/form-data."


class NoFile(AirlockError):
    status, code, default_message = 400, "no_file", "The request carries no file."


class Unauthorized(AirlockError):
    status, code, default_message = 401, "unauthorized", "Credentials are missing or invalid."
    challenge: ClassVar[str] = 'Bearer realm="airlock"'  # its WWW-Authenticate


class PasswordRequired(Unauthorized):
    """A share link with a password, asked without it (or with a wrong one): the password
    goes in HTTP Basic credentials (any user name), or the share page asks for it."""

    default_message = "This link needs its password."
    challenge = 'Basic realm="airlock share link", charset="UTF-8"'


class Forbidden(AirlockError):
    status, code, default_message = 403, "forbidden", "You are not allowed to do this."


class NotFound(AirlockError):
    status, code, default_message = 404, "not_found", "Not found."


class MethodNotAllowed(AirlockError):
    status, code, default_message = 405, "method_not_allowed", "Method not allowed."

    def __init__(self, message: str | None = None, allow: list[str] | None = None) -> None:
        super().__init__(message)
        self.allow = allow or []


class Conflict(AirlockError):
    status, code, default_message = 409, "conflict", "The request conflicts with the current state."


class Gone(AirlockError):
    status, code, default_message = 410, "gone", "This is no longer available."


class DropClosed(Gone):
    """A drop link that takes nothing more: full, expired or revoked (``410 gone``)."""

    default_message = "This drop link takes no more files: it is full, expired or revoked."


class PreconditionFailed(AirlockError):
    status, code, default_message = 412, "precondition_failed", "A precondition failed."


class TooLarge(Rejected):
    status, code, default_message = 413, "too_large", "The upload exceeds a size limit."


class TypeNotAllowed(Rejected):
    status, code, default_message = 415, "type_not_allowed", "This file type is not allowed."


class UnsupportedMediaType(AirlockError):
    status, code = 415, "unsupported_media_type"
    default_message = "The request body has the wrong media type."


class ContentMismatch(Rejected):
    status, code = 422, "content_mismatch"
    default_message = "The file extension does not match the file's content."


class EmptyFile(Rejected):
    status, code, default_message = 422, "empty_file", "The file is empty."


class MalwareDetected(Rejected):
    status, code = 422, "malware_detected"
    default_message = "The malware scanner flagged this file."


class UnsafeContent(Rejected):
    status, code, default_message = 422, "unsafe_content", "The file's content is unsafe."


class RateLimited(AirlockError):
    status, code, default_message = 429, "rate_limited", "Too many requests; try again later."

    def __init__(self, message: str | None = None, retry_after: int = 60) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


class ChecksumMismatch(Rejected):
    status, code, default_message = 460, "checksum_mismatch", "The checksum does not match."


class InternalError(AirlockError):
    status, code, default_message = 500, "internal_error", "Internal error."


class Unavailable(InternalError):
    """A backend (the object store, the database) cannot be reached right now: ``503`` with
    ``Retry-After``. API.md's table has no code of its own for a passing outage, so this keeps
    ``internal_error``'s code with the status that tells clients to come back."""

    status = 503
    default_message = "A service Airlock needs cannot be reached right now; try again shortly."
    retry_after: ClassVar[int] = 5


class ScannerUnavailable(Rejected):
    status, code = 503, "scanner_unavailable"
    default_message = "The malware scanner cannot be reached; the upload was refused."


class QuotaExceeded(Rejected):
    status, code, default_message = 507, "quota_exceeded", "Your storage quota would be exceeded."


class StorageFull(Rejected):
    status, code, default_message = 507, "storage_full", "The storage backend is out of space."


class ConfigError(Exception):
    """A setting is wrong; raised at start-up with a message that says what to do."""


def all_error_classes() -> list[type[AirlockError]]:
    """Every concrete API error class, for the table test and the OpenAPI document. A class
    that keeps its parent's code (``Unavailable``) is a variant of it, not another code."""
    seen: list[type[AirlockError]] = []
    stack: list[type[AirlockError]] = [AirlockError]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        variant = any(
            issubclass(base, AirlockError) and base not in (AirlockError, Rejected)
            and base.code == cls.code for base in cls.__bases__
        )  # fmt: skip
        if cls not in (AirlockError, Rejected) and cls not in seen and not variant:
            seen.append(cls)
    return sorted(seen, key=lambda c: (c.status, c.code))
