"""Unguessable identifiers and secrets, and how secrets are kept (hashed)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

FILE_ID_BYTES = 18  # 144 bits of randomness, 24 URL-safe characters
ID_CHARS = 24
TAG_CHARS = 8  # a writer's tag: 48 random bits (``airlock.writers``)
TOKEN_PREFIX = "al_"
_TAGGED = re.compile(f"[A-Za-z0-9_-]{{{ID_CHARS + TAG_CHARS}}}")


def new_id() -> str:
    """A URL-safe identifier with 144 bits of randomness (Files, links, uploads, storage keys)."""
    return secrets.token_urlsafe(FILE_ID_BYTES)


def new_tag() -> str:
    """A writer's tag: ``TAG_CHARS`` URL-safe characters."""
    return secrets.token_urlsafe(TAG_CHARS * 3 // 4)


def tagged_id(tag: str) -> str:
    """A new identifier that names its writer: ``new_id()`` followed by ``tag`` (32 characters,
    so it fits wherever an identifier does)."""
    return new_id() + tag


def writer_tag(name: str) -> str | None:
    """The writer tag that ``name`` carries: a key or staging id made by ``tagged_id``, or a
    name made from one by a suffix (``KEY_t``, ``SID.tus``, ``SID.tail.X``). None for plain
    identifiers (24 characters, so never 32 URL-safe ones in a row)."""
    head = name[: ID_CHARS + TAG_CHARS]
    return head[ID_CHARS:] if _TAGGED.fullmatch(head) else None


def new_secret(prefix: str = TOKEN_PREFIX) -> str:
    """A bearer secret (API token, share-link token) with 256 bits of randomness."""
    return prefix + secrets.token_urlsafe(32)


def secret_digest(secret: str) -> str:
    """The SHA-256 hex digest under which a secret is stored.

    Secrets carry 256 random bits, so a fast hash is enough: nothing can be brute-forced,
    and lookups stay a single indexed equality.
    """
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def same_secret(a: str, b: str) -> bool:
    """Constant-time comparison of two secrets or digests."""
    return hmac.compare_digest(a.encode(), b.encode())


def looks_like_id(value: str) -> bool:
    """Cheap syntactic check before any lookup: URL-safe base64, sane length."""
    return (
        16 <= len(value) <= 64
        and all(c.isalnum() or c in "-_" for c in value)
        and value.isascii()
    )
