"""What the adapters that use SQLite on the event loop's thread share (`SqliteItemLookup`,
`SqliteAttemptStore`): a connection of their own that never waits for a lock, SQLite's error
code whether or not SQLAlchemy wrapped the error, and SQLAlchemy statements compiled once for
that connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import Executable

from adapters.persistence.engine import SQLITE_PRAGMAS

_DIALECT = sqlite.dialect()  # pysqlite: `?` placeholders, as `sqlite3` takes them


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


class CompiledStatement:
    """A SQLAlchemy statement compiled once for a plain `sqlite3` connection.

    Executing a statement through a SQLAlchemy session costs ~40 µs per attempt of a batch
    (cache lookups, parameter dicts, result objects), more than SQLite's own work. This keeps
    the SQL text and turns values into the positional parameters SQLAlchemy would bind: each
    through its column type's own bind processing (UTC timestamps as text, JSON documents), so
    what is stored is what the portable path stores.

    The statement's bind parameters are `keys`, in placeholder order. A multi-row statement
    (`rows` given) names row n's `row_key(key, n)` instead and binds the n-th mapping given to
    `parameters`.
    """

    def __init__(self, statement: Executable, keys: Sequence[str], rows: int | None = None) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        expected = list(keys)
        if rows is not None:
            expected = [row_key(key, n) for n in range(rows) for key in keys]
        if list(compiled.positiontup or ()) != expected:
            raise ValueError(f"bind parameters {compiled.positiontup}, not {expected}")
        self.sql = str(compiled)
        # Every row of a multi-row statement has the first row's types.
        self._columns: list[tuple[str, Callable[[Any], Any] | None]] = [
            (key, compiled.binds[name].type.dialect_impl(_DIALECT).bind_processor(_DIALECT))
            for key, name in zip(keys, expected, strict=False)
        ]

    def parameters(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """The parameters of one execution: the rows' values one after the other."""
        flat: list[Any] = []
        for row in rows:
            flat += self.row(row)
        return flat

    def row(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        """One row's parameters (for `executemany`)."""
        return tuple(
            [row[k] if process is None else process(row[k]) for k, process in self._columns]
        )


def row_key(key: str, row: int) -> str:
    """The name of `key`'s bind parameter in row `row` of a multi-row `CompiledStatement`."""
    return f"{key}_{row}"
