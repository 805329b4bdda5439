"""AttemptService and StatsService (API §3.13–3.19, §6) over the in-memory adapters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from adapters.memory import MemoryStore, MemoryUnitOfWorkFactory
from application.attempts import AttemptService
from application.stats import StatsService
from domain.attempts import Attempt
from domain.errors import AttemptNotFoundError, InvalidInputError, ItemNotFoundError
from domain.items import Item
from domain.pages import Page, PageRequest
from domain.scoring import AlignmentKind, AlignmentOp
from domain.stats import AttemptAggregate, TimeWindow

T0 = datetime(2026, 11, 24, 13, 40, tzinfo=UTC)
HELSINKI = "Minä asun Helsingissä."
MORNING = "Hyvää huomenta!"


@dataclass
class SettableClock:
    moment: datetime

    def now(self) -> datetime:
        return self.moment


@dataclass
class World:
    uow: MemoryUnitOfWorkFactory
    clock: SettableClock
    attempts: AttemptService
    stats: StatsService

    async def item(
        self, text: str = MORNING, locale: str = "fi", tags: list[str] | None = None
    ) -> int:
        async with self.uow() as uow:
            (item,) = await uow.items.add_many(
                [
                    Item(
                        locale=locale,
                        text=text,
                        difficulty=1,
                        tags=tags or [],
                        created_at=T0 - timedelta(days=1),
                        updated_at=T0 - timedelta(days=1),
                        tts_provider="fake",
                        tts_voice="fake-a",
                    )
                ]
            )
            await uow.commit()
        assert item.id is not None
        return item.id

    async def attempt_at(
        self, moment: datetime, item_id: int, text: str, duration_ms: int | None = None
    ) -> int:
        self.clock.moment = moment
        attempt = await self.attempts.submit(item_id, text, duration_ms)
        assert attempt.id is not None
        return attempt.id


@pytest.fixture
def world() -> World:
    uow = MemoryUnitOfWorkFactory(MemoryStore())
    clock = SettableClock(T0)
    return World(
        uow=uow,
        clock=clock,
        attempts=AttemptService(uow=uow, clock=clock),
        stats=StatsService(uow=uow, clock=clock),
    )


async def example_data(world: World) -> tuple[int, int]:
    """The data set of API §3.16: item 45 once at 13:40, item 42 at 13:42 and 13:45."""
    helsinki = await world.item(HELSINKI, tags=["city"])
    morning = await world.item(MORNING, tags=["greetings", "basics"])
    await world.attempt_at(T0, helsinki, "mina asun helsingisa", 5_400)
    await world.attempt_at(T0 + timedelta(minutes=2), morning, "hyvaa huomenta")
    await world.attempt_at(T0 + timedelta(minutes=5), morning, "hyvaa", 12_000)
    world.clock.moment = T0 + timedelta(minutes=10)
    return helsinki, morning


# ------------------------------------------------------------------------------- attempts


def ids(page: Page[Attempt]) -> list[int | None]:
    return [attempt.id for attempt in page.rows]


async def test_submit_scores_against_the_item_and_stores(world: World) -> None:
    item_id = await world.item(HELSINKI)
    attempt = await world.attempts.submit(item_id, "mina asun helsingisa", 5_400)

    assert attempt.id is not None
    assert attempt.item_id == item_id
    assert attempt.text == "mina asun helsingisa"
    assert attempt.created_at == T0
    assert attempt.duration_ms == 5_400
    assert attempt.score.percentage == 67
    assert attempt.score.wer == 1 / 3
    assert (attempt.score.words_ref, attempt.score.words_correct) == (3, 2)
    assert attempt.score.alignment == (
        AlignmentOp(AlignmentKind.EQUAL, "Minä", "mina"),
        AlignmentOp(AlignmentKind.EQUAL, "asun", "asun"),
        AlignmentOp(AlignmentKind.SUBSTITUTE, "Helsingissä", "helsingisa"),
    )
    assert await world.attempts.get(attempt.id) == attempt


async def test_submit_uses_the_item_locale(world: World) -> None:
    item_id = await world.item("我喜欢学习中文。", locale="zh-CN")
    attempt = await world.attempts.submit(item_id, "我喜欢学中文", None)
    assert (attempt.score.words_ref, attempt.score.deletions, attempt.score.percentage) == (
        7,
        1,
        86,
    )
    assert attempt.duration_ms is None


async def test_submit_empty_text_is_a_zero_score(world: World) -> None:
    item_id = await world.item(HELSINKI)
    attempt = await world.attempts.submit(item_id, "", None)
    assert (attempt.score.percentage, attempt.score.wer, attempt.score.deletions) == (0, 1.0, 3)


async def test_submit_to_unknown_item_stores_nothing(world: World) -> None:
    with pytest.raises(ItemNotFoundError):
        await world.attempts.submit(1, "hei", None)
    assert (await world.attempts.list(None, TimeWindow(), PageRequest())).total == 0


@pytest.mark.parametrize("duration", [-1, 86_400_001])
async def test_invalid_duration_is_rejected_before_the_item_lookup(
    world: World, duration: int
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        await world.attempts.submit(999, "hei", duration)
    assert [p.key for p in caught.value.problems] == ["duration_ms"]


@pytest.mark.parametrize("duration", [0, 86_400_000])
async def test_duration_bounds_are_inclusive(world: World, duration: int) -> None:
    item_id = await world.item()
    assert (await world.attempts.submit(item_id, "hei", duration)).duration_ms == duration


async def test_get_unknown_attempt(world: World) -> None:
    with pytest.raises(AttemptNotFoundError):
        await world.attempts.get(1)


async def test_list_is_newest_first_with_id_tie_break(world: World) -> None:
    item_id = await world.item()
    first = await world.attempt_at(T0, item_id, "a")
    second = await world.attempt_at(T0, item_id, "b")  # same instant: higher id first
    third = await world.attempt_at(T0 + timedelta(seconds=1), item_id, "c")
    older = await world.attempt_at(T0 - timedelta(days=1), item_id, "d")

    page = await world.attempts.list(None, TimeWindow(), PageRequest(1, 20))
    assert [a.id for a in page.rows] == [third, second, first, older]
    assert (page.total, page.total_pages) == (4, 1)

    paged = await world.attempts.list(None, TimeWindow(), PageRequest(2, 3))
    assert [a.id for a in paged.rows] == [older]
    assert (paged.total, paged.total_pages) == (4, 2)
    past_end = await world.attempts.list(None, TimeWindow(), PageRequest(3, 3))
    assert (past_end.rows, past_end.total) == ([], 4)


async def test_list_filters_by_item_and_inclusive_window(world: World) -> None:
    one, two = await world.item(), await world.item()
    a = await world.attempt_at(T0, one, "a")
    b = await world.attempt_at(T0 + timedelta(hours=1), two, "b")
    c = await world.attempt_at(T0 + timedelta(hours=2), one, "c")

    everything = TimeWindow()
    assert ids(await world.attempts.list(one, everything, PageRequest())) == [c, a]
    assert ids(await world.attempts.list(0, everything, PageRequest())) == []
    assert ids(await world.attempts.list(99, everything, PageRequest())) == []
    window = TimeWindow(T0, T0 + timedelta(hours=1))
    assert ids(await world.attempts.list(None, window, PageRequest())) == [b, a]
    instant = TimeWindow(T0 + timedelta(hours=1), T0 + timedelta(hours=1))
    assert ids(await world.attempts.list(None, instant, PageRequest())) == [b]
    plus_two = timezone(timedelta(hours=2))
    offset = TimeWindow(since=datetime(2026, 11, 24, 16, 40, tzinfo=plus_two))  # 14:40Z
    assert ids(await world.attempts.list(None, offset, PageRequest())) == [c, b]


# ---------------------------------------------------------------------------------- stats


async def test_summary_of_the_example_data_set(world: World) -> None:
    await example_data(world)
    summary = await world.stats.summary(TimeWindow(since=datetime(2026, 11, 1, tzinfo=UTC)))
    aggregate = summary.aggregate
    assert summary.unique_items == 2
    assert aggregate.count == 3
    assert aggregate.average_percentage == 72.33
    assert (aggregate.percentage_max, aggregate.percentage_min) == (100, 50)
    assert aggregate.practice_minutes == 0.8
    assert aggregate.average_wer == 0.2778


async def test_summary_window_and_empty_values(world: World) -> None:
    await example_data(world)
    later = await world.stats.summary(TimeWindow(since=T0 + timedelta(minutes=3)))
    assert (later.aggregate.count, later.unique_items, later.aggregate.average_percentage) == (
        1,
        1,
        50.0,
    )
    empty = await world.stats.summary(TimeWindow(until=T0 - timedelta(microseconds=1)))
    assert empty.unique_items == 0
    assert empty.aggregate == AttemptAggregate()
    assert (empty.aggregate.average_percentage, empty.aggregate.practice_minutes) == (0.0, 0.0)


async def test_practice_log_of_the_example_data_set(world: World) -> None:
    helsinki, morning = await example_data(world)
    page = await world.stats.practice_log(TimeWindow(), PageRequest(1, 1))
    assert (page.total, page.total_pages) == (2, 2)
    (entry,) = page.rows
    assert (entry.item_id, entry.text, entry.locale, entry.difficulty) == (
        morning,
        MORNING,
        "fi",
        1,
    )
    assert entry.tags == ["greetings", "basics"]
    assert entry.aggregate.count == 2
    assert entry.aggregate.first_at == T0 + timedelta(minutes=2)
    assert entry.aggregate.last_at == T0 + timedelta(minutes=5)
    assert entry.aggregate.average_percentage == 75.0
    assert (entry.aggregate.percentage_max, entry.aggregate.percentage_min) == (100, 50)
    assert entry.aggregate.average_wer == 0.25

    second = await world.stats.practice_log(TimeWindow(), PageRequest(2, 1))
    assert [e.item_id for e in second.rows] == [helsinki]
    windowed = await world.stats.practice_log(
        TimeWindow(until=T0 + timedelta(minutes=2)), PageRequest()
    )
    assert [(e.item_id, e.aggregate.count) for e in windowed.rows] == [(morning, 1), (helsinki, 1)]


async def test_practice_log_ties_on_last_practice_break_by_item_id(world: World) -> None:
    low, high = await world.item(), await world.item()
    await world.attempt_at(T0, low, "x")
    await world.attempt_at(T0, high, "x")
    page = await world.stats.practice_log(TimeWindow(), PageRequest())
    assert [e.item_id for e in page.rows] == [high, low]


async def test_item_stats(world: World) -> None:
    _, morning = await example_data(world)
    stats = await world.stats.item(morning)
    assert (stats.item_id, stats.text, stats.aggregate.count) == (morning, MORNING, 2)
    assert stats.aggregate.average_percentage == 75.0
    assert (stats.aggregate.wer_min, stats.aggregate.wer_max) == (0.0, 0.5)
    assert stats.aggregate.average_wer == 0.25

    unpractised = await world.item("Kiitos")
    empty = await world.stats.item(unpractised)
    assert empty.text == "Kiitos"
    assert empty.aggregate == AttemptAggregate()
    assert empty.aggregate.first_at is None


@pytest.mark.parametrize("item_id", [0, -1, 999])
async def test_item_stats_of_unknown_item(world: World, item_id: int) -> None:
    with pytest.raises(ItemNotFoundError):
        await world.stats.item(item_id)


async def test_progress_has_one_entry_per_day_up_to_today(world: World) -> None:
    helsinki, _ = await example_data(world)
    await world.attempt_at(T0 - timedelta(days=2), helsinki, "")  # 2026-11-22
    await world.attempt_at(T0 - timedelta(days=3), helsinki, "")  # outside 3 days
    await world.attempt_at(T0 + timedelta(days=1), helsinki, "")  # after today: never counted
    world.clock.moment = T0 + timedelta(hours=10)  # 23:40 UTC, still the 24th

    days = await world.stats.progress(3)
    assert [d.day for d in days] == [date(2026, 11, 22), date(2026, 11, 23), date(2026, 11, 24)]
    assert [d.aggregate.count for d in days] == [1, 0, 3]
    assert days[1].aggregate == AttemptAggregate()
    assert (days[2].aggregate.average_percentage, days[2].aggregate.average_wer) == (72.33, 0.2778)

    assert len(await world.stats.progress(365)) == 365
    (today,) = await world.stats.progress(1)
    assert (today.day, today.aggregate.count) == (date(2026, 11, 24), 3)


async def test_progress_today_is_the_utc_date(world: World) -> None:
    item_id = await world.item()
    await world.attempt_at(datetime(2026, 11, 24, 23, 30, tzinfo=UTC), item_id, "x")
    # 01:30 on the 25th in UTC+02:00 is still the 24th in UTC.
    world.clock.moment = datetime(2026, 11, 25, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    (today,) = await world.stats.progress(1)
    assert (today.day, today.aggregate.count) == (date(2026, 11, 24), 1)


async def test_progress_for_one_item(world: World) -> None:
    helsinki, morning = await example_data(world)
    (today,) = await world.stats.progress(1, morning)
    assert (today.aggregate.count, today.aggregate.average_percentage) == (2, 75.0)
    (today,) = await world.stats.progress(1, helsinki)
    assert today.aggregate.count == 1


@pytest.mark.parametrize("item_id", [0, 999])
async def test_progress_for_unknown_item(world: World, item_id: int) -> None:
    await example_data(world)
    with pytest.raises(ItemNotFoundError):
        await world.stats.progress(30, item_id)


@pytest.mark.parametrize("days", [0, 366])
async def test_progress_days_out_of_range(world: World, days: int) -> None:
    with pytest.raises(InvalidInputError) as caught:
        await world.stats.progress(days)
    assert [p.key for p in caught.value.problems] == ["days"]


async def test_deleting_an_item_removes_its_attempts_from_every_answer(world: World) -> None:
    helsinki, morning = await example_data(world)
    async with world.uow() as uow:
        await uow.items.delete(morning)
        await uow.commit()

    summary = await world.stats.summary(TimeWindow())
    assert (summary.aggregate.count, summary.unique_items) == (1, 1)
    log = await world.stats.practice_log(TimeWindow(), PageRequest())
    assert [e.item_id for e in log.rows] == [helsinki]
    assert (await world.attempts.list(morning, TimeWindow(), PageRequest())).total == 0
    (today,) = await world.stats.progress(1)
    assert today.aggregate.count == 1
    with pytest.raises(ItemNotFoundError):
        await world.stats.item(morning)
