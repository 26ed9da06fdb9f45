"""What a failed database call means to a client. A database out of space is the storage
being full (``507 storage_full``); one that cannot be reached or written right now (restarting,
connections cut, locked past the busy timeout, its files read-only) is a passing outage
(``503`` with ``Retry-After``). Anything else (a bad statement, a constraint) is a bug and stays
unexplained (``None``: the caller answers ``500``)."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from airlock.errors import AirlockError, StorageFull, Unavailable

# SQLite's primary result codes (sqlite3 exceptions carry the extended code; its low byte)
_SQLITE_FULL = 13
_SQLITE_OUTAGE = frozenset({5, 6, 8, 10, 14})  # BUSY, LOCKED, READONLY, IOERR, CANTOPEN
# PostgreSQL SQLSTATEs: disk full; and the classes and codes of a server that is going away,
# not there yet, or out of connections
_PG_FULL = frozenset({"53100"})
_PG_OUTAGE_CLASSES = ("08", "57P")  # connection exception; operator intervention (shutdown)
_PG_OUTAGE = frozenset({"53300", "55P03"})  # too many connections; lock not available


def translate(exc: BaseException) -> AirlockError | None:
    """The Airlock error a database failure stands for, or ``None`` when it is none of these."""
    if isinstance(exc, (PoolTimeout, DisconnectionError)):
        return Unavailable("The database is busy or unreachable; try again shortly.")
    if not isinstance(exc, DBAPIError):
        return None
    orig = exc.orig
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        if code & 0xFF == _SQLITE_FULL:
            return StorageFull()
        if code & 0xFF in _SQLITE_OUTAGE:
            return Unavailable("The database cannot be written right now; try again shortly.")
        return None
    state = getattr(orig, "sqlstate", None)
    if isinstance(state, str):
        if state in _PG_FULL:
            return StorageFull()
        if state.startswith(_PG_OUTAGE_CLASSES) or state in _PG_OUTAGE:
            return Unavailable("The database is unreachable; try again shortly.")
        return None
    if exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError)):
        # No code at all: the connection broke before the server could say why.
        return Unavailable("The database is unreachable; try again shortly.")
    return None
