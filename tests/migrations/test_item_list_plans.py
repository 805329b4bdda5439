"""Revision 0005: SQLite plans the item list's locale filters on the locale indexes.

The statements are the repository's own, captured as `SqlItemRepository.list` sends them, and
planned with EXPLAIN QUERY PLAN under the planner statistics a database may hold: none (the app
never runs ANALYZE), those ANALYZE writes for the 100,000-item bench database (bench/seed.py),
and those of that database analyzed before 0005 (none yet for the indexes 0005 creates).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from adapters.persistence.engine import create_engine
from adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from domain.listing import ItemFilter, ItemSort
from domain.pages import PageRequest
from tests.contract.test_repositories import make_item

# sqlite_stat1 rows of the bench database at head, as ANALYZE wrote them.
BENCH_ITEMS_STATS = {
    "ix_items_audio_key": "100000 100000",
    "ix_items_tts_status": "100000 100000",
    "ix_items_created_at_id": "100000 1 1",
    "ix_items_difficulty_id": "100000 20000 1",
    "ix_items_locale": "100000 33334",
    "ix_items_locale_difficulty_id": "100000 33334 6667 1",
    "ix_items_locale_created_at_id": "100000 33334 1 1",
}
BENCH_ATTEMPTS_STATS = {
    "ix_attempts_created_at_item_id_percentage_wer_duration_ms": "1000000 1 1 1 1 1",
    "ix_attempts_item_id_created_at": "1000000 11 1",
}
CREATED_BY_0005 = {
    "ix_items_locale",
    "ix_items_locale_difficulty_id",
    "ix_items_locale_created_at_id",
}
STATISTICS: dict[str, dict[str, dict[str, str]] | None] = {
    "no statistics": None,
    "bench statistics": {"items": BENCH_ITEMS_STATS, "attempts": BENCH_ATTEMPTS_STATS},
    "analyzed before 0005": {
        "items": {k: v for k, v in BENCH_ITEMS_STATS.items() if k not in CREATED_BY_0005},
        "attempts": BENCH_ATTEMPTS_STATS,
    },
}

FI_2_3 = ItemFilter(locale="fi", difficulty_min=2, difficulty_max=3)


@dataclass(frozen=True)
class Plans:
    count: list[str]
    page: list[str]


def _set_statistics(path: str, statistics: Mapping[str, Mapping[str, str]] | None) -> None:
    connection = sqlite3.connect(path)
    try:
        with connection:
            if statistics is not None:
                connection.execute("ANALYZE")  # creates sqlite_stat1
                connection.execute("DELETE FROM sqlite_stat1")
                connection.executemany(
                    "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)",
                    [
                        (table, index, stat)
                        for table, rows in statistics.items()
                        for index, stat in rows.items()
                    ],
                )
    finally:
        connection.close()


@pytest.fixture(params=list(STATISTICS))
async def database(request: pytest.FixtureRequest, migrated_sqlite_url: str) -> str:
    """The migrated file, with a few items (so pages are read) and the statistics under test."""
    engine = create_engine(migrated_sqlite_url)
    try:
        async with SqlUnitOfWorkFactory(engine)() as uow:
            await uow.items.add_many(
                [
                    make_item(str(n), locale=locale, difficulty=1 + n % 5)
                    for n, locale in enumerate(["fi", "fi", "fi", "en-US", "sv"] * 4)
                ]
            )
            await uow.commit()
    finally:
        await engine.dispose()
    path = make_url(migrated_sqlite_url).database
    assert path is not None
    _set_statistics(path, STATISTICS[request.param])  # read by connections opened from here on
    return path


async def _plans(path: str, where: ItemFilter, sort: ItemSort) -> Plans:
    """The query plans of the count and the page `SqlItemRepository.list` sends."""
    sent: list[tuple[str, Any]] = []
    engine = create_engine(f"sqlite+aiosqlite:///{path}")

    def capture(*args: Any) -> None:
        _connection, _cursor, statement, parameters, _context, _many = args
        sent.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with SqlUnitOfWorkFactory(engine)() as uow:
            page = await uow.items.list(where, sort, PageRequest(1, 20))
    finally:
        await engine.dispose()
    assert page.rows, "the page query was not sent"
    (count, count_parameters), (query, query_parameters) = sent[:2]
    assert "count(" in count.lower()
    connection = sqlite3.connect(path)
    try:
        return Plans(
            count=_plan(connection, count, count_parameters),
            page=_plan(connection, query, query_parameters),
        )
    finally:
        connection.close()


def _plan(connection: sqlite3.Connection, statement: str, parameters: Any) -> list[str]:
    return [row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)]


def _items_access(plan: list[str]) -> str:
    """How the outer query reads items (its first step)."""
    assert plan and plan[0].startswith(("SEARCH items ", "SCAN items ")), plan
    return plan[0]


def _sorts(plan: list[str]) -> bool:
    return any(step.startswith("USE TEMP B-TREE FOR ORDER BY") for step in plan)


async def test_a_locale_and_difficulty_range_is_counted_from_one_index(database: str) -> None:
    plans = await _plans(database, FI_2_3, ItemSort.CREATED_DESC)
    assert plans.count == [
        "SEARCH items USING COVERING INDEX ix_items_locale_difficulty_id"
        " (locale=? AND difficulty>? AND difficulty<?)"
    ]


@pytest.mark.parametrize(
    ("sort", "index"),
    [
        (ItemSort.CREATED_DESC, "ix_items_locale_created_at_id"),
        (ItemSort.CREATED_ASC, "ix_items_locale_created_at_id"),
        (ItemSort.DIFFICULTY_ASC, "ix_items_locale_difficulty_id"),
        (ItemSort.DIFFICULTY_DESC, "ix_items_locale_difficulty_id"),
    ],
)
async def test_pages_of_a_locale_are_read_in_the_order_of_the_index_for_their_sort(
    database: str, sort: ItemSort, index: str
) -> None:
    for where in (FI_2_3, ItemFilter(locale="fi")):
        plans = await _plans(database, where, sort)
        access = _items_access(plans.page)
        assert access.startswith(f"SEARCH items USING INDEX {index}"), access
        assert not _sorts(plans.page), plans.page


async def test_a_locale_alone_is_still_counted_from_ix_items_locale(database: str) -> None:
    # The narrowest index; filters only the rows answer read them in rowid order through it.
    plans = await _plans(database, ItemFilter(locale="fi"), ItemSort.CREATED_DESC)
    assert plans.count == ["SEARCH items USING COVERING INDEX ix_items_locale (locale=?)"]
    plans = await _plans(database, ItemFilter(locale="fi", q="0"), ItemSort.CREATED_DESC)
    assert plans.count == ["SEARCH items USING INDEX ix_items_locale (locale=?)"]


async def test_a_difficulty_range_alone_is_still_counted_from_ix_items_difficulty_id(
    database: str,
) -> None:
    where = ItemFilter(difficulty_min=2, difficulty_max=3)
    plans = await _plans(database, where, ItemSort.CREATED_DESC)
    assert plans.count == [
        "SEARCH items USING COVERING INDEX ix_items_difficulty_id (difficulty>? AND difficulty<?)"
    ]
    access = _items_access(plans.page)
    assert access.startswith("SCAN items USING INDEX ix_items_created_at_id"), access
    assert not _sorts(plans.page), plans.page
