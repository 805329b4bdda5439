"""The ItemLookup contract: every lookup answers as `uow.items` does over committed data.

Four lookups run the same cases: UnitOfWorkItemLookup over memory, SQLite and Postgres, and
SqliteItemLookup reading a migrated SQLite file inline (its fallback, the portable lookup on the
same file, is counted: the contract cases must be answered inline). Then what only
SqliteItemLookup does: go to its fallback instead of creating a file, waiting on a lock or
holding the event loop past its time budget for a list.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from adapters.persistence import sqlite_lookup
from adapters.persistence.engine import MMAP_BYTES, create_engine, sqlite_file
from adapters.persistence.inline_sqlite import connect_inline
from adapters.persistence.sqlite_lookup import SqliteItemLookup
from adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from application.lookups import UnitOfWorkItemLookup
from application.ports import ItemLookup, UnitOfWorkFactory
from domain.items import Item, ItemText, TtsStatus
from domain.listing import ItemFilter, ItemSort
from domain.pages import Page, PageRequest
from tests.contract.test_repositories import (  # the persistence contract's own fixtures
    add_attempts,
    add_items,
    make_attempt,
    make_blob,
    make_item,
    uow_factory,
)

__all__ = ["uow_factory"]  # fixture, used by name

LOOKUPS = ["memory", "sqlite", "postgres", "sqlite-inline"]
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
HELSINKI = timezone(timedelta(hours=2))
KEY = "cd" * 32
SENTINEL = replace(make_item("from the fallback"), id=-7)
SENTINEL_TEXT = ItemText("from the fallback", "xx")
SENTINEL_PAGE = Page(rows=[SENTINEL], total=1, request=PageRequest(1, 1))
LIST = -1  # what CountingLookup records for a list
ONE = PageRequest(1, 1)


class CountingLookup(ItemLookup):
    """A fallback that records the ids asked; answers through `inner`, else with SENTINEL."""

    def __init__(self, inner: ItemLookup | None = None) -> None:
        self.inner = inner
        self.calls: list[int] = []

    async def get(self, item_id: int) -> Item | None:
        self.calls.append(item_id)
        return SENTINEL if self.inner is None else await self.inner.get(item_id)

    async def text(self, item_id: int) -> ItemText | None:
        self.calls.append(item_id)
        return SENTINEL_TEXT if self.inner is None else await self.inner.text(item_id)

    async def list(self, where: ItemFilter, sort: ItemSort, page: PageRequest) -> Page[Item]:
        self.calls.append(LIST)
        return SENTINEL_PAGE if self.inner is None else await self.inner.list(where, sort, page)

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(params=LOOKUPS)
def lookup_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def database_url(lookup_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """Overrides test_repositories' `database_url` (which `uow_factory` reads) for the four
    lookups. SQLite files sit in a directory whose name a URI must quote."""
    if lookup_kind == "memory":
        return None
    if lookup_kind == "postgres":
        url: str = request.getfixturevalue("migrated_postgres_url")
        return url
    migrated = sqlite_file(request.getfixturevalue("migrated_sqlite_url"))
    assert migrated is not None
    path = tmp_path / "dä tä #1" / "lw.db"
    path.parent.mkdir()
    shutil.copyfile(migrated, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def lookup(
    lookup_kind: str,
    database_url: str | None,
    uow_factory: UnitOfWorkFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ItemLookup]:
    portable = UnitOfWorkItemLookup(uow_factory)
    if lookup_kind != "sqlite-inline":
        yield portable
        return
    # The time budget has its own test: here a busy machine must not send a list elsewhere.
    monkeypatch.setattr(sqlite_lookup, "INLINE_LIST_SECONDS", 60.0)
    path = sqlite_file(database_url or "")
    assert path is not None
    fallback = CountingLookup(portable)
    inline = SqliteItemLookup(path, fallback)
    yield inline
    inline.close()
    assert fallback.calls == [], "the contract cases must be answered inline"


# ------------------------------------------------------------------------------------- helpers


async def stored(factory: UnitOfWorkFactory, item_id: int) -> Item | None:
    async with factory() as uow:
        return await uow.items.get(item_id)


async def same_as_stored(lookup: ItemLookup, factory: UnitOfWorkFactory, item_id: int) -> Item:
    """The lookup's answers, checked against the unit of work's; the item is returned for
    further checks."""
    expected = await stored(factory, item_id)
    got = await lookup.get(item_id)
    assert got == expected
    assert got is not None
    assert await lookup.text(item_id) == ItemText(got.text, got.locale)
    return got


def assert_aware_utc(item: Item) -> None:
    for moment in (item.created_at, item.updated_at):
        assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0)


# ------------------------------------------------------------------------------ the contract


async def test_lookup_returns_the_whole_item_the_unit_of_work_reads(
    lookup: ItemLookup, uow_factory: UnitOfWorkFactory
) -> None:
    """Every field: tags in position order (not name or insert order), TTS state, timestamps
    as aware UTC with microseconds, and the read-side `practiced` and `audio_duration_ms`."""
    created = datetime(2026, 11, 24, 15, 12, 9, 931547, tzinfo=HELSINKI)
    item = replace(
        make_item(
            "Minä asun Helsingissä — 中文 🎧",
            locale="fi-FI",
            difficulty=3,
            tags=["zebra", "Äiti", "中文 ja 🎧", "alpha", 'quote " and \\'],
            created_at=created,
        ),
        updated_at=created + timedelta(microseconds=1),
        tts_error="fake: transient",
        tts_generation=4,
    )
    [added, untagged] = await add_items(uow_factory, item, make_item("toinen", difficulty=5))
    item_id = added.id or 0

    got = await same_as_stored(lookup, uow_factory, item_id)
    assert got == replace(item, id=item_id)
    assert got.tags == ["zebra", "Äiti", "中文 ja 🎧", "alpha", 'quote " and \\']
    assert got.created_at == datetime(2026, 11, 24, 13, 12, 9, 931547, tzinfo=UTC)
    assert_aware_utc(got)
    assert (got.practiced, got.audio_duration_ms) == (False, None)
    other = await same_as_stored(lookup, uow_factory, untagged.id or 0)
    assert (other.tags, other.difficulty) == ([], 5)

    await add_attempts(uow_factory, make_attempt(item_id))
    assert (await same_as_stored(lookup, uow_factory, item_id)).practiced is True
    assert (await same_as_stored(lookup, uow_factory, untagged.id or 0)).practiced is False

    async with uow_factory() as uow:
        ready = replace(got, tts_status=TtsStatus.READY, tts_error=None, audio_key=KEY)
        await uow.items.update(ready)
        await uow.audio.put(make_blob(KEY, duration_ms=1234))
        await uow.commit()
    got = await same_as_stored(lookup, uow_factory, item_id)
    assert (got.tts_status, got.audio_key, got.audio_duration_ms) == (TtsStatus.READY, KEY, 1234)
    assert got.practiced is True


async def test_missing_ids_are_none(lookup: ItemLookup, uow_factory: UnitOfWorkFactory) -> None:
    """Unknown ids, including the signed 64-bit limits, answer None rather than failing."""
    [added] = await add_items(uow_factory, make_item())
    for item_id in ((added.id or 0) + 1000, 0, -1, INT64_MAX, INT64_MIN):
        assert await lookup.get(item_id) is None
        assert await lookup.text(item_id) is None
    assert await lookup.get(added.id or 0) is not None
    assert await lookup.text(added.id or 0) == ItemText(added.text, added.locale)


async def test_committed_changes_show_on_the_very_next_lookup(
    lookup: ItemLookup, uow_factory: UnitOfWorkFactory
) -> None:
    """No stale snapshot or cache: each commit is seen by the next call, down to the delete."""
    [added] = await add_items(uow_factory, make_item(tags=["a", "b", "c"], difficulty=1))
    item_id = added.id or 0
    await same_as_stored(lookup, uow_factory, item_id)  # the lookup has read once before

    later = added.updated_at + timedelta(seconds=5)
    async with uow_factory() as uow:
        await uow.items.update(replace(added, tags=["ö", "a", "Z"], updated_at=later))
        await uow.commit()
    got = await same_as_stored(lookup, uow_factory, item_id)
    assert (got.tags, got.updated_at) == (["ö", "a", "Z"], later)

    async with uow_factory() as uow:
        await uow.items.update(replace(got, difficulty=4))
        await uow.commit()
    assert (await same_as_stored(lookup, uow_factory, item_id)).difficulty == 4

    async with uow_factory() as uow:
        failed = replace(got, difficulty=4, tts_status=TtsStatus.FAILED, tts_error="boom")
        assert await uow.items.update_tts_if_pending(failed) is True
        await uow.commit()
    got = await same_as_stored(lookup, uow_factory, item_id)
    assert (got.tts_status, got.tts_error, got.tags) == (TtsStatus.FAILED, "boom", ["ö", "a", "Z"])

    async with uow_factory() as uow:
        assert await uow.items.delete(item_id) is not None
        await uow.commit()
    assert await lookup.get(item_id) is None
    assert await lookup.text(item_id) is None
    assert await stored(uow_factory, item_id) is None


async def test_uncommitted_writes_are_not_visible(
    lookup: ItemLookup, uow_factory: UnitOfWorkFactory
) -> None:
    """Reads see committed data only. Lookups that must wait for the open unit of work (memory,
    one pooled SQLite connection) may; whenever they answer, it is the committed item and
    list."""
    [added] = await add_items(uow_factory, make_item(tags=["a"]))
    item_id = added.id or 0
    before = await same_as_stored(lookup, uow_factory, item_id)

    everything = (ItemFilter(), ItemSort.CREATED_ASC, PageRequest(1, 10))
    listed = await lookup.list(*everything)
    assert listed.rows == [before]

    async def read(new_id: int) -> tuple[Item | None, Item | None, Page[Item]]:
        return await lookup.get(item_id), await lookup.get(new_id), await lookup.list(*everything)

    async with uow_factory() as uow:
        changed = replace(before, tags=["b"], difficulty=5, tts_status=TtsStatus.READY)
        await uow.items.update(replace(changed, audio_key=KEY))
        await uow.audio.put(make_blob(KEY))
        await uow.attempts.add(make_attempt(item_id))
        [new] = await uow.items.add_many([make_item("uncommitted")])
        reading = asyncio.create_task(read(new.id or 0))
        done, _ = await asyncio.wait({reading}, timeout=0.3)
        if done:
            assert reading.result() == (before, None, listed)
        # left without commit
    assert await reading == (before, None, listed)
    assert await lookup.get(item_id) == before


async def add_listing_items(factory: UnitOfWorkFactory) -> list[Item]:
    """Items to filter, sort and page: locales, difficulties, tags, attempts and audio."""
    created = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    items = [
        make_item(
            f"Sana {n} {'kissa' if n % 3 == 0 else 'koira'}",
            locale="fi" if n % 4 else "sv",
            difficulty=1 + n % 5,
            tags=[["perus", "eläimet"], ["Perus"], [], ["eläimet", "uusi"]][n % 4],
            # Ties in created_at, which the sorts break by id.
            created_at=created + timedelta(minutes=n // 2),
        )
        for n in range(30)
    ]
    added = await add_items(factory, *items)
    await add_attempts(factory, *(make_attempt(item.id or 0) for item in added[::5]))
    async with factory() as uow:
        await uow.items.update(replace(added[1], tts_status=TtsStatus.READY, audio_key=KEY))
        await uow.audio.put(make_blob(KEY, duration_ms=987))
        await uow.commit()
    return added


LISTS = [
    (ItemFilter(), ItemSort.CREATED_DESC, PageRequest(1, 100)),
    (ItemFilter(), ItemSort.CREATED_ASC, PageRequest(2, 7)),
    (
        ItemFilter(locale="fi", difficulty_min=2, difficulty_max=4),
        ItemSort.DIFFICULTY_ASC,
        PageRequest(1, 5),
    ),
    (ItemFilter(tags=("perus",)), ItemSort.CREATED_DESC, PageRequest(1, 100)),
    (
        ItemFilter(tags=("perus", "eläimet"), locale="fi"),
        ItemSort.DIFFICULTY_DESC,
        PageRequest(1, 3),
    ),
    (
        ItemFilter(tags=("eläimet",), practiced=False, q="koira"),
        ItemSort.CREATED_ASC,
        PageRequest(1, 100),
    ),
    (ItemFilter(practiced=True), ItemSort.CREATED_DESC, PageRequest(1, 100)),
    (ItemFilter(tts_status=TtsStatus.READY), ItemSort.CREATED_DESC, PageRequest(1, 100)),
    (ItemFilter(q="kissa", locale="sv"), ItemSort.DIFFICULTY_ASC, PageRequest(1, 100)),
    (ItemFilter(tags=("ei ole",)), ItemSort.CREATED_DESC, PageRequest(1, 100)),
    (ItemFilter(), ItemSort.CREATED_DESC, PageRequest(9, 20)),  # past the end
]


async def test_lists_answer_as_the_unit_of_work(
    lookup: ItemLookup, uow_factory: UnitOfWorkFactory
) -> None:
    """Filters, tags (AND), text search, sorts with ties, pages and a page past the end: the
    same items in the same order, with the same total, as `uow.items.list`."""
    added = await add_listing_items(uow_factory)
    for where, sort, page in LISTS:
        async with uow_factory() as uow:
            expected = await uow.items.list(where, sort, page)
        assert await lookup.list(where, sort, page) == expected, (where, sort, page)
    every = await lookup.list(ItemFilter(), ItemSort.CREATED_ASC, PageRequest(1, 100))
    assert [item.id for item in every.rows] == [item.id for item in added]
    assert (every.rows[1].audio_duration_ms, every.rows[5].practiced) == (987, True)
    assert every.rows[0].tags == ["perus", "eläimet"]
    for item in every.rows:
        assert_aware_utc(item)


# ---------------------------------------------------------------- SqliteItemLookup on its own


async def add_and_read(url: str, item: Item) -> Item:
    """Commit an item through SQLAlchemy (closing the engine after) and return it as stored."""
    engine = create_engine(url)
    try:
        factory = SqlUnitOfWorkFactory(engine)
        [added] = await add_items(factory, item)
        found = await stored(factory, added.id or 0)
    finally:
        await engine.dispose()
    assert found is not None
    return found


async def test_a_missing_file_goes_to_the_fallback_and_is_not_created(
    tmp_path: Path, migrated_sqlite_url: str
) -> None:
    """mode=rw: the lookup never creates a database (nor one without the schema); once the
    migrations have made the file, the next call reads it inline."""
    path = tmp_path / "data" / "lw.db"
    path.parent.mkdir()
    fallback = CountingLookup()
    lookup = SqliteItemLookup(path, fallback)

    assert await lookup.get(1) is SENTINEL
    assert await lookup.list(ItemFilter(), ItemSort.CREATED_DESC, PageRequest(1, 20)) is (
        SENTINEL_PAGE
    )
    assert await lookup.get(2) is SENTINEL
    assert fallback.calls == [1, LIST, 2]
    assert list(path.parent.iterdir()) == []

    path.touch()  # a file without tables yet
    assert await lookup.get(3) is SENTINEL
    assert await lookup.list(ItemFilter(), ItemSort.CREATED_DESC, PageRequest(1, 20)) is (
        SENTINEL_PAGE
    )
    assert fallback.calls == [1, LIST, 2, 3, LIST]
    assert path.stat().st_size == 0

    migrated = sqlite_file(migrated_sqlite_url)
    assert migrated is not None
    item = await add_and_read(migrated_sqlite_url, make_item(tags=["x"]))
    shutil.copyfile(migrated, path)
    assert await lookup.get(item.id or 0) == item
    page = await lookup.list(ItemFilter(tags=("x",)), ItemSort.CREATED_DESC, PageRequest(1, 20))
    assert (page.rows, page.total) == ([item], 1)
    assert fallback.calls == [1, LIST, 2, 3, LIST]
    lookup.close()


async def test_a_locked_database_goes_to_the_fallback_instead_of_waiting(
    migrated_sqlite_url: str,
) -> None:
    """A reader that would wait (rollback journal, a writer holding EXCLUSIVE) answers through
    the fallback at once; after the lock is gone the next call is served inline again."""
    path = sqlite_file(migrated_sqlite_url)
    assert path is not None
    item = await add_and_read(migrated_sqlite_url, make_item(tags=["lukko"]))
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        assert connection.execute("PRAGMA journal_mode=DELETE").fetchone() == ("delete",)
    fallback = CountingLookup()
    lookup = SqliteItemLookup(path, fallback)
    assert await lookup.get(item.id or 0) == item  # inline, the connection now open

    # timeout: taking EXCLUSIVE fails fast if the lookup still held a read lock.
    holder = sqlite3.connect(path, isolation_level=None, timeout=0.5)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        got = await asyncio.wait_for(lookup.get(item.id or 0), 1)
        text = await asyncio.wait_for(lookup.text(item.id or 0), 1)
        page = await asyncio.wait_for(lookup.list(ItemFilter(), ItemSort.CREATED_DESC, ONE), 1)
        elapsed = time.monotonic() - started  # wait_for cannot interrupt a blocking read
        assert (got, text, page) == (SENTINEL, SENTINEL_TEXT, SENTINEL_PAGE)
        assert fallback.calls == [item.id, item.id, LIST]
        assert elapsed < 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert await lookup.get(item.id or 0) == item
    assert await lookup.text(item.id or 0) == ItemText(item.text, item.locale)
    page = await lookup.list(ItemFilter(), ItemSort.CREATED_DESC, ONE)
    assert (page.rows, page.total) == ([item], 1)
    assert fallback.calls == [item.id, item.id, LIST]
    lookup.close()


async def test_close_then_reads_reopen(migrated_sqlite_url: str) -> None:
    """`close()` at shutdown is not final: a later `get` or `list` reopens the connection (and
    the list's session on it), inline."""
    path = sqlite_file(migrated_sqlite_url)
    assert path is not None
    item = await add_and_read(migrated_sqlite_url, make_item(tags=["auki"]))
    fallback = CountingLookup()
    lookup = SqliteItemLookup(path, fallback)
    tagged = (ItemFilter(tags=("auki",)), ItemSort.CREATED_DESC, PageRequest(1, 5))

    lookup.close()  # before any connection: nothing to close
    assert await lookup.get(item.id or 0) == item
    assert (await lookup.list(*tagged)).rows == [item]
    lookup.close()
    lookup.close()
    assert (await lookup.list(*tagged)).rows == [item]
    assert await lookup.get(item.id or 0) == item
    lookup.close()
    assert await lookup.get((item.id or 0) + 1) is None
    assert (await lookup.list(*tagged)).rows == [item]
    assert fallback.calls == []
    lookup.close()


async def test_a_timestamp_stored_with_an_offset_is_read_as_that_instant(
    migrated_sqlite_url: str,
) -> None:
    """SQLAlchemy stores naive UTC text, to which the lookup appends the UTC offset; a value
    some other tool wrote with an offset keeps it instead of failing or being shifted."""
    path = sqlite_file(migrated_sqlite_url)
    assert path is not None
    item = await add_and_read(migrated_sqlite_url, make_item(tags=["aika"]))
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute(
            "UPDATE items SET updated_at = '2026-11-24 15:12:09.931547+02:00' WHERE id = ?",
            (item.id,),
        )
    lookup = SqliteItemLookup(path, CountingLookup())
    got = await lookup.get(item.id or 0)
    lookup.close()
    assert got is not None
    assert got.created_at == item.created_at
    assert got.updated_at == datetime(2026, 11, 24, 13, 12, 9, 931547, tzinfo=UTC)


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[sqlite3.Connection]:
    """Every connection the inline lookups open, in order."""
    connections: list[sqlite3.Connection] = []

    def recording(path: Path) -> sqlite3.Connection:
        connections.append(connect_inline(path))
        return connections[-1]

    monkeypatch.setattr(sqlite_lookup, "connect_inline", recording)
    return connections


async def test_a_list_over_its_time_budget_is_read_again_on_the_drivers_thread(
    migrated_sqlite_url: str, monkeypatch: pytest.MonkeyPatch, opened: list[sqlite3.Connection]
) -> None:
    """SQLite interrupts an inline list that runs past `INLINE_LIST_SECONDS` (here none at all)
    and the portable path answers; the connection stays open and serves the next reads inline,
    with no time limit left behind on it."""
    path = sqlite_file(migrated_sqlite_url)
    assert path is not None
    engine = create_engine(migrated_sqlite_url)
    try:
        factory = SqlUnitOfWorkFactory(engine)
        added = await add_items(factory, *(make_item(f"sana {n}", tags=["t"]) for n in range(300)))
        fallback = CountingLookup(UnitOfWorkItemLookup(factory))
        lookup = SqliteItemLookup(path, fallback)
        where, sort, page = ItemFilter(tags=("t",), q="sana"), ItemSort.CREATED_DESC, ONE
        async with factory() as uow:
            expected = await uow.items.list(where, sort, page)
        assert expected.total == 300

        monkeypatch.setattr(sqlite_lookup, "INLINE_LIST_SECONDS", 0.0)
        assert await lookup.list(where, sort, page) == expected
        assert fallback.calls == [LIST]
        (connection,) = opened  # not closed and reopened: an interruption is no fault
        # A full scan, far more steps than the progress handler's interval: inline still.
        count = "SELECT count(*) FROM items WHERE search_text LIKE '%sana%'"
        assert connection.execute(count).fetchone() == (300,)
        assert await lookup.get(added[0].id or 0) == added[0]
        assert fallback.calls == [LIST]

        monkeypatch.setattr(sqlite_lookup, "INLINE_LIST_SECONDS", 60.0)
        assert await lookup.list(where, sort, page) == expected
        assert fallback.calls == [LIST]
        assert opened == [connection]
        lookup.close()
    finally:
        await engine.dispose()


async def test_the_lookup_reads_through_a_memory_map(
    migrated_sqlite_url: str, opened: list[sqlite3.Connection]
) -> None:
    # A performance setting, but one a refactor would lose silently.
    path = sqlite_file(migrated_sqlite_url)
    assert path is not None
    lookup = SqliteItemLookup(path, CountingLookup())
    assert await lookup.get(1) is None  # opens its connection
    (connection,) = opened
    assert connection.execute("PRAGMA mmap_size").fetchone() == (MMAP_BYTES,)
    lookup.close()
