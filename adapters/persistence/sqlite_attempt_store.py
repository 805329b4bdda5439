"""`AttemptStore` for a SQLite file: a batch's statements inline, its commit on a thread.

Through SQLAlchemy and aiosqlite a batch costs about a dozen hops to the driver's thread and
back (session, connection, begin, three statements, commit), and under load each hop waits for
turns of the busy event loop. This store runs the repository's own statements (the multi-row
INSERT of `store_attempts` and its two rollup upserts), compiled once (`CompiledStatement`), on a
plain `sqlite3` connection of its own, on the event loop's thread: they only change pages in
memory. The commit, which waits for the disk (fsync), is the one hop, to the store's own thread.
Checkpoints of the WAL run after it on a thread of their own (`WalCheckpointer`), so no batch
waits for one.

It never waits on a lock on the event loop's thread: another connection (the engine's, another
process) may hold the write lock for a while. `busy_timeout=0` and `BEGIN IMMEDIATE` turn that
into an immediate error before anything is written, and the batch goes the portable way
(`fallback`), which waits on the driver's thread.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache, partial
from pathlib import Path
from typing import cast

from sqlalchemy import Table, bindparam, insert

from adapters.persistence.attempts import (
    RollupRecord,
    attempt_row,
    rollup_rows,
    rollup_upsert,
    with_ids,
)
from adapters.persistence.inline_sqlite import (
    CompiledStatement,
    connect_inline,
    row_key,
    sqlite_error_code,
)
from adapters.persistence.records import (
    AttemptRecord,
    DailyAttemptStatsRecord,
    ItemAttemptStatsRecord,
)
from adapters.persistence.wal_checkpointer import WalCheckpointer
from application.ports import AttemptStore
from domain.attempts import Attempt
from domain.errors import ItemNotFoundError

# Another connection holds the lock: keep this connection, the next batch may find it free.
_LOCKED = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


class SqliteAttemptStore(AttemptStore):
    def __init__(self, path: Path, fallback: AttemptStore) -> None:
        self._path = path
        self._fallback = fallback
        self._connection: sqlite3.Connection | None = None
        self._committer: ThreadPoolExecutor | None = None
        self._turn = asyncio.Lock()  # one transaction at a time on the connection
        self._checkpointer = WalCheckpointer(path)

    async def add_many(self, attempts: Sequence[Attempt]) -> list[Attempt]:
        if not attempts:
            return []
        async with self._turn:
            try:
                return await self._add_many(attempts)
            except sqlite3.Error as exc:  # rolled back: nothing stored
                if not _locked(exc):
                    self._close_writer()  # not usable yet (no file, no tables), or broken
        return await self._fallback.add_many(attempts)

    def close(self) -> None:
        """At shutdown, when no batch is running. Not final: the app may start again, on
        another event loop, and an asyncio lock belongs to the loop of its first wait."""
        self._close_writer()
        self._checkpointer.close()  # waits for a running checkpoint: at shutdown only
        self._turn = asyncio.Lock()

    def _close_writer(self) -> None:
        """The next batch starts afresh, on a new connection."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._committer is not None:
            self._committer.shutdown()  # idle: the batch's commit has returned
            self._committer = None

    async def _add_many(self, attempts: Sequence[Attempt]) -> list[Attempt]:
        connection, committer = self._open()
        _begin(connection)
        try:
            stored = write_batch(connection, attempts)
        except BaseException:
            _rollback(connection)
            raise
        await _on_thread(
            committer, partial(_commit, connection), undo=partial(_rollback, connection)
        )
        self._checkpointer.request()
        return stored

    def _open(self) -> tuple[sqlite3.Connection, ThreadPoolExecutor]:
        if self._connection is None:
            self._connection = self._connect()
        if self._committer is None:
            self._committer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-attempt-commit")
        return self._connection, self._committer

    def _connect(self) -> sqlite3.Connection:
        # Autocommit mode in the driver: `_begin` opens each transaction. Used by one thread at
        # a time (`_turn`), the event loop's or the committer's.
        return connect_inline(self._path)


def write_batch(connection: sqlite3.Connection, attempts: Sequence[Attempt]) -> list[Attempt]:
    """`store_attempts` on a plain connection, in its open transaction: the attempts in one
    multi-row INSERT … RETURNING (more if the build's SQLite takes fewer parameters than the
    batch has), then the sums of the batch added to both rollups."""
    rows = [attempt_row(a) for a in attempts]
    # 32,766 parameters by default, 999 before SQLite 3.32: chunks of whole rows that fit.
    per_statement = max(
        1, connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(_ATTEMPT_COLUMNS)
    )
    ids: list[int] = []
    try:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            insert_rows = _insert_attempts(len(chunk))
            ids += [
                row[0] for row in connection.execute(insert_rows.sql, insert_rows.parameters(chunk))
            ]
    except sqlite3.IntegrityError:
        # The one foreign key: an item deleted since the caller looked it up.
        raise ItemNotFoundError() from None
    stored = with_ids(attempts, ids)
    by_item, by_day = rollup_rows(stored)
    for record, sums in ((ItemAttemptStatsRecord, by_item), (DailyAttemptStatsRecord, by_day)):
        upsert = _add_to(record)
        connection.executemany(upsert.sql, [upsert.row(row) for row in sums])
    return stored


_ATTEMPTS = cast(Table, AttemptRecord.__table__)
_ATTEMPT_COLUMNS = [column.name for column in _ATTEMPTS.columns if column.name != "id"]


@cache  # one per batch size: the writer's batches hold at most a few hundred attempts
def _insert_attempts(rows: int) -> CompiledStatement:
    values = [
        {key: bindparam(row_key(key, n), type_=_ATTEMPTS.c[key].type) for key in _ATTEMPT_COLUMNS}
        for n in range(rows)
    ]
    statement = insert(_ATTEMPTS).values(values).returning(_ATTEMPTS.c.id)
    return CompiledStatement(statement, _ATTEMPT_COLUMNS, rows)


@cache
def _add_to(record: RollupRecord) -> CompiledStatement:
    table = cast(Table, record.__table__)
    return CompiledStatement(rollup_upsert(record, "sqlite"), [c.name for c in table.columns])


def _begin(connection: sqlite3.Connection) -> None:
    # The write lock at BEGIN, before anything is written: with busy_timeout=0 a lock held
    # elsewhere fails the batch at once, instead of at its first write.
    connection.execute("BEGIN IMMEDIATE")


def _commit(connection: sqlite3.Connection) -> None:
    connection.execute("COMMIT")


def _rollback(connection: sqlite3.Connection) -> None:
    # A failed COMMIT (a deferred constraint) leaves the transaction open; a failed BEGIN
    # opened none.
    if connection.in_transaction:
        connection.execute("ROLLBACK")


async def _on_thread(
    executor: ThreadPoolExecutor, call: Callable[[], None], undo: Callable[[], None]
) -> None:
    """Run `call` on the executor; `undo` if it fails. A cancelled caller still waits for the
    thread to finish, so the connection is never used by two threads at once."""
    done = asyncio.get_running_loop().run_in_executor(executor, call)
    try:
        await asyncio.shield(done)
    except asyncio.CancelledError:
        await asyncio.wait([done])
        if done.exception() is not None:
            undo()
        raise
    except BaseException:
        undo()
        raise


def _locked(exc: sqlite3.Error) -> bool:
    return sqlite_error_code(exc) in _LOCKED
