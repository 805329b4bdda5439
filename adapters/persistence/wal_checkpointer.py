"""WAL checkpoints for `SqliteAttemptStore`, off the path of its commits.

SQLite checkpoints the WAL in the connection that commits, once the log holds 1,000 pages: that
commit then also copies the pages into the database file and waits for its fsync, and every
attempt of the batch, and the batches behind it, wait too. Measured on the benchmark's database,
commits that took over 5 ms: 1 in 10 → 1 in 50 at 32 connections, 1 in 65 → 1 in 3,000 at one.

So after each commit the store asks for a PASSIVE checkpoint here, on a connection and thread of
its own. It never blocks the writer, and it mostly copies a commit or two, so when the next commit
starts the log is fully copied and SQLite starts it over from the beginning. The writer's own
auto-checkpoint stays as the backstop: when a checkpoint here loses that race, the log still
stays near 1,000 pages (≤ 1,330 measured under load; it then costs little, most pages being copied
already). A checkpoint on a timer instead, every 50 ms with the backstop off, lost the race every
time under load and the log grew to 650-780 MB in 10 s.
"""

from __future__ import annotations

import logging
import sqlite3
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from adapters.persistence.inline_sqlite import connect_inline

log = logging.getLogger(__name__)


class WalCheckpointer:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None  # used on the thread only
        self._thread: ThreadPoolExecutor | None = None
        self._next: Future[None] | None = None
        self._failing = False  # one warning per run of failures, not one per commit

    def request(self) -> None:
        """Copy what has been committed so far into the database file, soon, on the thread.

        Requests coalesce: one checkpoint may run while one more waits for it, and a waiting
        checkpoint starts after this request's commit, so it copies that commit too."""
        if self._next is not None and not (self._next.running() or self._next.done()):
            return
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-wal-checkpoint")
        self._next = self._thread.submit(self._checkpoint)

    def close(self) -> None:
        """Run what was requested, then release the thread and the connection (not final: the
        next request opens them again)."""
        if self._thread is not None:
            self._thread.shutdown()
            self._thread = None
            self._next = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _checkpoint(self) -> None:
        try:
            if self._connection is None:
                self._connection = connect_inline(self._path)
            # PASSIVE: copies what no reader still needs and never waits; a checkpoint another
            # connection is running makes it answer "busy" (the first column) instead.
            self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            # Nothing is lost: the pages stay in the log, the writer's auto-checkpoint is the
            # backstop, and the next request starts on a new connection.
            if not self._failing:
                log.warning("WAL checkpoint of %s failed", self._path.name, exc_info=True)
                self._failing = True
            if self._connection is not None:
                self._connection.close()
                self._connection = None
        else:
            if self._failing:
                log.info("WAL checkpoints of %s work again", self._path.name)
                self._failing = False
