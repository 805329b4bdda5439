"""WalCheckpointer: after each commit of SqliteAttemptStore, the WAL is copied into the database
file on a thread of its own; a slow or failing checkpoint holds up no batch and loses nothing."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from adapters.persistence import sqlite_attempt_store
from adapters.persistence.engine import sqlite_file
from adapters.persistence.wal_checkpointer import WalCheckpointer
from application.ports import UnitOfWorkFactory
from domain.attempts import Attempt
from tests.contract.test_attempt_batches import expected_statistics, plan, seed, statistics
from tests.contract.test_attempt_stores import CountingStore, inline_store, sqlite_factory

__all__ = ["sqlite_factory"]  # fixture, used by name


def in_database_file(path: Path, table: str = "attempts") -> int:
    """Rows in the database file itself, as if the WAL were not there."""
    with closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as connection:
        count: int = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        return count


@pytest.fixture
def database(migrated_sqlite_url: str) -> Iterator[Path]:
    """The test's database file, with the WAL fully copied into it, and a connection held open
    throughout: SQLite checkpoints when the last connection closes, and this must not be it."""
    path = sqlite_file(migrated_sqlite_url)
    assert path is not None
    with closing(sqlite3.connect(path, isolation_level=None)) as keeper:
        keeper.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        yield path


async def test_committed_batches_reach_the_database_file(
    migrated_sqlite_url: str, database: Path, sqlite_factory: UnitOfWorkFactory
) -> None:
    """A few small batches are far below the writer's auto-checkpoint (1,000 pages): only the
    checkpointer copies them into the file."""
    items, singles = await seed(sqlite_factory)
    assert in_database_file(database) == 0  # the seeded attempts are in the WAL only
    store = inline_store(migrated_sqlite_url, CountingStore())
    stored = []
    for salt in range(3):
        stored += await store.add_many(plan(items[:3], size=4, salt=salt * 10))
    store.close()  # waits for the checkpoint requested last
    assert in_database_file(database) == len(singles + stored)
    assert await statistics(sqlite_factory, items) == expected_statistics(singles + stored, items)


async def test_a_slow_checkpoint_holds_up_no_batch_and_requests_coalesce(
    migrated_sqlite_url: str,
    database: Path,
    sqlite_factory: UnitOfWorkFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While a checkpoint hangs, batches are still stored, and a broken one goes to the fallback
    at once; their requests queue one checkpoint behind it, which then copies everything."""
    items, singles = await seed(sqlite_factory)
    started = threading.Semaphore(0)
    release = threading.Event()
    checkpoint = WalCheckpointer._checkpoint
    runs = []

    def slow_checkpoint(self: WalCheckpointer) -> None:
        runs.append(threading.get_ident())
        started.release()
        assert release.wait(10)
        checkpoint(self)

    monkeypatch.setattr(WalCheckpointer, "_checkpoint", slow_checkpoint)
    fallback = CountingStore()
    store = inline_store(migrated_sqlite_url, fallback)
    stored = await store.add_many(plan(items[:3], size=3))
    assert await asyncio.to_thread(started.acquire, True, 10)  # the first checkpoint hangs
    for salt in range(1, 6):
        stored += await asyncio.wait_for(store.add_many(plan(items[:3], size=3, salt=salt)), 5)
    assert len(runs) == 1 and in_database_file(database) == 0

    def broken_file(*_: object) -> list[Attempt]:
        raise sqlite3.DatabaseError("database disk image is malformed")

    with monkeypatch.context() as patch:  # the store starts afresh without waiting for it
        patch.setattr(sqlite_attempt_store, "write_batch", broken_file)
        began = time.monotonic()
        rejected = plan(items[:3], size=2, salt=50)
        assert [a.id for a in await store.add_many(rejected)] == [-1, -2]
        assert time.monotonic() - began < 2 and fallback.batches == [rejected]
    stored += await store.add_many(plan(items[:3], size=2, salt=60))

    release.set()
    store.close()
    assert len(runs) == 2  # the hung one, and one for the batches behind it
    assert threading.get_ident() not in runs
    assert in_database_file(database) == len(singles + stored)
    assert await statistics(sqlite_factory, items) == expected_statistics(singles + stored, items)


async def test_failing_checkpoints_are_logged_once_and_the_next_starts_afresh(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No file (mode=rw never creates one): checkpoints fail on their thread, logged once
    with the file's name only, and the next request opens a new connection and copies the log."""
    path = tmp_path / "later.db"
    checkpointer = WalCheckpointer(path)
    caplog.set_level(logging.INFO, logger="adapters.persistence.wal_checkpointer")
    for _ in range(3):  # one after each commit, say
        checkpointer.request()
        checkpointer.close()
    assert [r.getMessage() for r in caplog.records] == ["WAL checkpoint of later.db failed"]
    assert not path.exists()

    with closing(sqlite3.connect(path, isolation_level=None)) as writer:
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.execute("CREATE TABLE attempts (id INTEGER PRIMARY KEY)")
        writer.execute("INSERT INTO attempts VALUES (1), (2)")
        assert in_database_file(path, "sqlite_master") == 0  # all in the WAL so far
        checkpointer.request()
        checkpointer.close()
        assert in_database_file(path) == 2
    assert caplog.records[-1].getMessage() == "WAL checkpoints of later.db work again"
    assert len(caplog.records) == 2
