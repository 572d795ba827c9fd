"""Outage or bug: whether a failure means the database cannot take the work just now (the
update is not confirmed, and its channel delivers it again) or will fail however often it is
tried (the person gets an apology, the update is confirmed). Told apart by SQLite result code
and PostgreSQL SQLSTATE."""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.core.flood import Deferred

# Errors that mean "the database is not available right now": the update must not be confirmed.
# PoolTimeout: no connection came free in time (SQLite has one per process).
TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError, PoolTimeout)


# SQLite result codes (primary codes) of a database that cannot take a write just now: busy or
# locked by another connection, disk full, read-only, I/O error, file not openable. Any other
# SQLite OperationalError (SQLITE_ERROR: no such table, syntax...) is a bug, not an outage.
_SQLITE_RETRY = frozenset({5, 6, 8, 10, 13, 14, 15})


# PostgreSQL SQLSTATEs of a database that cannot take this work just now: connection
# exceptions (08), transaction rollbacks: serialization failure, deadlock (40), insufficient
# resources: disk full, too many connections (53), operator intervention: shutting down,
# restarting (57P), and a lock not available in time (55P03). Anything else is a bug.
_PG_RETRY_CLASSES = ("08", "40", "53", "57P")
_PG_RETRY = frozenset({"55P03"})


def unavailable(error: BaseException) -> bool:
    """The database cannot be reached (locked, full, restarting, connection cut): try again
    later. Data errors and bugs are not: retrying them would fail forever. An update held
    at shutdown (Deferred) comes again too."""
    if isinstance(error, Deferred):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, OperationalError) and isinstance(error.orig, sqlite3.Error):
        code = getattr(error.orig, "sqlite_errorcode", None) or 0
        return (code & 0xFF) in _SQLITE_RETRY  # the primary code of an extended one
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
    if isinstance(error, DBAPIError) and isinstance(sqlstate, str):
        return sqlstate.startswith(_PG_RETRY_CLASSES) or sqlstate in _PG_RETRY
    return isinstance(error, TRANSIENT_ERRORS)


def cause(error: BaseException) -> str:
    """The driver's own words for an outage, for one log line (no statement, no parameters):
    "database is locked [SQLITE_BUSY]", "...: canceling statement due to lock timeout [55P03]"."""
    orig = error.orig if isinstance(error, DBAPIError) else None
    if isinstance(orig, sqlite3.Error) and getattr(orig, "sqlite_errorname", None):
        return f"{orig} [{orig.sqlite_errorname}]"
    lines = str(orig or error).strip().splitlines()
    sqlstate = getattr(orig, "sqlstate", None)
    code = f" [{sqlstate}]" if isinstance(sqlstate, str) else ""
    return f"{type(error).__name__}: {lines[0] if lines else ''}{code}"[:200]
