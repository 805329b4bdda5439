"""Revision 0004 fills the tag rows' copies of their items' locale, difficulty and created_at."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence import migrate
from adapters.persistence.engine import create_engine
from adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from domain.items import Item
from domain.listing import ItemFilter, ItemSort
from tests.contract.test_repositories import list_ids, make_item
from tests.support.early_schema import insert_items

HELSINKI = timezone(timedelta(hours=2))
ITEMS = [
    make_item("a", difficulty=2, tags=["Basics", "travel"]),
    make_item("b", locale="en-US", difficulty=5, tags=["basics"]),
    make_item("c", difficulty=3, created_at=datetime(2026, 11, 24, 15, 0, tzinfo=HELSINKI)),
    make_item("d", locale="fi-FI", difficulty=1, tags=["food", "basics", "work"]),
]
TAG_ROWS = sum(len(item.tags) for item in ITEMS)


@asynccontextmanager
async def _engine(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _insert_at_0003(engine: AsyncEngine, items: list[Item]) -> None:
    async with engine.begin() as connection:
        await insert_items(connection, items)


async def _copies_differing_from_their_items(engine: AsyncEngine) -> tuple[int, int]:
    """(tag rows, tag rows whose copies differ from their item's columns)."""
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                sa.text(
                    "SELECT count(*), coalesce(sum(CASE WHEN t.locale = i.locale"
                    " AND t.difficulty = i.difficulty AND t.created_at = i.created_at"
                    " THEN 0 ELSE 1 END), 0)"
                    " FROM item_tags t JOIN items i ON i.id = t.item_id"
                )
            )
        ).one()
    return int(row[0]), int(row[1])


async def _tag_names(engine: AsyncEngine) -> list[tuple[int, int, str]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.text("SELECT item_id, position, name FROM item_tags ORDER BY item_id, position")
        )
        return [(int(i), int(p), str(n)) for i, p, n in rows]


async def test_the_migration_fills_the_copies_of_existing_tag_rows(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    await asyncio.to_thread(migrate.upgrade, url, "0003")
    async with _engine(url) as engine:
        await _insert_at_0003(engine, ITEMS)
        names_before = await _tag_names(engine)

    await asyncio.to_thread(migrate.upgrade, url)

    async with _engine(url) as engine:
        assert await _copies_differing_from_their_items(engine) == (TAG_ROWS, 0)
        factory = SqlUnitOfWorkFactory(engine)
        a, b, c, d = range(1, 5)
        basics = ItemFilter(tags=("basics",))
        assert await list_ids(factory, replace(basics, locale="fi", difficulty_min=2)) == [a]
        assert await list_ids(factory, replace(basics, locale="en-US")) == [b]
        assert await list_ids(factory, replace(basics, difficulty_max=1)) == [d]
        assert await list_ids(factory, basics, ItemSort.DIFFICULTY_DESC) == [b, a, d]
        assert await list_ids(factory, ItemFilter(tags=("food", "work"), locale="fi-FI")) == [d]
        assert await list_ids(factory, ItemFilter(difficulty_min=3, difficulty_max=3)) == [c]
        # And the copies keep up with writes from there on.
        async with factory() as uow:
            item = await uow.items.get(a)
            assert item is not None
            await uow.items.update(replace(item, difficulty=4, updated_at=datetime.now(UTC)))
            await uow.commit()
        assert await _copies_differing_from_their_items(engine) == (TAG_ROWS, 0)
        assert await list_ids(factory, replace(basics, locale="fi", difficulty_min=4)) == [a]

    # Downgrading keeps the tag rows themselves; upgrading again fills the copies again.
    await asyncio.to_thread(migrate.downgrade, url, "0003")
    async with _engine(url) as engine:
        assert await _tag_names(engine) == names_before
    await asyncio.to_thread(migrate.upgrade, url)
    async with _engine(url) as engine:
        assert await _copies_differing_from_their_items(engine) == (TAG_ROWS, 0)
