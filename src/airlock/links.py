"""Share links: addresses (``/s/TOKEN``) that serve a File, or several, without an account.

A link's owner sees its links again (with the address, kept so that it can be copied again),
and revokes them. A link may expire or not (where ``AIRLOCK_MAX_LINK_LIFETIME`` is 0), may
allow a limited number of downloads (counted atomically), and may need a password
(``airlock.gates``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from airlock.attempts import Attempts
from airlock.config import Settings
from airlock.core.ids import new_id, new_secret, secret_digest
from airlock.core.passwords import hash_password
from airlock.core.timefmt import lifetime_end
from airlock.db import repo
from airlock.db.engine import Database
from airlock.db.records import FileRecord, Link, User
from airlock.errors import Forbidden, Gone, NotFound, PasswordRequired
from airlock.gates import Gate, Offered
from airlock.service import Service
from airlock.shapes import LINK_REQUEST, LINKS_REQUEST


class Links:
    """Create, list, revoke and open share links."""

    def __init__(
        self, settings: Settings, db: Database, service: Service,
        clock: Callable[[], dt.datetime],
    ) -> None:  # fmt: skip
        self.settings = settings
        self.db = db
        self.service = service
        self.clock = clock
        self.gate = Gate(Attempts(db, clock), settings.login_attempts, clock)

    # The owner's side ----------------------------------------------------------------------

    def create(self, user: User, file_id: str, body: dict[str, Any]) -> Link:
        """A new link to a File of ``user``'s from a ``LinkRequest`` body: ``expires_in``
        seconds from now, at most the longest lifetime configured (null: never, where the
        settings set none), for at most ``max_downloads`` downloads (null: any number), with
        ``password`` if given. ``NotFound`` for a File ``user`` does not own comes before any
        check of the body."""
        self.service.owned(user, file_id)
        return self._add(user, LINK_REQUEST.parse(body), [file_id])

    def create_many(self, user: User, body: dict[str, Any]) -> Link:
        """One link to several Files of ``user``'s from a ``LinksRequest`` body (``files``:
        their ids, in order; otherwise as ``create``): ``NotFound`` for any that is not theirs."""
        values = LINKS_REQUEST.parse(body)
        file_ids = list(dict.fromkeys(values["files"]))
        for file_id in file_ids:
            try:
                self.service.owned(user, file_id)
            except (Forbidden, NotFound):
                raise NotFound(f"No such file: {file_id}.", file=file_id) from None
        return self._add(user, values, file_ids)

    def _add(self, user: User, values: dict[str, Any], file_ids: list[str]) -> Link:
        now = self.clock()
        expires_at = lifetime_end(
            now, values["expires_in"], self.settings.max_link_lifetime, "Share links"
        )
        password = values.get("password")
        token = new_secret("")
        single = file_ids[0] if len(file_ids) == 1 else None
        link = Link(
            id=new_id(), file_id=single, created_at=now, expires_at=expires_at,
            max_downloads=values.get("max_downloads"), downloads=0, token=token,
            password_hash=hash_password(password) if password else None, owner_id=user.id,
        )  # fmt: skip
        with self.db.write() as conn:
            repo.add_link(
                conn, id=link.id, file_id=single, owner_id=user.id,
                token_hash=secret_digest(token), created_at=now, expires_at=expires_at,
                max_downloads=link.max_downloads, token=token, password_hash=link.password_hash,
            )  # fmt: skip
            if single is None:
                repo.add_link_files(conn, link.id, file_ids)
        return link

    def file_ids(self, links: list[Link]) -> dict[str, list[str]]:
        """The File ids each link serves, in order, by link id."""
        several = [link.id for link in links if link.file_id is None]
        with self.db.read() as conn:
            found = repo.link_file_ids(conn, several)
        return {link.id: [link.file_id] if link.file_id else found.get(link.id, [])
                for link in links}  # fmt: skip

    def of_file(self, user: User, file_id: str) -> list[Link]:
        """The links to a File of ``user``'s, oldest first, spent and expired ones included
        (until gc removes the expired)."""
        self.service.owned(user, file_id)
        with self.db.read() as conn:
            return repo.links_of_file(conn, file_id)

    def get(self, user: User, link_id: str) -> Link:
        """A link to a File of ``user``'s (or any, for an admin); ``NotFound`` for anyone
        else's, as for a link that does not exist."""
        with self.db.read() as conn:
            link = repo.link_by_id(conn, link_id)
            owner = link.owner_id if link is not None else None
            if owner is None and link is not None and link.file_id is not None:
                record = repo.get_file(conn, link.file_id)  # a link made before owners were kept
                owner = record.owner_id if record is not None else None
        if link is None or (owner != user.id and not user.is_admin):
            raise NotFound("No such link.")
        return link

    def revoke(self, user: User, link_id: str) -> None:
        """Delete a link to a File of ``user``'s (or any, for an admin): its address answers
        404 from now on. ``NotFound`` for anyone else's, as for a link that does not exist."""
        self.get(user, link_id)
        with self.db.write() as conn:
            if not repo.delete_link(conn, link_id):
                raise NotFound("No such link.")

    # The visitor's side --------------------------------------------------------------------

    def open(
        self, token: str, offered: Offered, count: bool = True, file_id: str | None = None
    ) -> tuple[Link, list[FileRecord]]:
        """The link behind a share token and what it serves: its Files, or only the one of
        them ``file_id`` names (``NotFound`` for any other). One download is counted,
        atomically, unless ``count`` is False. ``NotFound`` for a forged or revoked token,
        ``Gone`` once expired or used up, ``PasswordRequired`` until a link's password is
        offered (``RateLimited`` past the attempts allowed)."""
        link, records = self.look(token)
        if file_id is not None:
            records = [r for r in records if r.id == file_id]
            if not records:
                raise NotFound("This link has no such file.")
        if not self.unlocked(link, offered):
            raise PasswordRequired()
        if count:
            with self.db.write() as conn:
                if not repo.count_download(conn, link.id, self.clock()):
                    raise Gone("This link has been used up.")
        return link, records

    def look(self, token: str) -> tuple[Link, list[FileRecord]]:
        """The link behind a share token and the Files it serves now (a link to several
        leaves out those quarantined or expired since; ``Gone`` once none is left), spending
        nothing and asking for no password (for the share page, which shows only that a
        password is needed); errors as ``open``."""
        if not token or len(token) > 128:
            raise NotFound("No such link.")
        now = self.clock()
        with self.db.read() as conn:
            link = repo.link_by_hash(conn, secret_digest(token))
            records = repo.files_of_link(conn, link) if link is not None else []
        if link is None or (link.file_id is not None and not records):
            raise NotFound("No such link.")
        if link.expired(now):
            raise Gone("This link has expired.")
        if link.file_id is not None:  # one File: why it cannot be had, in so many words
            self.service.shareable(records[0])
        if link.used_up():
            raise Gone("This link has been used up.")
        if link.file_id is not None and records[0].expired(now):
            raise Gone("This file has expired.")
        records = [r for r in records
                   if r.quarantined_at is None and not r.owner_disabled and not r.expired(now)]
        if not records:
            raise Gone("The files of this link are no longer available.")
        return link, records

    def unlocked(self, link: Link, offered: Offered) -> bool:
        """Whether ``offered`` opens ``link`` (``gates.Gate.opens``)."""
        return self.gate.opens(f"link:{link.id}", link.password_hash, offered)

    def unlock(self, token: str, offered: Offered) -> tuple[str, str, int]:
        """For the share page's password form: the unlock cookie's name, value and lifetime
        in seconds when ``offered.password`` is right; ``PasswordRequired`` when wrong."""
        link, _records = self.look(token)
        if link.password_hash is None or not self.unlocked(link, offered):
            raise PasswordRequired("Wrong password.")
        return self.gate.cookie(token, f"link:{link.id}", link.password_hash)
