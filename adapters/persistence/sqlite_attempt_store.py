"""`AttemptStore` for a SQLite file: a batch's statements inline, its commit on a thread.

Through SQLAlchemy and aiosqlite a batch costs about a dozen hops to the driver's thread and
back (session, connection, begin, three statements, commit), and under load each hop waits for
turns of the busy event loop. This store runs the repository's own statements
(`store_attempts`) in a synchronous session on its own `sqlite3` connection, on the event loop's
thread: they only change pages in memory. The commit, which waits for the disk (fsync), is the
one hop, to the store's own thread. Checkpoints of the WAL run after it on a thread of their own
(`WalCheckpointer`), so no batch waits for one.

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
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from adapters.persistence.attempts import store_attempts
from adapters.persistence.inline_sqlite import connect_inline, sqlite_error_code
from adapters.persistence.wal_checkpointer import WalCheckpointer
from application.ports import AttemptStore
from domain.attempts import Attempt

# Another connection holds the lock: keep this connection, the next batch may find it free.
_LOCKED = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


class SqliteAttemptStore(AttemptStore):
    def __init__(self, path: Path, fallback: AttemptStore) -> None:
        self._path = path
        self._fallback = fallback
        self._engine: Engine | None = None
        self._committer: ThreadPoolExecutor | None = None
        self._turn = asyncio.Lock()  # one transaction at a time on the connection
        self._checkpointer = WalCheckpointer(path)

    async def add_many(self, attempts: Sequence[Attempt]) -> list[Attempt]:
        async with self._turn:
            try:
                return await self._add_many(attempts)
            except (sqlite3.Error, DBAPIError) as exc:  # rolled back: nothing stored
                if not _locked(exc):
                    self._close_writer()  # not usable yet (no file, no tables), or broken
        return await self._fallback.add_many(attempts)

    def close(self) -> None:
        self._close_writer()
        self._checkpointer.close()  # waits for a running checkpoint: at shutdown only

    def _close_writer(self) -> None:
        """The next batch starts afresh, on a new connection."""
        if self._engine is not None:
            self._engine.dispose()  # closes the connection: StaticPool holds only that one
            self._engine = None
        if self._committer is not None:
            self._committer.shutdown()  # idle: the batch's commit has returned
            self._committer = None

    async def _add_many(self, attempts: Sequence[Attempt]) -> list[Attempt]:
        engine, committer = self._open()
        with Session(engine) as session:
            try:
                session.begin()
                stored = store_attempts(session, attempts)
            except BaseException:
                session.rollback()
                raise
            await _on_thread(committer, session.commit, undo=session.rollback)
        self._checkpointer.request()
        return stored

    def _open(self) -> tuple[Engine, ThreadPoolExecutor]:
        if self._engine is None:
            self._engine = create_engine("sqlite://", creator=self._connect, poolclass=StaticPool)
            # The write lock at BEGIN, before anything is written: with busy_timeout=0 a lock
            # held elsewhere fails the batch at once, instead of at its first write.
            event.listen(self._engine, "begin", _begin_immediate)
        if self._committer is None:
            self._committer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-attempt-commit")
        return self._engine, self._committer

    def _connect(self) -> sqlite3.Connection:
        # Autocommit mode in the driver: the `begin` event opens each transaction. Used by one
        # thread at a time (`_turn`), the event loop's or the committer's.
        return connect_inline(self._path)


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


def _begin_immediate(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _locked(exc: sqlite3.Error | DBAPIError) -> bool:
    return sqlite_error_code(exc) in _LOCKED
