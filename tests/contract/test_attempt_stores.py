"""AttemptStore: the portable store on memory, SQLite and Postgres, and SqliteAttemptStore (its
statements inline, its commit on its own thread), held to one contract; then what only the
inline store does: locks, missing files, close, cancellation."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import aclosing, closing
from dataclasses import replace
from itertools import count, pairwise
from pathlib import Path

import pytest

from adapters.persistence import sqlite_attempt_store
from adapters.persistence.engine import sqlite_file
from adapters.persistence.sqlite_attempt_store import SqliteAttemptStore
from application.attempt_store import UnitOfWorkAttemptStore
from application.ports import AttemptStore, UnitOfWorkFactory
from domain.attempts import Attempt
from domain.errors import ItemNotFoundError
from tests.contract.test_attempt_batches import expected_statistics, plan, seed, statistics
from tests.contract.test_repositories import (  # the persistence contract's own fixtures
    _factory,
    make_attempt,
    uow_factory,
)

__all__ = ["uow_factory"]  # fixture, used by name

STORES = ["memory", "sqlite", "postgres", "sqlite-inline"]


class CountingStore(AttemptStore):
    """A fallback that records the batches it gets; stores through `inner`, else hands out ids
    of its own."""

    def __init__(self, inner: AttemptStore | None = None) -> None:
        self.inner = inner
        self.batches: list[list[Attempt]] = []
        self._ids = count(-1, -1)

    async def add_many(self, attempts: Sequence[Attempt]) -> list[Attempt]:
        self.batches.append(list(attempts))
        if self.inner is not None:
            return await self.inner.add_many(attempts)
        return [replace(a, id=next(self._ids)) for a in attempts]

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def database_url(store_kind: str, request: pytest.FixtureRequest) -> str | None:
    """Overrides test_repositories' `database_url` (which `uow_factory` reads)."""
    if store_kind == "memory":
        return None
    fixture = "migrated_postgres_url" if store_kind == "postgres" else "migrated_sqlite_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def store(
    store_kind: str, database_url: str | None, uow_factory: UnitOfWorkFactory
) -> Iterator[AttemptStore]:
    portable = UnitOfWorkAttemptStore(uow_factory)
    if store_kind != "sqlite-inline":
        yield portable
        return
    path = sqlite_file(database_url or "")
    assert path is not None
    fallback = CountingStore(portable)
    inline = SqliteAttemptStore(path, fallback)
    yield inline
    inline.close()
    assert fallback.batches == [], "the contract cases must be stored inline"


# ------------------------------------------------------------------------------- the contract


async def test_a_batch_is_committed_in_order_and_counted_in_the_statistics(
    store: AttemptStore, uow_factory: UnitOfWorkFactory
) -> None:
    items, singles = await seed(uow_factory)
    batch = plan(items[:3])
    added = await store.add_many(batch)

    ids = [a.id or 0 for a in added]
    assert all(a < b for a, b in pairwise(ids)) and ids[0] > max(a.id or 0 for a in singles)
    assert added == [replace(a, id=i) for a, i in zip(batch, ids, strict=True)]
    async with uow_factory() as uow:  # committed: a new unit of work reads every one back
        assert [await uow.attempts.get(i) for i in ids] == added
    assert await statistics(uow_factory, items) == expected_statistics(singles + batch, items)

    more = plan(items, size=7, salt=3)
    await store.add_many(more)
    assert await store.add_many([]) == []
    everything = singles + batch + more
    assert await statistics(uow_factory, items) == expected_statistics(everything, items)


async def test_a_batch_with_a_missing_item_stores_nothing_and_the_store_goes_on(
    store: AttemptStore, uow_factory: UnitOfWorkFactory
) -> None:
    items, singles = await seed(uow_factory)
    batch = plan(items[:3])
    batch[7] = replace(batch[7], item_id=999_999)
    with pytest.raises(ItemNotFoundError):
        await store.add_many(batch)
    assert await statistics(uow_factory, items) == expected_statistics(singles, items)

    [after] = await store.add_many([make_attempt(items[0].id or 0)])
    async with uow_factory() as uow:
        assert await uow.attempts.get(after.id or 0) == after
    assert await statistics(uow_factory, items) == expected_statistics([*singles, after], items)


# ------------------------------------------------------------ SqliteAttemptStore on its own


@pytest.fixture
async def sqlite_factory(migrated_sqlite_url: str) -> AsyncIterator[UnitOfWorkFactory]:
    async for factory in _factory(migrated_sqlite_url):
        yield factory


def inline_store(url: str, fallback: AttemptStore) -> SqliteAttemptStore:
    path = sqlite_file(url)
    assert path is not None
    return SqliteAttemptStore(path, fallback)


def stored_rows(path: Path) -> dict[str, list[tuple[str, ...]]]:
    """Every row of the tables an attempt batch writes, each value as SQLite's own literal
    (`quote()`: its storage class and exact text or number)."""
    rows = {}
    with closing(sqlite3.connect(path)) as connection:
        for table in ("attempts", "item_attempt_stats", "daily_attempt_stats"):
            columns = [c[1] for c in connection.execute(f"PRAGMA table_info({table})")]
            literals = ", ".join(f"quote({c})" for c in columns)
            rows[table] = connection.execute(
                f"SELECT {literals} FROM {table} ORDER BY 1"
            ).fetchall()
    return rows


async def test_the_inline_store_writes_the_rows_the_portable_path_writes(
    migrated_sqlite_url: str, sqlite_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    """Its statements are compiled once and bound without a session: the same batches, stored
    on two copies of one database, leave the same bytes in every column (timestamps, JSON,
    floats), so that every reader sees one format."""
    path = sqlite_file(migrated_sqlite_url)
    assert path is not None
    items, _ = await seed(sqlite_factory)
    twin = tmp_path / "twin.db"
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("VACUUM INTO ?", (str(twin),))
    twin_url = f"sqlite+aiosqlite:///{twin}"
    batches = [plan(items, size=n, salt=10 * n) for n in (1, 7, 20)]
    batches.append([replace(a, duration_ms=None) for a in plan(items[:1], size=2, salt=3)])

    inline = inline_store(migrated_sqlite_url, CountingStore())
    async for twin_factory in _factory(twin_url):
        portable = UnitOfWorkAttemptStore(twin_factory)
        for batch in batches:
            assert await inline.add_many(batch) == await portable.add_many(batch)
    inline.close()
    assert stored_rows(path) == stored_rows(twin)
    assert len(stored_rows(path)["attempts"]) == 5 + sum(map(len, batches))


async def test_a_batch_larger_than_one_statement_takes_is_split_and_stored_whole(
    migrated_sqlite_url: str, sqlite_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite builds differ in how many parameters a statement takes (999 before 3.32): the
    INSERT goes in chunks of whole rows that fit, in one transaction, still inline."""
    items, singles = await seed(sqlite_factory)
    inserts: list[str] = []
    connect = SqliteAttemptStore._connect

    def limited(self: SqliteAttemptStore) -> sqlite3.Connection:
        connection = connect(self)
        connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 30)  # two rows of 12
        connection.set_trace_callback(
            lambda sql: inserts.append(sql) if sql.startswith("INSERT INTO attempts") else None
        )
        return connection

    monkeypatch.setattr(SqliteAttemptStore, "_connect", limited)
    fallback = CountingStore()
    store = inline_store(migrated_sqlite_url, fallback)
    batch = plan(items[:3], size=5)
    added = await store.add_many(batch)
    store.close()

    assert fallback.batches == [] and len(inserts) == 3  # 2 + 2 + 1 rows
    ids = [a.id or 0 for a in added]
    assert all(a < b for a, b in pairwise(ids))
    assert added == [replace(a, id=i) for a, i in zip(batch, ids, strict=True)]
    assert await statistics(sqlite_factory, items) == expected_statistics(singles + batch, items)


async def test_a_locked_database_goes_to_the_fallback_instead_of_waiting(
    migrated_sqlite_url: str, sqlite_factory: UnitOfWorkFactory, traced: list[tuple[str, int]]
) -> None:
    """Another connection holds the write lock: the batch goes at once to the fallback (which
    waits on the driver's thread, not on the event loop's) and is stored once; the next batch
    is inline again, on the same connection."""
    items, singles = await seed(sqlite_factory)
    fallback = CountingStore(UnitOfWorkAttemptStore(sqlite_factory))
    store = inline_store(migrated_sqlite_url, fallback)
    first = await store.add_many(plan(items[:3], size=3))  # inline: the connection is open
    assert fallback.batches == []

    path = sqlite_file(migrated_sqlite_url)
    holder = sqlite3.connect(path or "", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        blocked = plan(items[:3], size=4, salt=20)
        started = time.monotonic()
        writing = asyncio.create_task(store.add_many(blocked))
        await asyncio.sleep(0.3)
        assert time.monotonic() - started < 2  # nobody waited on the event loop's thread
        assert fallback.batches == [blocked] and not writing.done()
    finally:
        holder.execute("COMMIT")
        holder.close()
    through_fallback = await asyncio.wait_for(writing, 10)

    after = await store.add_many(plan(items[:3], size=2, salt=40))
    assert len(fallback.batches) == 1
    assert [s for s, _ in traced].count("CONNECTED") == 1
    everything = singles + first + through_fallback + after
    assert await statistics(sqlite_factory, items) == expected_statistics(everything, items)
    store.close()


async def test_a_missing_file_goes_to_the_fallback_and_is_not_created(
    tmp_path: Path, migrated_sqlite_url: str, sqlite_factory: UnitOfWorkFactory
) -> None:
    """mode=rw: the store never creates a database (nor writes into one without the schema);
    once the migrations have made the file, the next batch is stored inline."""
    items, _ = await seed(sqlite_factory)
    path = tmp_path / "data" / "lw.db"
    path.parent.mkdir()
    fallback = CountingStore()
    store = SqliteAttemptStore(path, fallback)
    missing = plan(items[:3], size=2)
    assert [a.id for a in await store.add_many(missing)] == [-1, -2]
    assert list(path.parent.iterdir()) == []

    path.touch()  # a file without tables yet
    await store.add_many(missing)
    assert len(fallback.batches) == 2 and path.stat().st_size == 0

    migrated = sqlite_file(migrated_sqlite_url)
    assert migrated is not None
    with closing(sqlite3.connect(migrated)) as connection:  # the seeded items into the file
        assert connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    path.write_bytes(migrated.read_bytes())
    stored = await store.add_many(missing)
    assert all((a.id or 0) > 0 for a in stored) and len(fallback.batches) == 2
    store.close()


async def test_close_then_the_next_batch_reopens(
    migrated_sqlite_url: str, sqlite_factory: UnitOfWorkFactory, traced: list[tuple[str, int]]
) -> None:
    """`close()` at shutdown releases the connection and is not final: the next batch opens a
    new one, inline."""
    items, singles = await seed(sqlite_factory)
    fallback = CountingStore()
    store = inline_store(migrated_sqlite_url, fallback)
    store.close()  # before any connection: nothing to close
    added = []
    for salt in range(3):
        added += await store.add_many(plan(items[:3], size=3, salt=salt * 10))
        store.close()
        store.close()
    assert fallback.batches == []
    assert [s for s, _ in traced].count("CONNECTED") == 3  # one per batch: each was closed
    assert await statistics(sqlite_factory, items) == expected_statistics(singles + added, items)


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """(statement, thread id) of what the inline store's connections run, as SQLite sees it."""
    seen: list[tuple[str, int]] = []
    connect = SqliteAttemptStore._connect

    def tracing(self: SqliteAttemptStore) -> sqlite3.Connection:
        connection = connect(self)
        seen.append(("CONNECTED", threading.get_ident()))
        connection.set_trace_callback(
            lambda statement: seen.append((statement.split()[0], threading.get_ident()))
        )
        return connection

    monkeypatch.setattr(SqliteAttemptStore, "_connect", tracing)
    return seen


async def test_statements_run_on_the_event_loop_and_the_commit_on_the_stores_thread(
    migrated_sqlite_url: str, sqlite_factory: UnitOfWorkFactory, traced: list[tuple[str, int]]
) -> None:
    items, _ = await seed(sqlite_factory)
    store = inline_store(migrated_sqlite_url, CountingStore())
    for salt in range(2):
        await store.add_many(plan(items[:3], size=3, salt=salt))
    store.close()

    loop_thread = threading.get_ident()
    writes = [(s, t) for s, t in traced if s in {"BEGIN", "INSERT", "COMMIT"}]
    steps = [s for n, (s, _) in enumerate(writes) if n == 0 or writes[n - 1][0] != s]
    assert steps == ["BEGIN", "INSERT", "COMMIT"] * 2  # the attempts, then both rollups
    assert {t for s, t in writes if s != "COMMIT"} == {loop_thread}
    committers = {t for s, t in writes if s == "COMMIT"}
    assert len(committers) == 1 and loop_thread not in committers


async def test_a_caller_cancelled_during_the_commit_leaves_it_to_finish(
    migrated_sqlite_url: str,
    sqlite_factory: UnitOfWorkFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The commit cannot be taken back once on its thread: the cancelled caller waits for it
    (the connection is never used by two threads at once), the batch is stored, and the store
    goes on."""
    items, singles = await seed(sqlite_factory)
    committing = threading.Event()
    release = threading.Event()
    commit = sqlite_attempt_store._commit

    def slow_commit(connection: sqlite3.Connection) -> None:
        committing.set()
        assert release.wait(10)
        commit(connection)

    monkeypatch.setattr(sqlite_attempt_store, "_commit", slow_commit)
    store = inline_store(migrated_sqlite_url, CountingStore())
    batch = plan(items[:3], size=3)
    writing = asyncio.create_task(store.add_many(batch))
    assert await asyncio.to_thread(committing.wait, 10)
    writing.cancel()
    await asyncio.sleep(0.05)
    assert not writing.done()  # still waiting for the commit's thread
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await writing

    monkeypatch.setattr(sqlite_attempt_store, "_commit", commit)
    [after] = await store.add_many([make_attempt(items[0].id or 0)])
    store.close()
    everything = [*singles, *batch, after]
    assert await statistics(sqlite_factory, items) == expected_statistics(everything, items)


async def test_a_commit_that_fails_on_the_stores_thread_stores_nothing_and_goes_to_the_fallback(
    migrated_sqlite_url: str,
    sqlite_factory: UnitOfWorkFactory,
    monkeypatch: pytest.MonkeyPatch,
    traced: list[tuple[str, int]],
) -> None:
    """With foreign keys deferred, a missing item fails the batch at COMMIT, on the store's
    thread, after every statement ran inline: the batch is rolled back, handed to the fallback
    (which answers as the portable path does) and stored by neither; the next batch is inline
    again, on a new connection."""
    items, singles = await seed(sqlite_factory)

    def begin_deferring(connection: sqlite3.Connection) -> None:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("PRAGMA defer_foreign_keys=ON")  # until COMMIT or ROLLBACK

    monkeypatch.setattr(sqlite_attempt_store, "_begin", begin_deferring)
    fallback = CountingStore(UnitOfWorkAttemptStore(sqlite_factory))
    store = inline_store(migrated_sqlite_url, fallback)
    batch = plan(items[:3], size=4)
    batch[2] = replace(batch[2], item_id=999_999)
    with pytest.raises(ItemNotFoundError):
        await store.add_many(batch)
    assert fallback.batches == [batch]
    loop_thread = threading.get_ident()
    assert [s for s, t in traced if t != loop_thread] == ["COMMIT"]  # failed there, once
    assert [s for s, _ in traced][-2:] == ["COMMIT", "ROLLBACK"]  # undone, not only closed
    assert await statistics(sqlite_factory, items) == expected_statistics(singles, items)

    after = await store.add_many(plan(items[:3], size=2, salt=30))
    store.close()
    assert len(fallback.batches) == 1
    assert [s for s, _ in traced].count("CONNECTED") == 2  # the failed one was closed
    everything = [*singles, *after]
    assert await statistics(sqlite_factory, items) == expected_statistics(everything, items)


def test_the_store_serves_a_new_event_loop_after_close(migrated_sqlite_url: str) -> None:
    """An app can be started again on another event loop (a second test client, say) with the
    same container: close() at the first shutdown must not leave the store tied to the first
    loop, even when batches had to wait for their turn there."""
    store = inline_store(migrated_sqlite_url, CountingStore())

    async def two_waiting_batches() -> int:
        async with aclosing(_factory(migrated_sqlite_url)) as factories:
            items, _ = await seed(await anext(factories))
        batches = [plan(items[:3], size=4, salt=salt) for salt in range(3)]
        stored = await asyncio.gather(*(store.add_many(b) for b in batches))
        store.close()
        return sum(len(s) for s in stored)

    assert asyncio.run(two_waiting_batches()) == 12
    assert asyncio.run(two_waiting_batches()) == 12
