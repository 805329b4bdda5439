"""Statistics computed where the data lives (API §6): one aggregate query per answer."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.attempts import window_conditions
from adapters.persistence.expressions import utc_date
from adapters.persistence.items import load_item_tags
from adapters.persistence.records import AttemptRecord, ItemRecord
from application.ports import StatsRepository
from domain.pages import Page, PageRequest
from domain.stats import AttemptAggregate, PracticeLogEntry, TimeWindow


def _aggregate_columns() -> list[ColumnElement[Any]]:
    """The aggregates of attempts, labelled with the AttemptAggregate field they fill."""
    return [
        func.count(AttemptRecord.id).label("count"),
        func.sum(AttemptRecord.percentage).label("percentage_sum"),
        func.min(AttemptRecord.percentage).label("percentage_min"),
        func.max(AttemptRecord.percentage).label("percentage_max"),
        func.sum(AttemptRecord.wer).label("wer_sum"),
        func.min(AttemptRecord.wer).label("wer_min"),
        func.max(AttemptRecord.wer).label("wer_max"),
        func.sum(AttemptRecord.duration_ms).label("timed_ms_sum"),
        func.count(AttemptRecord.id)
        .filter(AttemptRecord.duration_ms.is_(None))
        .label("untimed_count"),
        func.min(AttemptRecord.created_at).label("first_at"),
        func.max(AttemptRecord.created_at).label("last_at"),
    ]


_AGGREGATE_FIELDS = [column.name for column in _aggregate_columns()]


def _aggregate(row: RowMapping) -> AttemptAggregate:
    """The aggregate columns of a row; SQL answers NULL over no rows where the domain wants 0."""
    values = {name: row[name] for name in _AGGREGATE_FIELDS}
    if not values["count"]:
        return AttemptAggregate()
    # int()/float(): Postgres SUM(integer) is bigint and drivers may hand back Decimals.
    return AttemptAggregate(
        count=int(values["count"]),
        percentage_sum=int(values["percentage_sum"]),
        percentage_min=int(values["percentage_min"]),
        percentage_max=int(values["percentage_max"]),
        wer_sum=float(values["wer_sum"]),
        wer_min=float(values["wer_min"]),
        wer_max=float(values["wer_max"]),
        timed_ms_sum=int(values["timed_ms_sum"] or 0),
        untimed_count=int(values["untimed_count"]),
        first_at=values["first_at"],
        last_at=values["last_at"],
    )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class SqlStatsRepository(StatsRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def summary(self, window: TimeWindow) -> tuple[AttemptAggregate, int]:
        row = (
            await self._session.execute(
                select(
                    *_aggregate_columns(),
                    func.count(distinct(AttemptRecord.item_id)).label("unique_items"),
                ).where(*window_conditions(window))
            )
        ).one()
        return _aggregate(row._mapping), int(row.unique_items)

    async def practice_log(self, window: TimeWindow, page: PageRequest) -> Page[PracticeLogEntry]:
        conditions = window_conditions(window)
        total = int(
            await self._session.scalar(
                select(func.count(distinct(AttemptRecord.item_id))).where(*conditions)
            )
            or 0
        )
        if page.offset >= total:
            return Page(rows=[], total=total, request=page)
        per_item = (
            select(AttemptRecord.item_id, *_aggregate_columns())
            .where(*conditions)
            .group_by(AttemptRecord.item_id)
            .subquery()
        )
        aggregates = [per_item.c[name] for name in _AGGREGATE_FIELDS]
        rows = (
            await self._session.execute(
                select(
                    ItemRecord.id,
                    ItemRecord.text,
                    ItemRecord.locale,
                    ItemRecord.difficulty,
                    *aggregates,
                )
                .join(per_item, per_item.c.item_id == ItemRecord.id)
                .order_by(per_item.c.last_at.desc(), ItemRecord.id.desc())
                .limit(page.per_page)
                .offset(page.offset)
            )
        ).all()
        tags = await load_item_tags(self._session, (row.id for row in rows))
        entries = [
            PracticeLogEntry(
                item_id=row.id,
                text=row.text,
                locale=row.locale,
                tags=tags[row.id],
                difficulty=row.difficulty,
                aggregate=_aggregate(row._mapping),
            )
            for row in rows
        ]
        return Page(rows=entries, total=total, request=page)

    async def item(self, item_id: int) -> AttemptAggregate:
        row = (
            await self._session.execute(
                select(*_aggregate_columns()).where(AttemptRecord.item_id == item_id)
            )
        ).one()
        return _aggregate(row._mapping)

    async def daily(
        self, first_day: date, last_day: date, item_id: int | None
    ) -> dict[date, AttemptAggregate]:
        # Range bounds (not a predicate on the computed date) keep the created_at index usable.
        conditions = [
            AttemptRecord.created_at >= _midnight(first_day),
            AttemptRecord.created_at < _midnight(last_day + timedelta(days=1)),
        ]
        if item_id is not None:
            conditions.append(AttemptRecord.item_id == item_id)
        day = utc_date(AttemptRecord.created_at).label("day")
        rows = await self._session.execute(
            select(day, *_aggregate_columns()).where(*conditions).group_by(day)
        )
        return {row.day: _aggregate(row._mapping) for row in rows}
