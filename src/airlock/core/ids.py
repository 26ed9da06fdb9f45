"""Unguessable identifiers and secrets, and how secrets are kept (hashed)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

FILE_ID_BYTES = 18  # 144 bits of randomness, 24 URL-safe characters
TOKEN_PREFIX = "al_"


def new_id() -> str:
    """A URL-safe identifier with 144 bits of randomness (Files, links, uploads, storage keys)."""
    return secrets.token_urlsafe(FILE_ID_BYTES)


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
