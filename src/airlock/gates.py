"""Passwords on addresses (share links, drop links): kept hashed like account passwords,
offered as HTTP Basic credentials (any user name) or in a page's form, never in the address,
and tried a limited number of times per address-with-a-password and per client address
(``airlock.attempts``). A right password in the form earns an unlock cookie, signed with the
password's own hash (so it dies with the link), that spares the visitor the password for an
hour."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from airlock.attempts import Attempts
from airlock.core.ids import same_secret, secret_digest
from airlock.core.passwords import verify_password

UNLOCK_LIFETIME = 3600  # seconds an unlock cookie spares its visitor the password
ADDRESS_FACTOR = 5  # a client address may try this many times one link's limit, over all


@dataclass(frozen=True)
class Offered:
    """What a visitor offers for an address with a password: the password itself (HTTP
    Basic, or a form), the unlock cookie's value, and where the request came from."""

    password: str | None = None
    cookie: str | None = None
    address: str = "unknown"


class Gate:
    """Checks what visitors offer for addresses with passwords."""

    def __init__(self, attempts: Attempts, limit: int, clock: Callable[[], dt.datetime]) -> None:
        self.attempts = attempts
        self.limit = limit
        self.clock = clock

    def opens(self, key: str, password_hash: str | None, offered: Offered) -> bool:
        """Whether ``offered`` opens the address ``key`` (``link:ID``, ``drop:ID``): it has
        no password, the unlock cookie is valid, or the password is right (a wrong one counts
        against the address and the client's; ``RateLimited`` once they are used up)."""
        if password_hash is None:
            return True
        if offered.cookie and self._valid_cookie(key, password_hash, offered.cookie):
            return True
        if offered.password is None:
            return False
        limits = [
            (key, self.limit),
            (f"{key.split(':')[0]}-addr:{offered.address[:100]}", self.limit * ADDRESS_FACTOR),
        ]
        self.attempts.take(limits, "Too many wrong passwords; try again later.")
        if not verify_password(offered.password, password_hash):
            return False
        self.attempts.succeeded(limits)
        return True

    def cookie(self, token: str, key: str, password_hash: str) -> tuple[str, str, int]:
        """The unlock cookie of the address ``token`` (behind ``key``): name, value, lifetime
        in seconds."""
        expires = int(self.clock().timestamp()) + UNLOCK_LIFETIME
        value = f"{expires}.{_signature(key, password_hash, expires)}"
        return cookie_name(token), value, UNLOCK_LIFETIME

    def _valid_cookie(self, key: str, password_hash: str, value: str) -> bool:
        stamp, _, signature = value.partition(".")
        if not stamp.isdigit() or int(stamp) <= self.clock().timestamp():
            return False
        return same_secret(signature, _signature(key, password_hash, int(stamp)))


def cookie_name(token: str) -> str:
    """The unlock cookie of the address behind ``token`` (named without the secret itself)."""
    return "airlock_unlock_" + secret_digest(token)[:16]


def _signature(key: str, password_hash: str, expires: int) -> str:
    mac = hmac.new(password_hash.encode(), f"{key}.{expires}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")
