"""AttemptRepository.add_many on memory, SQLite and Postgres: order, contents, statistics, and
all or nothing when an item is missing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import pairwise

import pytest

from application.ports import UnitOfWorkFactory
from domain.attempts import Attempt
from domain.errors import ItemNotFoundError
from domain.items import Item
from domain.pages import PageRequest
from domain.stats import AttemptAggregate, TimeWindow
from tests.contract.test_repositories import (  # the persistence contract's own fixtures
    T0,
    add_attempts,
    add_items,
    database_url,
    make_attempt,
    make_item,
    uow_factory,
)

__all__ = ["database_url", "uow_factory"]  # fixtures, used by name

HELSINKI = timezone(timedelta(hours=2))
FIRST_DAY, LAST_DAY = date(2026, 11, 20), date(2026, 11, 28)


def plan(items: list[Item], size: int = 20, salt: int = 0) -> list[Attempt]:
    """Attempts over the items (each repeated), on four UTC days, out of time order, some in
    another offset, some untimed. WERs are eighths: their sums are exact in any order."""
    attempts = []
    for n in range(size):
        m = n + salt
        moment = T0 + timedelta(days=(3 * m) % 4 - 1, minutes=-7 * m, microseconds=m)
        attempts.append(
            make_attempt(
                items[m % len(items)].id or 0,
                percentage=(37 * m) % 101,
                wer=(m % 9) / 8,
                duration_ms=None if m % 3 == 0 else 1000 * m + 1,
                created_at=moment.astimezone(HELSINKI if m % 4 == 0 else UTC),
                text=f"yritys {m} ä",
            )
        )
    return attempts


def aggregate(attempts: list[Attempt]) -> AttemptAggregate:
    """What the statistics must say about these attempts, computed here."""
    if not attempts:
        return AttemptAggregate()
    percentages = [a.score.percentage for a in attempts]
    wers = [a.score.wer for a in attempts]
    moments = [a.created_at for a in attempts]
    return AttemptAggregate(
        count=len(attempts),
        percentage_sum=sum(percentages),
        percentage_min=min(percentages),
        percentage_max=max(percentages),
        wer_sum=sum(wers),
        wer_min=min(wers),
        wer_max=max(wers),
        timed_ms_sum=sum(a.duration_ms or 0 for a in attempts),
        untimed_count=sum(a.duration_ms is None for a in attempts),
        first_at=min(moments),
        last_at=max(moments),
    )


def by_day(attempts: list[Attempt]) -> dict[date, AttemptAggregate]:
    days = sorted({a.created_at.astimezone(UTC).date() for a in attempts})
    return {
        day: aggregate([a for a in attempts if a.created_at.astimezone(UTC).date() == day])
        for day in days
    }


WINDOW = TimeWindow(since=T0 - timedelta(hours=30), until=T0 + timedelta(hours=20))


async def statistics(factory: UnitOfWorkFactory, items: list[Item]) -> object:
    """Every statistic and count the attempts feed (rollups and raw attempts alike)."""
    async with factory() as uow:
        ids = [item.id for item in items]
        everything = TimeWindow()
        raw = TimeWindow(since=datetime(2000, 1, 1, tzinfo=UTC))  # a window counts rows
        return (
            await uow.stats.summary(everything),
            await uow.stats.summary(WINDOW),
            [await uow.stats.item(i or 0) for i in ids],
            await uow.stats.daily(FIRST_DAY, LAST_DAY, None),
            [await uow.stats.daily(FIRST_DAY, LAST_DAY, i) for i in ids],
            (await uow.attempts.list(None, everything, PageRequest(1, 1))).total,
            (await uow.attempts.list(None, raw, PageRequest(1, 1))).total,
            [(await uow.attempts.list(i, everything, PageRequest(1, 1))).total for i in ids],
        )


def expected_statistics(attempts: list[Attempt], items: list[Item]) -> object:
    def of(item: Item) -> list[Attempt]:
        return [a for a in attempts if a.item_id == item.id]

    windowed = [a for a in attempts if WINDOW.contains(a.created_at)]
    return (
        (aggregate(attempts), len({a.item_id for a in attempts})),
        (aggregate(windowed), len({a.item_id for a in windowed})),
        [aggregate(of(item)) for item in items],
        by_day(attempts),
        [by_day(of(item)) for item in items],
        len(attempts),
        len(attempts),
        [len(of(item)) for item in items],
    )


async def seed(factory: UnitOfWorkFactory) -> tuple[list[Item], list[Attempt]]:
    """Four items (the last never practised) and attempts added one at a time."""
    items = await add_items(factory, *(make_item(f"lause {n}") for n in range(4)))
    singles = await add_attempts(factory, *plan(items[:3], size=5, salt=100))
    return items, singles


# ------------------------------------------------------------------------------------- tests


async def test_a_batch_gets_ascending_ids_and_each_attempt_its_own_row(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """Ids ascend in input order and each id reads back the attempt at its position: the ids
    the INSERT returned are matched to the right rows."""
    items, singles = await seed(uow_factory)
    batch = plan(items[:3])
    async with uow_factory() as uow:
        added = await uow.attempts.add_many(batch)
        await uow.commit()

    ids = [a.id or 0 for a in added]
    assert len(ids) == len(batch) == 20
    assert all(a < b for a, b in pairwise(ids))
    assert ids[0] > max(a.id or 0 for a in singles)
    assert added == [replace(a, id=i) for a, i in zip(batch, ids, strict=True)]
    assert all(a.created_at.utcoffset() == timedelta(0) for a in added)

    async with uow_factory() as uow:
        fetched = [await uow.attempts.get(i) for i in ids]
    assert fetched == added
    for read, sent in zip(fetched, batch, strict=True):
        assert read is not None
        assert (read.text, read.item_id, read.score, read.created_at, read.duration_ms) == (
            sent.text,
            sent.item_id,
            sent.score,
            sent.created_at,
            sent.duration_ms,
        )

    [after] = await add_attempts(uow_factory, make_attempt(items[0].id or 0))
    assert (after.id or 0) > ids[-1]


async def test_a_batch_larger_than_one_driver_page_keeps_its_order(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """1,050 rows: past SQLAlchemy's 1,000-row insertmanyvalues page, ids still follow input."""
    items, _ = await seed(uow_factory)
    batch = plan(items[:3], size=1050)
    async with uow_factory() as uow:
        added = await uow.attempts.add_many(batch)
        await uow.commit()
    ids = [a.id or 0 for a in added]
    assert all(a < b for a, b in pairwise(ids))
    async with uow_factory() as uow:
        page = await uow.attempts.list(None, TimeWindow(), PageRequest(1, 2000))
    texts = {a.id: a.text for a in page.rows}
    assert [texts[i] for i in ids] == [a.text for a in batch]
    assert page.total == len(batch) + 5


async def test_a_batch_counts_in_the_statistics_as_single_adds_would(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """The rollups merge a batch (same item and day repeated within it, on top of rows that
    single adds made) into exactly the aggregates of all attempts."""
    items, singles = await seed(uow_factory)
    assert await statistics(uow_factory, items) == expected_statistics(singles, items)

    batch = plan(items[:3])
    async with uow_factory() as uow:
        await uow.attempts.add_many(batch)
        await uow.commit()
    assert await statistics(uow_factory, items) == expected_statistics(singles + batch, items)

    one_item = plan(items[3:], size=6, salt=7)  # an item's first attempts, all in one batch
    async with uow_factory() as uow:
        await uow.attempts.add_many(one_item)
        await uow.commit()
    everything = singles + batch + one_item
    assert await statistics(uow_factory, items) == expected_statistics(everything, items)


@pytest.mark.parametrize("bad_position", [0, 10, 19])
async def test_a_batch_with_a_missing_item_stores_nothing(
    uow_factory: UnitOfWorkFactory, bad_position: int
) -> None:
    """All or nothing: an item that never existed or was deleted fails the whole batch, with
    no attempt stored and no statistic changed, wherever it sits in the batch."""
    items, singles = await seed(uow_factory)
    [deleted] = await add_items(uow_factory, make_item("poistettu"))
    async with uow_factory() as uow:
        await uow.items.delete(deleted.id or 0)
        await uow.commit()
    before = await statistics(uow_factory, items)
    assert before == expected_statistics(singles, items)

    for missing in (deleted.id or 0, 999_999):
        batch = plan(items[:3])
        batch[bad_position] = replace(batch[bad_position], item_id=missing)
        async with uow_factory() as uow:
            with pytest.raises(ItemNotFoundError):
                await uow.attempts.add_many(batch)
            await uow.commit()  # whatever the failed call left would now be stored
        assert await statistics(uow_factory, items) == before

    [after] = await add_attempts(uow_factory, make_attempt(items[0].id or 0))
    async with uow_factory() as uow:
        assert await uow.attempts.get(after.id or 0) == after
    assert await statistics(uow_factory, items) == expected_statistics([*singles, after], items)


async def test_an_empty_batch_returns_nothing_and_stores_nothing(
    uow_factory: UnitOfWorkFactory,
) -> None:
    items, singles = await seed(uow_factory)
    async with uow_factory() as uow:
        assert await uow.attempts.add_many([]) == []
        await uow.commit()
    assert await statistics(uow_factory, items) == expected_statistics(singles, items)
