"""What the adapters that use SQLite on the event loop's thread share (`SqliteItemLookup`,
`SqliteAttemptStore`): a connection of their own that never waits for a lock, and SQLite's error
code whether or not SQLAlchemy wrapped the error."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.exc import DBAPIError

from adapters.persistence.engine import SQLITE_PRAGMAS


def connect_inline(path: Path) -> sqlite3.Connection:
    """A connection to an existing database file (mode=rw: never create one the migrations have
    not made) in autocommit mode, with `busy_timeout=0`: a lock held elsewhere is an immediate
    error, never a wait on the event loop's thread. Used by one thread at a time."""
    uri = f"file:{quote(str(path.resolve()))}?mode=rw"
    connection = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA busy_timeout=0")
    for pragma in SQLITE_PRAGMAS:
        connection.execute(pragma)
    return connection


def sqlite_error_code(exc: sqlite3.Error | DBAPIError) -> int | None:
    error = exc.orig if isinstance(exc, DBAPIError) else exc
    code: int | None = getattr(error, "sqlite_errorcode", None)
    return code
