"""The statistics rollups (migration 0003) against the attempts they summarise.

The SQL adapters answer statistics from `item_attempt_stats` and `daily_attempt_stats`, kept in
step by every attempt insert and item delete; the memory adapters aggregate the attempts
themselves. Whatever the writes, both must give the same answers after the domain's rounding,
and the rollup rows must equal a fresh aggregation of the attempts.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory import MemoryStore, MemoryUnitOfWorkFactory
from adapters.persistence import migrate
from adapters.persistence.attempts import aggregate_columns, rollup_columns, to_aggregate
from adapters.persistence.engine import create_engine
from adapters.persistence.expressions import utc_date
from adapters.persistence.records import (
    AttemptRecord,
    DailyAttemptStatsRecord,
    ItemAttemptStatsRecord,
)
from adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from application.ports import UnitOfWorkFactory
from domain.attempts import Attempt
from domain.errors import ItemNotFoundError
from domain.items import Item
from domain.pages import PageRequest
from domain.stats import AttemptAggregate, TimeWindow
from tests.contract.test_repositories import (
    add_attempts,
    add_items,
    make_attempt,
    make_item,
    rounded,
)
from tests.support.early_schema import ATTEMPTS, insert_items

DAY0 = datetime(2026, 11, 20, tzinfo=UTC)  # the plan's attempts fall on DAY0 … DAY0 + 4 days
DAYS = [DAY0.date() + timedelta(days=n) for n in range(-1, 6)]
MICROSECOND = timedelta(microseconds=1)

# (item index, percentage, wer, duration_ms, created_at)
Planned = tuple[int, int, float, int | None, datetime]


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(params=["sqlite", "postgres"])
def sql_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database private to the test."""
    fixture = "migrated_sqlite_url" if request.param == "sqlite" else "migrated_postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "memory":
        return None
    fixture = "migrated_sqlite_url" if request.param == "sqlite" else "migrated_postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest_asyncio.fixture
async def uow_factory(database_url: str | None) -> AsyncIterator[UnitOfWorkFactory]:
    if database_url is None:
        yield MemoryUnitOfWorkFactory(MemoryStore())
        return
    engine = create_engine(database_url)
    try:
        yield SqlUnitOfWorkFactory(engine)
    finally:
        await engine.dispose()


@pytest_asyncio.fixture
async def sql_engine(sql_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sql_url)
    try:
        yield engine
    finally:
        await engine.dispose()


# ------------------------------------------------------------------------------------- helpers


def plan(seed: int = 20261125, count: int = 150, items: int = 7) -> list[Planned]:
    """Attempts over five UTC days, with the edges that matter: midnight, the last microsecond
    of a day, several items at the same instant, unknown durations, WER above 1."""
    rng = random.Random(seed)
    edges = [
        DAY0 + timedelta(days=1),
        DAY0 + timedelta(days=2) - MICROSECOND,
        DAY0 + timedelta(days=3),
        DAY0 + timedelta(days=3, hours=12),
    ]
    planned: list[Planned] = []
    for n in range(count):
        if n % 10 == 0:
            moment = edges[(n // 10) % len(edges)]
        else:
            moment = DAY0 + timedelta(
                minutes=rng.randint(0, 5 * 24 * 60 - 1), microseconds=rng.randint(0, 999_999)
            )
        planned.append(
            (
                rng.randrange(items),
                rng.randint(0, 100),
                rng.choice([0.0, 1.0, 1.5, rng.random(), 1 / 3]),
                rng.choice([None, rng.randint(0, 90_000)]),
                moment,
            )
        )
    return planned


def plan_items(count: int = 7) -> list[Item]:
    return [make_item(f"item {n}", tags=[f"t{n % 3}"], difficulty=1 + n % 5) for n in range(count)]


def attempts_of(planned: list[Planned], items: list[Item]) -> list[Attempt]:
    return [
        make_attempt(items[i].id or 0, percentage=p, wer=w, duration_ms=d, created_at=t)
        for i, p, w, d, t in planned
    ]


WINDOWS = [
    TimeWindow(),
    TimeWindow(since=DAY0 + timedelta(days=2)),  # from midnight
    TimeWindow(since=DAY0 + timedelta(days=2, hours=12)),  # from the middle of a day
    TimeWindow(until=DAY0 + timedelta(days=3)),  # up to midnight, inclusive
    TimeWindow(until=DAY0 + timedelta(days=3) - MICROSECOND),  # a whole last day
    TimeWindow(
        since=DAY0 + timedelta(days=1) - MICROSECOND, until=DAY0 + timedelta(days=4) - MICROSECOND
    ),
    TimeWindow(since=DAY0 + timedelta(days=1), until=DAY0 + timedelta(days=3)),
    TimeWindow(since=DAY0 + timedelta(days=2, hours=6), until=DAY0 + timedelta(days=2, hours=18)),
    TimeWindow(since=DAY0 + timedelta(days=1, hours=20), until=DAY0 + timedelta(days=2, hours=3)),
    TimeWindow(since=DAY0 + timedelta(days=1), until=DAY0 + timedelta(days=1)),  # one instant
    TimeWindow(since=DAY0 - timedelta(days=400), until=DAY0 + timedelta(days=400)),
    TimeWindow(since=DAY0 + timedelta(days=30)),  # nothing
]


async def answers(factory: UnitOfWorkFactory, items: list[Item]) -> dict[str, object]:
    """Every statistics answer over the data, rounded as the API shows it."""
    result: dict[str, object] = {}
    async with factory() as uow:
        for n, window in enumerate(WINDOWS):
            summary, unique = await uow.stats.summary(window)
            result[f"summary {n}"] = (rounded(summary), unique)
            pages = []
            page_number = 1
            while True:
                log = await uow.stats.practice_log(window, PageRequest(page_number, 3))
                pages.append(
                    (
                        log.total,
                        [
                            (
                                e.item_id,
                                e.text,
                                e.locale,
                                e.tags,
                                e.difficulty,
                                rounded(e.aggregate),
                            )
                            for e in log.rows
                        ],
                    )
                )
                if page_number >= max(log.total_pages, 1):
                    break
                page_number += 1
            # One page past the end: no rows, the same total.
            past = await uow.stats.practice_log(window, PageRequest(page_number + 1, 3))
            pages.append((past.total, [e.item_id for e in past.rows]))
            result[f"practice log {n}"] = pages
        for item in items:
            result[f"item {item.id}"] = rounded(await uow.stats.item(item.id or 0))
            daily = await uow.stats.daily(DAYS[0], DAYS[-1], item.id)
            result[f"daily {item.id}"] = {day: rounded(a) for day, a in sorted(daily.items())}
            listed = await uow.attempts.list(item.id, TimeWindow(), PageRequest(1, 5))
            result[f"attempts {item.id}"] = listed.total
        daily = await uow.stats.daily(DAYS[0], DAYS[-1], None)
        result["daily"] = {day: rounded(a) for day, a in sorted(daily.items())}
        result["daily, one day"] = {
            day: rounded(a) for day, a in (await uow.stats.daily(DAYS[3], DAYS[3], None)).items()
        }
        result["attempts"] = (await uow.attempts.list(None, TimeWindow(), PageRequest())).total
    return result


async def memory_answers(
    planned: list[Planned], item_count: int, deleted: tuple[int, ...] = ()
) -> dict[str, object]:
    factory = MemoryUnitOfWorkFactory(MemoryStore())
    items = await add_items(factory, *plan_items(item_count))
    await add_attempts(factory, *attempts_of(planned, items))
    await delete_items(factory, items, deleted)
    return await answers(factory, items)


async def delete_items(
    factory: UnitOfWorkFactory, items: list[Item], which: tuple[int, ...]
) -> None:
    for index in which:
        async with factory() as uow:
            assert await uow.items.delete(items[index].id or 0) is not None
            await uow.commit()


def _exact(aggregate: AttemptAggregate) -> tuple[object, ...]:
    """Every field; the WER sum to 9 places (a running double sum, not a fresh one)."""
    return (*rounded(aggregate), round(aggregate.wer_sum, 9))


async def assert_rollups_match_attempts(engine: AsyncEngine) -> None:
    """Both rollup tables equal a fresh aggregation of the attempts, row for row."""
    day = utc_date(AttemptRecord.created_at).label("day")
    item_stats, daily = ItemAttemptStatsRecord, DailyAttemptStatsRecord
    async with engine.connect() as connection:

        async def keyed(statement: Any) -> dict[object, tuple[object, ...]]:
            rows = await connection.execute(statement)
            return {row[0]: _exact(to_aggregate(row._mapping)) for row in rows}

        assert await keyed(
            sa.select(item_stats.item_id, *rollup_columns(item_stats))
        ) == await keyed(
            sa.select(AttemptRecord.item_id, *aggregate_columns()).group_by(AttemptRecord.item_id)
        )
        assert await keyed(sa.select(daily.day, *rollup_columns(daily))) == await keyed(
            sa.select(day, *aggregate_columns()).group_by(day)
        )


async def seed(factory: UnitOfWorkFactory, planned: list[Planned], item_count: int) -> list[Item]:
    items = await add_items(factory, *plan_items(item_count))
    await add_attempts(factory, *attempts_of(planned, items))
    return items


# --------------------------------------------------------------------------------------- tests


async def test_answers_from_rollups_match_the_attempts(sql_engine: AsyncEngine) -> None:
    planned = plan()
    factory = SqlUnitOfWorkFactory(sql_engine)
    items = await seed(factory, planned, 7)

    await assert_rollups_match_attempts(sql_engine)
    assert await answers(factory, items) == await memory_answers(planned, 7)


async def test_answers_match_after_deleting_items(sql_engine: AsyncEngine) -> None:
    planned = plan(seed=7)
    factory = SqlUnitOfWorkFactory(sql_engine)
    items = await seed(factory, planned, 7)
    # Inserts after deletes, and deletes of items sharing days and instants with the others.
    await delete_items(factory, items, (2, 5))
    await assert_rollups_match_attempts(sql_engine)
    more = [(i, p, w, d, t + timedelta(hours=1)) for i, p, w, d, t in plan(seed=8, count=40)]
    more = [attempt for attempt in more if attempt[0] not in (2, 5)]
    await add_attempts(factory, *attempts_of(more, items))
    await delete_items(factory, items, (0,))

    await assert_rollups_match_attempts(sql_engine)
    expected_factory = MemoryUnitOfWorkFactory(MemoryStore())
    expected_items = await seed(expected_factory, planned, 7)
    await delete_items(expected_factory, expected_items, (2, 5))
    await add_attempts(expected_factory, *attempts_of(more, expected_items))
    await delete_items(expected_factory, expected_items, (0,))
    assert await answers(factory, items) == await answers(expected_factory, expected_items)


async def test_deleting_every_item_empties_the_rollups(sql_engine: AsyncEngine) -> None:
    factory = SqlUnitOfWorkFactory(sql_engine)
    items = await seed(factory, plan(seed=3, count=60, items=4), 4)
    await delete_items(factory, items, (3, 1, 0, 2))

    async with sql_engine.connect() as connection:
        for table in (ItemAttemptStatsRecord, DailyAttemptStatsRecord):
            assert await connection.scalar(sa.select(sa.func.count()).select_from(table)) == 0
    async with factory() as uow:
        assert await uow.stats.summary(TimeWindow()) == (AttemptAggregate(), 0)
        assert (await uow.stats.practice_log(TimeWindow(), PageRequest())).total == 0
        assert await uow.stats.daily(DAYS[0], DAYS[-1], None) == {}
        assert (await uow.attempts.list(None, TimeWindow(), PageRequest())).total == 0


async def test_deleting_the_item_with_every_extreme(uow_factory: UnitOfWorkFactory) -> None:
    """The deleted item held the best and worst scores and WER, and the first and last
    attempts, overall and on its day: every extreme moves to what remains."""
    star, steady, elsewhere = await add_items(
        uow_factory, make_item("star"), make_item("steady"), make_item("elsewhere")
    )
    day = DAY0 + timedelta(days=1)
    await add_attempts(
        uow_factory,
        make_attempt(star.id or 0, percentage=100, wer=0.0, created_at=day + timedelta(hours=1)),
        make_attempt(steady.id or 0, percentage=60, wer=0.4, created_at=day + timedelta(hours=2)),
        make_attempt(star.id or 0, percentage=0, wer=2.5, created_at=day + timedelta(hours=3)),
        make_attempt(
            steady.id or 0,
            percentage=40,
            wer=0.6,
            duration_ms=1000,
            created_at=day + timedelta(hours=2, minutes=30),
        ),
        make_attempt(star.id or 0, percentage=50, wer=0.5, created_at=day + timedelta(hours=23)),
        make_attempt(elsewhere.id or 0, percentage=70, wer=0.3, created_at=DAY0),
    )
    async with uow_factory() as uow:
        before, unique = await uow.stats.summary(TimeWindow())
        assert (before.percentage_max, before.percentage_min, before.wer_max) == (100, 0, 2.5)
        assert (before.count, unique) == (6, 3)
        assert await uow.items.delete(star.id or 0) is not None
        await uow.commit()

    async with uow_factory() as uow:
        summary, unique = await uow.stats.summary(TimeWindow())
        daily = await uow.stats.daily(DAYS[0], DAYS[-1], None)
        log = await uow.stats.practice_log(TimeWindow(), PageRequest())
        gone = await uow.stats.item(star.id or 0)
        listed = await uow.attempts.list(None, TimeWindow(), PageRequest())

    assert (summary.count, unique, summary.percentage_sum) == (3, 2, 170)
    assert (summary.percentage_min, summary.percentage_max) == (40, 70)
    assert (summary.wer_min, summary.wer_max) == (0.3, 0.6)
    assert (summary.first_at, summary.last_at) == (DAY0, day + timedelta(hours=2, minutes=30))
    assert (summary.timed_ms_sum, summary.untimed_count) == (1000, 2)
    assert summary.average_wer == round((0.4 + 0.6 + 0.3) / 3, 4)
    on_day = daily[day.date()]
    assert (on_day.count, on_day.percentage_sum, on_day.average_percentage) == (2, 100, 50.0)
    assert (on_day.percentage_min, on_day.percentage_max) == (40, 60)
    assert (on_day.wer_min, on_day.wer_max, on_day.average_wer) == (0.4, 0.6, 0.5)
    assert (on_day.first_at, on_day.last_at) == (
        day + timedelta(hours=2),
        day + timedelta(hours=2, minutes=30),
    )
    assert sorted(daily) == [DAY0.date(), day.date()]
    assert [e.item_id for e in log.rows] == [steady.id, elsewhere.id] and log.total == 2
    assert gone == AttemptAggregate()
    assert listed.total == 3


async def test_deleting_an_item_keeps_extremes_it_shares(uow_factory: UnitOfWorkFactory) -> None:
    """Extremes reached by the deleted item and by another attempt of the day stay put."""
    first, second = await add_items(uow_factory, make_item("first"), make_item("second"))
    day = DAY0 + timedelta(days=2)
    await add_attempts(
        uow_factory,
        make_attempt(first.id or 0, percentage=100, wer=0.0, created_at=day),
        make_attempt(second.id or 0, percentage=100, wer=0.0, created_at=day),
        make_attempt(first.id or 0, percentage=10, wer=1.0, created_at=day + timedelta(hours=5)),
        make_attempt(second.id or 0, percentage=10, wer=1.0, created_at=day + timedelta(hours=5)),
        make_attempt(second.id or 0, percentage=50, wer=0.5, created_at=day + timedelta(hours=1)),
    )
    async with uow_factory() as uow:
        assert await uow.items.delete(first.id or 0) is not None
        await uow.commit()
    async with uow_factory() as uow:
        daily = await uow.stats.daily(day.date(), day.date(), None)
        summary, unique = await uow.stats.summary(TimeWindow())

    on_day = daily[day.date()]
    assert (on_day.count, on_day.percentage_sum) == (3, 160)
    assert (on_day.percentage_min, on_day.percentage_max, on_day.wer_min, on_day.wer_max) == (
        10,
        100,
        0.0,
        1.0,
    )
    assert (on_day.first_at, on_day.last_at) == (day, day + timedelta(hours=5))
    assert (summary.count, unique, summary.average_wer) == (3, 1, 0.5)


async def test_deleting_the_only_item_of_a_day_drops_the_day(
    uow_factory: UnitOfWorkFactory,
) -> None:
    lonely, busy = await add_items(uow_factory, make_item("lonely"), make_item("busy"))
    await add_attempts(
        uow_factory,
        make_attempt(lonely.id or 0, percentage=30, created_at=DAY0 + timedelta(hours=1)),
        make_attempt(lonely.id or 0, percentage=90, created_at=DAY0 + timedelta(days=1)),
        make_attempt(busy.id or 0, percentage=80, created_at=DAY0 + timedelta(days=1, hours=2)),
    )
    async with uow_factory() as uow:
        await uow.items.delete(lonely.id or 0)
        await uow.commit()
    async with uow_factory() as uow:
        daily = await uow.stats.daily(DAYS[0], DAYS[-1], None)
        week, unique = await uow.stats.summary(TimeWindow(since=DAY0, until=DAY0 + timedelta(7)))

    assert list(daily) == [(DAY0 + timedelta(days=1)).date()]
    assert (daily[(DAY0 + timedelta(days=1)).date()].count, week.count, unique) == (1, 1, 1)
    assert (week.percentage_min, week.percentage_max) == (80, 80)


async def test_uncommitted_attempts_and_deletes_leave_the_rollups_alone(
    uow_factory: UnitOfWorkFactory,
) -> None:
    planned = plan(seed=11, count=30, items=3)
    items = await seed(uow_factory, planned, 3)
    before = await answers(uow_factory, items)
    async with uow_factory() as uow:
        await uow.attempts.add(make_attempt(items[0].id or 0, percentage=1, created_at=DAY0))
        await uow.items.delete(items[1].id or 0)
        # No commit: rolled back.
    assert await answers(uow_factory, items) == before


async def test_windows_agree_with_the_whole(uow_factory: UnitOfWorkFactory) -> None:
    """Rollup answers (no window) and window answers (attempts plus whole days) agree."""
    planned = plan(seed=5)
    await seed(uow_factory, planned, 7)
    everything = TimeWindow(since=DAY0 - timedelta(days=1), until=DAY0 + timedelta(days=9))
    async with uow_factory() as uow:
        whole, whole_unique = await uow.stats.summary(TimeWindow())
        windowed, windowed_unique = await uow.stats.summary(everything)
        log = await uow.stats.practice_log(TimeWindow(), PageRequest(1, 100))
        windowed_log = await uow.stats.practice_log(everything, PageRequest(1, 100))
        daily = await uow.stats.daily(DAYS[0], DAYS[-1], None)
        per_day = {}
        for day in DAYS:
            start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
            one_day = TimeWindow(since=start, until=start + timedelta(days=1) - MICROSECOND)
            aggregate, _ = await uow.stats.summary(one_day)
            if aggregate.count:
                per_day[day] = rounded(aggregate)

    assert (rounded(windowed), windowed_unique) == (rounded(whole), whole_unique)
    assert whole.count == len(planned)
    assert [(e.item_id, rounded(e.aggregate)) for e in windowed_log.rows] == [
        (e.item_id, rounded(e.aggregate)) for e in log.rows
    ]
    assert {day: rounded(a) for day, a in daily.items()} == per_day


async def test_concurrent_attempts_are_counted_exactly(sql_engine: AsyncEngine) -> None:
    """8 writers × 25 attempts, each in its own transaction, on the same items and days: every
    rollup upsert is atomic, so no increment is lost."""
    factory = SqlUnitOfWorkFactory(sql_engine)
    items = await add_items(factory, *plan_items(3))
    writers, per_writer = 8, 25

    async def writer(number: int) -> None:
        for n in range(per_writer):
            attempt = make_attempt(
                items[(number + n) % len(items)].id or 0,
                percentage=(number * per_writer + n) % 101,
                wer=n / per_writer,
                duration_ms=None if n % 4 == 0 else 1000 + n,
                created_at=DAY0 + timedelta(days=n % 2, hours=number, seconds=n),
            )
            async with factory() as uow:
                await uow.attempts.add(attempt)
                await uow.commit()

    await asyncio.gather(*(writer(number) for number in range(writers)))

    total = writers * per_writer
    percentages = [(w * per_writer + n) % 101 for w in range(writers) for n in range(per_writer)]
    async with factory() as uow:
        summary, unique = await uow.stats.summary(TimeWindow())
        daily = await uow.stats.daily(DAY0.date(), DAY0.date() + timedelta(days=1), None)
        per_item = [await uow.stats.item(item.id or 0) for item in items]
    assert (summary.count, unique, summary.percentage_sum) == (total, 3, sum(percentages))
    assert (summary.percentage_min, summary.percentage_max) == (min(percentages), max(percentages))
    assert summary.untimed_count == writers * len(range(0, per_writer, 4))
    assert [daily[day].count for day in sorted(daily)] == [
        writers * len(range(0, per_writer, 2)),
        writers * len(range(1, per_writer, 2)),
    ]
    assert sum(a.count for a in per_item) == total
    await assert_rollups_match_attempts(sql_engine)


async def test_concurrent_attempts_and_deletes_keep_the_rollups_exact(
    sql_engine: AsyncEngine,
) -> None:
    """Items deleted while attempts keep arriving, for them and for others on the same days:
    the deleted items' attempts leave the days exactly, whatever the interleaving."""
    factory = SqlUnitOfWorkFactory(sql_engine)
    items = await add_items(factory, *plan_items(6))
    doomed = {items[1].id, items[3].id, items[4].id}
    rng = random.Random(99)

    async def writer(number: int) -> None:
        for n in range(30):
            item = items[(number + n) % len(items)]
            attempt = make_attempt(
                item.id or 0,
                percentage=rng.randint(0, 100),
                wer=rng.choice([0.0, 1.0, rng.random()]),
                duration_ms=rng.choice([None, 1500]),
                created_at=DAY0 + timedelta(days=n % 2, seconds=rng.randint(0, 86_399)),
            )
            try:
                async with factory() as uow:
                    await uow.attempts.add(attempt)
                    await uow.commit()
            except ItemNotFoundError:  # the item is gone: nothing was stored
                assert item.id in doomed

    async def deleter() -> None:
        for item_id in sorted(i for i in doomed if i is not None):
            await asyncio.sleep(0.02)
            async with factory() as uow:
                assert await uow.items.delete(item_id) is not None
                await uow.commit()

    await asyncio.gather(deleter(), *(writer(number) for number in range(6)))

    await assert_rollups_match_attempts(sql_engine)
    async with factory() as uow:
        summary, unique = await uow.stats.summary(TimeWindow())
        listed = await uow.attempts.list(None, TimeWindow(), PageRequest())
    assert unique <= 3 and summary.count == listed.total
    async with sql_engine.connect() as connection:
        stored = await connection.scalar(sa.select(sa.func.count()).select_from(AttemptRecord))
    assert summary.count == stored


# ------------------------------------------------------------------------------- the migration


async def test_the_migration_fills_the_rollups_from_existing_attempts(
    empty_database_url: str,
) -> None:
    """Attempts stored before revision 0003 are in the rollups once it has run."""
    url = empty_database_url
    planned = plan(seed=13)
    await asyncio.to_thread(migrate.upgrade, url, "0002")
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await insert_items(connection, plan_items(7))
            await connection.execute(
                ATTEMPTS.insert(),
                [
                    {
                        "item_id": i + 1,
                        "text": "mina asun helsingisa",
                        "percentage": p,
                        "wer": w,
                        "words_ref": 3,
                        "words_correct": 2,
                        "substitutions": 1,
                        "deletions": 0,
                        "insertions": 0,
                        "alignment": [],
                        "duration_ms": d,
                        "created_at": t,
                    }
                    for i, p, w, d, t in planned
                ],
            )
    finally:
        await engine.dispose()

    await asyncio.to_thread(migrate.upgrade, url)

    engine = create_engine(url)
    try:
        await assert_rollups_match_attempts(engine)
        factory = SqlUnitOfWorkFactory(engine)
        async with factory() as uow:
            items = [item for n in range(1, 8) if (item := await uow.items.get(n)) is not None]
        assert len(items) == 7
        assert await answers(factory, items) == await memory_answers(planned, 7)
        # And the rollups keep up with writes from there on.
        await add_attempts(factory, make_attempt(items[0].id or 0, percentage=3, created_at=DAY0))
        await delete_items(factory, items, (4,))
        await assert_rollups_match_attempts(engine)
    finally:
        await engine.dispose()
