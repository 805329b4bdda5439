"""Statistics (API §6), read from the attempt rollups wherever they answer exactly.

`item_attempt_stats` (per item) and `daily_attempt_stats` (per UTC date) hold exact aggregates
of the attempts, kept in step by every write (see adapters/persistence/attempts.py). Whole-table
answers read them directly; a time window reads the daily rows of the days it covers entirely
and aggregates only the attempts of its partial first and last days. Which items have attempts
in a window follows from their first and last attempt, probing the attempts only for items
practised both before and after the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.attempts import (
    aggregate_columns,
    combine,
    midnight,
    rollup_columns,
    rollup_totals,
    to_aggregate,
    window_conditions,
)
from adapters.persistence.expressions import utc_date
from adapters.persistence.items import load_item_tags
from adapters.persistence.records import (
    AttemptRecord,
    DailyAttemptStatsRecord,
    ItemAttemptStatsRecord,
    ItemRecord,
)
from application.ports import StatsRepository
from domain.pages import Page, PageRequest
from domain.stats import AttemptAggregate, PracticeLogEntry, TimeWindow

_ITEM = ItemAttemptStatsRecord
_DAY = DailyAttemptStatsRecord
_LAST_MICROSECOND = timedelta(microseconds=1)
# Early practice log pages of bounded windows walk at most this many attempts per entry wanted,
# and never more than _WALK_LIMIT.
_WALK_PER_ENTRY = 8
_WALK_LIMIT = 4_000


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class _Split:
    """A bounded window as whole UTC days (from the daily rollups) plus partial edges.

    `first_day`/`last_day` bound the whole days (None: open); `before`/`after` are the raw
    ranges `[since, midnight(first_day))` and `[midnight(last_day + 1), until]` when not empty.
    """

    first_day: date | None
    last_day: date | None
    before: tuple[datetime, datetime] | None
    after: tuple[datetime, datetime] | None

    @classmethod
    def of(cls, window: TimeWindow) -> _Split | None:
        """None when the window covers no whole day (aggregate its attempts instead)."""
        since = None if window.since is None else _utc(window.since)
        until = None if window.until is None else _utc(window.until)
        first_day = last_day = None
        before = after = None
        if since is not None:
            first_day = since.date()
            if since != midnight(first_day):
                first_day += timedelta(days=1)
                before = (since, midnight(first_day))
        if until is not None:
            last_day = until.date()
            end = midnight(last_day + timedelta(days=1))
            if until != end - _LAST_MICROSECOND:
                last_day -= timedelta(days=1)
                after = (end - timedelta(days=1), until)
        if first_day is not None and last_day is not None and first_day > last_day:
            return None
        return cls(first_day, last_day, before, after)


def _is_bounded(window: TimeWindow) -> bool:
    return window.since is not None or window.until is not None


def _practised(window: TimeWindow) -> list[ColumnElement[bool]]:
    """Conditions on item rollups: the item has an attempt in the window.

    An item's first or last attempt inside the window decides at once; only an item practised
    both before and after the window needs a look at its attempts (one index probe).
    """
    conditions: list[ColumnElement[bool]] = []
    since, until = window.since, window.until
    if since is not None:
        conditions.append(_ITEM.last_at >= since)
    if until is not None:
        conditions.append(_ITEM.first_at <= until)
    if since is not None and until is not None:
        conditions.append(
            or_(
                _ITEM.last_at <= until,
                _ITEM.first_at >= since,
                exists().where(
                    AttemptRecord.item_id == _ITEM.item_id,
                    AttemptRecord.created_at >= since,
                    AttemptRecord.created_at <= until,
                ),
            )
        )
    return conditions


def _last_in(window: TimeWindow, until: datetime) -> ColumnElement[datetime | None]:
    """An item's last attempt in a window ending at `until`, NULL when it has none there."""
    latest = select(func.max(AttemptRecord.created_at)).where(
        AttemptRecord.item_id == _ITEM.item_id,
        *window_conditions(window),
    )
    in_window = _ITEM.last_at <= until
    if window.since is not None:
        in_window &= _ITEM.last_at >= window.since
    return case((in_window, _ITEM.last_at), else_=latest.scalar_subquery())


class SqlStatsRepository(StatsRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def summary(self, window: TimeWindow) -> tuple[AttemptAggregate, int]:
        unique = await self._session.scalar(
            select(func.count()).select_from(_ITEM).where(*_practised(window))
        )
        return await self._aggregate_in(window), int(unique or 0)

    async def practice_log(self, window: TimeWindow, page: PageRequest) -> Page[PracticeLogEntry]:
        ids, total = await self._practice_log_page(window, page)
        if not ids:
            return Page(rows=[], total=total, request=page)
        rows = {
            row.id: row
            for row in await self._session.execute(
                select(
                    ItemRecord.id,
                    ItemRecord.text,
                    ItemRecord.locale,
                    ItemRecord.difficulty,
                    *rollup_columns(_ITEM),
                )
                .join(_ITEM, _ITEM.item_id == ItemRecord.id)
                .where(ItemRecord.id.in_(ids))
            )
        }
        if _is_bounded(window):
            # The page's items only: their attempts in the window, through (item_id, created_at).
            aggregates = {
                row.item_id: to_aggregate(row._mapping)
                for row in await self._session.execute(
                    select(AttemptRecord.item_id, *aggregate_columns())
                    .where(AttemptRecord.item_id.in_(ids), *window_conditions(window))
                    .group_by(AttemptRecord.item_id)
                )
            }
        else:
            aggregates = {item_id: to_aggregate(row._mapping) for item_id, row in rows.items()}
        tags = await load_item_tags(self._session, ids)
        entries = [
            PracticeLogEntry(
                item_id=item_id,
                text=rows[item_id].text,
                locale=rows[item_id].locale,
                tags=tags[item_id],
                difficulty=rows[item_id].difficulty,
                aggregate=aggregates.get(item_id, AttemptAggregate()),
            )
            for item_id in ids
            if item_id in rows
        ]
        return Page(rows=entries, total=total, request=page)

    async def _practice_log_page(
        self, window: TimeWindow, page: PageRequest
    ) -> tuple[list[int], int]:
        """The ids of the page's items in practice log order, and the number of entries."""
        if window.until is None:
            # The (last_at, item_id) index of the rollups counts the entries and gives the order.
            practised = _practised(window)
            total = int(
                await self._session.scalar(
                    select(func.count()).select_from(_ITEM).where(*practised)
                )
                or 0
            )
            if page.offset >= total:
                return [], total
            ids = await self._session.scalars(
                select(_ITEM.item_id)
                .where(*practised)
                .order_by(_ITEM.last_at.desc(), _ITEM.item_id.desc())
                .limit(page.per_page)
                .offset(page.offset)
            )
            return list(ids), total
        early = await self._early_page(window, page)
        if early is not None:
            return early
        # An upper bound: an item practised after it needs its last attempt in the window (one
        # index probe, NULL when it has none there). Each candidate is probed once, in a CTE
        # that the page and the count of entries both read.
        until = window.until
        candidates = [_ITEM.first_at <= until]
        if window.since is not None:
            candidates.append(_ITEM.last_at >= window.since)
        probed = (
            select(_ITEM.item_id, _last_in(window, until).label("last"))
            .where(*candidates)
            .cte("probed")  # read twice: SQLite (3.35+) and Postgres (12+) materialize it
        )
        entries = select(func.count(probed.c.last)).scalar_subquery()
        rows = (
            await self._session.execute(
                select(probed.c.item_id, entries.label("entries"))
                .where(probed.c.last.is_not(None))
                .order_by(probed.c.last.desc(), probed.c.item_id.desc())
                .limit(page.per_page)
                .offset(page.offset)
            )
        ).all()
        if rows:
            return [row.item_id for row in rows], int(rows[0].entries)
        # Past the last entry: count the entries alone.
        counted = await self._session.scalar(
            select(func.count()).select_from(_ITEM).where(*_practised(window))
        )
        return [], int(counted or 0)

    async def _early_page(
        self, window: TimeWindow, page: PageRequest
    ) -> tuple[list[int], int] | None:
        """An early page of a window with an upper bound, without probing every item.

        Walking the window's attempts from the newest (the created_at index, backwards) meets
        each item first at its last attempt in the window, in practice log order (ties: item id
        descending, as the index runs). A short walk that meets enough items gives the page;
        None when it does not (the caller probes every item instead).
        """
        needed = page.offset + page.per_page
        walk = needed * _WALK_PER_ENTRY
        if walk > _WALK_LIMIT:
            return None
        newest = (
            select(AttemptRecord.item_id, AttemptRecord.created_at)
            .where(*window_conditions(window))
            .order_by(AttemptRecord.created_at.desc(), AttemptRecord.item_id.desc())
            .limit(walk)
            .subquery("newest")
        )
        last = func.max(newest.c.created_at).label("last")
        met = await self._session.scalars(
            select(newest.c.item_id)
            .group_by(newest.c.item_id)
            .order_by(last.desc(), newest.c.item_id.desc())
        )
        ids = list(met)
        if len(ids) < needed:
            return None
        total = await self._session.scalar(
            select(func.count()).select_from(_ITEM).where(*_practised(window))
        )
        return ids[page.offset : needed], int(total or 0)

    async def item(self, item_id: int) -> AttemptAggregate:
        row = (
            await self._session.execute(
                select(*rollup_columns(_ITEM)).where(_ITEM.item_id == item_id)
            )
        ).first()
        return AttemptAggregate() if row is None else to_aggregate(row._mapping)

    async def daily(
        self, first_day: date, last_day: date, item_id: int | None
    ) -> dict[date, AttemptAggregate]:
        if item_id is None:
            rows = await self._session.execute(
                select(_DAY.day, *rollup_columns(_DAY)).where(
                    _DAY.day >= first_day, _DAY.day <= last_day
                )
            )
            return {row.day: to_aggregate(row._mapping) for row in rows}
        # One item's attempts through (item_id, created_at): range bounds, not a predicate on the
        # computed date, keep that index usable.
        day = utc_date(AttemptRecord.created_at).label("day")
        rows = await self._session.execute(
            select(day, *aggregate_columns())
            .where(
                AttemptRecord.item_id == item_id,
                AttemptRecord.created_at >= midnight(first_day),
                AttemptRecord.created_at < midnight(last_day + timedelta(days=1)),
            )
            .group_by(day)
        )
        return {row.day: to_aggregate(row._mapping) for row in rows}

    async def _aggregate_in(self, window: TimeWindow) -> AttemptAggregate:
        """All attempts in the window: whole days from the daily rollups, edges from attempts."""
        split = _Split.of(window)
        if split is None:
            return await self._attempts_between(window.since, window.until)
        days: list[ColumnElement[bool]] = []
        if split.first_day is not None:
            days.append(_DAY.day >= split.first_day)
        if split.last_day is not None:
            days.append(_DAY.day <= split.last_day)
        row = (await self._session.execute(select(*rollup_totals(_DAY)).where(*days))).one()
        aggregate = to_aggregate(row._mapping)
        if split.before is not None:
            start, end = split.before
            aggregate = combine(aggregate, await self._attempts_between(start, end, before=True))
        if split.after is not None:
            start, end = split.after
            aggregate = combine(aggregate, await self._attempts_between(start, end))
        return aggregate

    async def _attempts_between(
        self, since: datetime | None, until: datetime | None, *, before: bool = False
    ) -> AttemptAggregate:
        """Aggregate of attempts with since ≤ created_at ≤ until (< until when `before`)."""
        conditions: list[ColumnElement[bool]] = []
        if since is not None:
            conditions.append(AttemptRecord.created_at >= since)
        if until is not None:
            conditions.append(
                AttemptRecord.created_at < until if before else AttemptRecord.created_at <= until
            )
        row = (await self._session.execute(select(*aggregate_columns()).where(*conditions))).one()
        return to_aggregate(row._mapping)
