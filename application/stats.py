"""Use cases for statistics (API §3.16–3.19, §6): the repository aggregates, the domain rounds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from application.ports import Clock, UnitOfWorkFactory
from domain.errors import InvalidInputError, ItemNotFoundError
from domain.pages import Page, PageRequest
from domain.stats import (
    AttemptAggregate,
    DayProgress,
    PracticeLogEntry,
    Summary,
    TimeWindow,
    progress_days,
)

MIN_PROGRESS_DAYS = 1
MAX_PROGRESS_DAYS = 365


@dataclass(frozen=True, slots=True)
class ItemStats:
    """All-time aggregate of one item's attempts, with the item's current text."""

    item_id: int
    text: str
    aggregate: AttemptAggregate


class StatsService:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def summary(self, window: TimeWindow) -> Summary:
        async with self._uow() as uow:
            aggregate, unique_items = await uow.stats.summary(window)
        return Summary(aggregate=aggregate, unique_items=unique_items)

    async def practice_log(self, window: TimeWindow, page: PageRequest) -> Page[PracticeLogEntry]:
        """One entry per item practised in the window, last practised first."""
        async with self._uow() as uow:
            return await uow.stats.practice_log(window, page)

    async def item(self, item_id: int) -> ItemStats:
        async with self._uow() as uow:
            item = await uow.items.get(item_id)
            if item is None:
                raise ItemNotFoundError()
            aggregate = await uow.stats.item(item_id)
        return ItemStats(item_id=item_id, text=item.text, aggregate=aggregate)

    async def progress(self, days: int, item_id: int | None = None) -> list[DayProgress]:
        """One entry per UTC date up to today, ascending, including days without attempts."""
        if not MIN_PROGRESS_DAYS <= days <= MAX_PROGRESS_DAYS:
            raise InvalidInputError.field(
                "days", f"Days must be between {MIN_PROGRESS_DAYS} and {MAX_PROGRESS_DAYS}"
            )
        dates = progress_days(self._clock.now().astimezone(UTC).date(), days)
        async with self._uow() as uow:
            if item_id is not None and await uow.items.get(item_id) is None:
                raise ItemNotFoundError()
            daily = await uow.stats.daily(dates[0], dates[-1], item_id)
        return [DayProgress(day, daily.get(day, AttemptAggregate())) for day in dates]
