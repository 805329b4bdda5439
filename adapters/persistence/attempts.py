"""Attempts in SQL (API §2.2, §3.14), and the rollups every attempt write keeps exact (§6).

Two rollup tables hold the aggregates the statistics read (migration 0003):
`item_attempt_stats` (all attempts of one item) and `daily_attempt_stats` (all attempts on one
UTC date). They change in the same transaction as the attempts: `add_many` upserts both (an
atomic `INSERT … ON CONFLICT DO UPDATE` per row, safe under concurrent writers), and deleting an
item goes through `delete_item_attempts`, which takes the item's attempts out of the daily rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any, TypeVar, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Double,
    Integer,
    RowMapping,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from adapters.persistence.expressions import utc_date
from adapters.persistence.records import (
    AttemptRecord,
    DailyAttemptStatsRecord,
    ItemAttemptStatsRecord,
)
from application.ports import AttemptRepository
from domain.attempts import Attempt
from domain.errors import ItemNotFoundError
from domain.pages import Page, PageRequest
from domain.scoring import AlignmentKind, AlignmentOp, Score
from domain.stats import AttemptAggregate, TimeWindow, aggregate_of

# ------------------------------------------------------------------------------- aggregates


def aggregate_columns() -> list[ColumnElement[Any]]:
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


AGGREGATE_FIELDS = [column.name for column in aggregate_columns()]

RollupRecord = type[ItemAttemptStatsRecord] | type[DailyAttemptStatsRecord]


def rollup_columns(record: RollupRecord) -> list[ColumnElement[Any]]:
    """The columns of one rollup row, labelled with the AttemptAggregate field they fill."""
    return [
        record.attempt_count.label("count"),
        record.percentage_sum.label("percentage_sum"),
        record.percentage_min.label("percentage_min"),
        record.percentage_max.label("percentage_max"),
        record.wer_sum.label("wer_sum"),
        record.wer_min.label("wer_min"),
        record.wer_max.label("wer_max"),
        record.timed_ms_sum.label("timed_ms_sum"),
        record.untimed_count.label("untimed_count"),
        record.first_at.label("first_at"),
        record.last_at.label("last_at"),
    ]


def rollup_totals(record: RollupRecord) -> list[ColumnElement[Any]]:
    """The aggregate of many rollup rows, labelled like `aggregate_columns`."""
    return [
        func.sum(record.attempt_count).label("count"),
        func.sum(record.percentage_sum).label("percentage_sum"),
        func.min(record.percentage_min).label("percentage_min"),
        func.max(record.percentage_max).label("percentage_max"),
        func.sum(record.wer_sum).label("wer_sum"),
        func.min(record.wer_min).label("wer_min"),
        func.max(record.wer_max).label("wer_max"),
        func.sum(record.timed_ms_sum).label("timed_ms_sum"),
        func.sum(record.untimed_count).label("untimed_count"),
        func.min(record.first_at).label("first_at"),
        func.max(record.last_at).label("last_at"),
    ]


def to_aggregate(row: RowMapping) -> AttemptAggregate:
    """The aggregate columns of a row; SQL answers NULL over no rows where the domain wants 0."""
    values = {name: row[name] for name in AGGREGATE_FIELDS}
    if not values["count"]:
        return AttemptAggregate()
    # int()/float(): Postgres SUM(integer) is bigint, SUM(bigint) numeric (Decimal).
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


def combine(first: AttemptAggregate, second: AttemptAggregate) -> AttemptAggregate:
    """The aggregate of two disjoint sets of attempts."""
    if not second.count:
        return first
    if not first.count:
        return second
    return AttemptAggregate(
        count=first.count + second.count,
        percentage_sum=first.percentage_sum + second.percentage_sum,
        percentage_min=min(first.percentage_min, second.percentage_min),
        percentage_max=max(first.percentage_max, second.percentage_max),
        wer_sum=first.wer_sum + second.wer_sum,
        wer_min=min(first.wer_min, second.wer_min),
        wer_max=max(first.wer_max, second.wer_max),
        timed_ms_sum=first.timed_ms_sum + second.timed_ms_sum,
        untimed_count=first.untimed_count + second.untimed_count,
        first_at=_extreme(min, first.first_at, second.first_at),
        last_at=_extreme(max, first.last_at, second.last_at),
    )


def _extreme(
    pick: Callable[[datetime, datetime], datetime], a: datetime | None, b: datetime | None
) -> datetime | None:
    if a is None or b is None:
        return b if a is None else a
    return pick(a, b)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def on_day(day: date) -> list[ColumnElement[bool]]:
    """Attempts whose created_at falls on a UTC date, as a range the created_at index serves."""
    return [
        AttemptRecord.created_at >= midnight(day),
        AttemptRecord.created_at < midnight(day + timedelta(days=1)),
    ]


# ---------------------------------------------------------------------------------- rollups

_SUMS = ("attempt_count", "percentage_sum", "wer_sum", "timed_ms_sum", "untimed_count")
_MINIMA = ("percentage_min", "wer_min", "first_at")
_MAXIMA = ("percentage_max", "wer_max", "last_at")
_ROLLUP = (*_SUMS, *_MINIMA, *_MAXIMA)


RowKey = TypeVar("RowKey", int, date)  # a rollup row's key: an item id or a UTC date


def _totals(
    attempts: Sequence[Attempt], key: Callable[[Attempt], RowKey]
) -> list[tuple[RowKey, AttemptAggregate]]:
    """The batch's attempts summed per rollup row, in key order."""
    groups: dict[RowKey, list[Attempt]] = {}
    for attempt in attempts:
        groups.setdefault(key(attempt), []).append(attempt)
    return [(k, aggregate_of(groups[k])) for k in sorted(groups)]


def _merged(
    table: Table,
    excluded: Any,
    least: Callable[..., ColumnElement[Any]],
    greatest: Callable[..., ColumnElement[Any]],
) -> dict[str, ColumnElement[Any]]:
    """SET clauses adding the proposed row (`excluded`) to the stored one."""
    merged: dict[str, ColumnElement[Any]] = {}
    for name in _SUMS:
        merged[name] = table.c[name] + excluded[name]
    for name in _MINIMA:
        merged[name] = least(table.c[name], excluded[name])
    for name in _MAXIMA:
        merged[name] = greatest(table.c[name], excluded[name])
    return merged


@cache
def rollup_upsert(record: RollupRecord, dialect: str) -> Any:
    """Insert the row, or add it to the stored one: one atomic statement either way.

    Built once per table and dialect with bind parameters, so each write only binds values.
    """
    table = cast(Table, record.__table__)
    row = {column.name: bindparam(column.name) for column in table.columns}
    if dialect == "postgresql":
        pg_insert = postgresql.insert(table).values(row)
        return pg_insert.on_conflict_do_update(
            index_elements=list(table.primary_key.columns.keys()),
            set_=_merged(table, pg_insert.excluded, func.least, func.greatest),
        )
    # SQLite: min()/max() with two arguments are the scalar functions.
    lite_insert = sqlite.insert(table).values(row)
    return lite_insert.on_conflict_do_update(
        index_elements=list(table.primary_key.columns.keys()),
        set_=_merged(table, lite_insert.excluded, func.min, func.max),
    )


def rollup_rows(
    attempts: Sequence[Attempt],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The stored attempts summed per item and per UTC day: the rows to add to each rollup.

    The batch is summed per row first: a batch's attempts mostly share their day, which is then
    one upsert instead of one per attempt. Rows go in key order, and a writer adds items before
    days: one lock order for every writer, so concurrent batches on Postgres cannot deadlock.
    """
    by_item = _totals(attempts, lambda a: a.item_id)
    by_day = _totals(attempts, lambda a: a.created_at.astimezone(UTC).date())
    return (
        [{"item_id": item_id} | _rollup_row(total) for item_id, total in by_item],
        [{"day": day} | _rollup_row(total) for day, total in by_day],
    )


def _add_to_rollups(session: Session, attempts: Sequence[Attempt]) -> None:
    """Count stored attempts in their items' and their days' rollups: one executemany per table."""
    dialect = session.get_bind().dialect.name
    by_item, by_day = rollup_rows(attempts)
    session.execute(rollup_upsert(ItemAttemptStatsRecord, dialect), by_item)
    session.execute(rollup_upsert(DailyAttemptStatsRecord, dialect), by_day)


@dataclass(frozen=True, slots=True)
class _DayRow:
    day: date
    stored: AttemptAggregate
    removed: AttemptAggregate

    def kept_extremes(self) -> list[ColumnElement[bool]] | None:
        """What must hold for the day's minima and maxima to survive the removal.

        An extreme the removed attempts reach survives when a remaining attempt of the day
        reaches it too: one early-exit probe each, instead of re-aggregating the whole day.
        None when an extreme cannot survive (the rollup needs recomputing).
        """
        stored, removed = self.stored, self.removed
        if (
            stored.first_at is None
            or stored.last_at is None
            or removed.first_at is None
            or removed.last_at is None
        ):
            return None
        # (the removed attempts reach the extreme, go beyond it, a remaining one reaching it)
        reached = [
            (
                removed.percentage_min == stored.percentage_min,
                removed.percentage_min < stored.percentage_min,
                AttemptRecord.percentage == stored.percentage_min,
            ),
            (
                removed.percentage_max == stored.percentage_max,
                removed.percentage_max > stored.percentage_max,
                AttemptRecord.percentage == stored.percentage_max,
            ),
            (
                removed.wer_min == stored.wer_min,
                removed.wer_min < stored.wer_min,
                AttemptRecord.wer == stored.wer_min,
            ),
            (
                removed.wer_max == stored.wer_max,
                removed.wer_max > stored.wer_max,
                AttemptRecord.wer == stored.wer_max,
            ),
            (
                removed.first_at == stored.first_at,
                removed.first_at < stored.first_at,
                AttemptRecord.created_at == stored.first_at,
            ),
            (
                removed.last_at == stored.last_at,
                removed.last_at > stored.last_at,
                AttemptRecord.created_at == stored.last_at,
            ),
        ]
        conditions: list[ColumnElement[bool]] = []
        for reaches, beyond, reaching in reached:
            if beyond:
                return None  # the rollup is off: recompute it
            if reaches:
                conditions.append(exists().where(*on_day(self.day), reaching))
        return conditions


async def delete_item_attempts(session: AsyncSession, item_id: int) -> None:
    """Delete an item's attempts and its rollup row, and take the attempts out of the days.

    Call with the item row locked (no attempt of it can arrive meanwhile). Sums are subtracted;
    a day whose minimum or maximum may have been one of the removed attempts is recomputed from
    the attempts that remain on it; a day left without attempts loses its row. A handful of
    statements whatever the number of days.
    """
    day = utc_date(AttemptRecord.created_at).label("day")
    removed = {
        row.day: to_aggregate(row._mapping)
        for row in await session.execute(
            select(day, *aggregate_columns()).where(AttemptRecord.item_id == item_id).group_by(day)
        )
    }
    days: list[_DayRow] = []
    if removed:
        daily = DailyAttemptStatsRecord
        # Locked in date order, so concurrent deletes cannot deadlock on Postgres.
        stored = await session.execute(
            select(daily.day, *rollup_columns(daily))
            .where(daily.day.in_(sorted(removed)))
            .order_by(daily.day)
            .with_for_update()
        )
        days = [_DayRow(row.day, to_aggregate(row._mapping), removed[row.day]) for row in stored]

    await session.execute(delete(AttemptRecord).where(AttemptRecord.item_id == item_id))
    # Also removed by ON DELETE CASCADE with the item; explicit for connections without
    # foreign_keys=ON.
    await session.execute(
        delete(ItemAttemptStatsRecord).where(ItemAttemptStatsRecord.item_id == item_id)
    )
    if days:
        await _take_out_of_days(session, days)


_CHUNK = 50  # days per statement: well under every driver's limit on bound parameters


def _chunks(days: list[_DayRow]) -> list[list[_DayRow]]:
    return [days[start : start + _CHUNK] for start in range(0, len(days), _CHUNK)]


async def _take_out_of_days(session: AsyncSession, days: list[_DayRow]) -> None:
    emptied = [row.day for row in days if row.stored.count <= row.removed.count]
    left = [row for row in days if row.stored.count > row.removed.count]
    # Which days keep their extremes: every probe of every day in one statement per chunk.
    kept: dict[date, bool] = {}
    for chunk in _chunks(left):
        probes = {row.day: row.kept_extremes() for row in chunk}
        for row_day, conditions in probes.items():
            if conditions is None:
                kept[row_day] = False
            elif not conditions:
                kept[row_day] = True
        asked = [(row_day, c) for row_day, c in probes.items() if c]
        if asked:
            answers = (
                await session.execute(
                    select(*(and_(*c).label(f"d{n}") for n, (_, c) in enumerate(asked)))
                )
            ).one()
            kept.update((row_day, bool(answers[n])) for n, (row_day, _) in enumerate(asked))
    subtracted = [row for row in left if kept[row.day]]
    recomputed: dict[date, AttemptAggregate] = {}
    day = utc_date(AttemptRecord.created_at).label("day")
    for chunk in _chunks([row for row in left if not kept[row.day]]):
        rows = await session.execute(
            select(day, *aggregate_columns())
            .where(or_(*(and_(*on_day(row.day)) for row in chunk)))
            .group_by(day)
        )
        recomputed.update((row.day, to_aggregate(row._mapping)) for row in rows)
        emptied.extend(row.day for row in chunk if row.day not in recomputed)

    table = cast(Table, DailyAttemptStatsRecord.__table__)
    c = table.c
    if subtracted:
        await session.execute(
            update(table)
            .where(c.day == bindparam("b_day", type_=c.day.type))
            .values(
                attempt_count=c.attempt_count - bindparam("b_count", type_=Integer()),
                percentage_sum=c.percentage_sum - bindparam("b_percentage", type_=BigInteger()),
                wer_sum=c.wer_sum - bindparam("b_wer", type_=Double()),
                timed_ms_sum=c.timed_ms_sum - bindparam("b_timed", type_=BigInteger()),
                untimed_count=c.untimed_count - bindparam("b_untimed", type_=Integer()),
            ),
            [
                {
                    "b_day": row.day,
                    "b_count": row.removed.count,
                    "b_percentage": row.removed.percentage_sum,
                    "b_wer": row.removed.wer_sum,
                    "b_timed": row.removed.timed_ms_sum,
                    "b_untimed": row.removed.untimed_count,
                }
                for row in subtracted
            ],
        )
    if recomputed:
        await session.execute(
            update(table)
            .where(c.day == bindparam("b_day", type_=c.day.type))
            .values({name: bindparam(f"b_{name}", type_=c[name].type) for name in _ROLLUP}),
            [
                {"b_day": row_day} | {f"b_{name}": v for name, v in _rollup_row(agg).items()}
                for row_day, agg in recomputed.items()
            ],
        )
    if emptied:
        await session.execute(delete(table).where(c.day.in_(emptied)))


def _rollup_row(aggregate: AttemptAggregate) -> dict[str, Any]:
    return {
        "attempt_count": aggregate.count,
        "percentage_sum": aggregate.percentage_sum,
        "percentage_min": aggregate.percentage_min,
        "percentage_max": aggregate.percentage_max,
        "wer_sum": aggregate.wer_sum,
        "wer_min": aggregate.wer_min,
        "wer_max": aggregate.wer_max,
        "timed_ms_sum": aggregate.timed_ms_sum,
        "untimed_count": aggregate.untimed_count,
        "first_at": aggregate.first_at,
        "last_at": aggregate.last_at,
    }


# --------------------------------------------------------------------------------- attempts


def window_conditions(window: TimeWindow) -> list[ColumnElement[bool]]:
    """`since <= created_at <= until`, each bound optional (API §1.4)."""
    conditions: list[ColumnElement[bool]] = []
    if window.since is not None:
        conditions.append(AttemptRecord.created_at >= window.since)
    if window.until is not None:
        conditions.append(AttemptRecord.created_at <= window.until)
    return conditions


def _alignment_document(alignment: tuple[AlignmentOp, ...]) -> list[dict[str, Any]]:
    return [{"op": op.op.value, "ref": op.ref, "hyp": op.hyp} for op in alignment]


def _alignment(document: list[dict[str, Any]]) -> tuple[AlignmentOp, ...]:
    return tuple(AlignmentOp(AlignmentKind(op["op"]), op["ref"], op["hyp"]) for op in document)


def attempt_row(attempt: Attempt) -> dict[str, Any]:
    """The attempts table's columns (all but the id) for a new attempt."""
    score = attempt.score
    return {
        "item_id": attempt.item_id,
        "text": attempt.text,
        "percentage": score.percentage,
        "wer": score.wer,
        "words_ref": score.words_ref,
        "words_correct": score.words_correct,
        "substitutions": score.substitutions,
        "deletions": score.deletions,
        "insertions": score.insertions,
        "alignment": _alignment_document(score.alignment),
        "duration_ms": attempt.duration_ms,
        "created_at": attempt.created_at,
    }


# One multi-row INSERT … RETURNING per batch. RETURNING does not promise any row order, but ids
# are handed out as the rows are inserted, in VALUES order (SQLite under its write lock, Postgres
# drawing its identity sequence row by row): sorted, they line up with the rows. Asking SQLAlchemy
# for the order instead (`sort_by_parameter_order`) makes it insert row by row on SQLite.
_INSERT_ATTEMPTS = insert(AttemptRecord.__table__).returning(AttemptRecord.id)


def with_ids(attempts: Sequence[Attempt], ids: Iterable[int]) -> list[Attempt]:
    """The attempts as stored, given the ids their multi-row INSERT … RETURNING handed out."""
    return [
        replace(a, id=attempt_id, created_at=a.created_at.astimezone(UTC))
        for a, attempt_id in zip(attempts, sorted(ids), strict=True)
    ]


def store_attempts(session: Session, attempts: Sequence[Attempt]) -> list[Attempt]:
    """`AttemptRepository.add_many` as plain synchronous code, which the repository runs in its
    async session (`run_sync`). `SqliteAttemptStore` runs the same statements, compiled once,
    on a `sqlite3` connection of its own."""
    if not attempts:
        return []
    try:
        ids = session.scalars(_INSERT_ATTEMPTS, [attempt_row(a) for a in attempts])
    except IntegrityError:
        # The one foreign key: an item deleted since the caller looked it up.
        raise ItemNotFoundError() from None
    stored = with_ids(attempts, ids)
    _add_to_rollups(session, stored)
    return stored


def _to_entity(record: AttemptRecord) -> Attempt:
    return Attempt(
        id=record.id,
        item_id=record.item_id,
        text=record.text,
        score=Score(
            wer=record.wer,
            percentage=record.percentage,
            words_ref=record.words_ref,
            words_correct=record.words_correct,
            substitutions=record.substitutions,
            deletions=record.deletions,
            insertions=record.insertions,
            alignment=_alignment(record.alignment),
        ),
        created_at=record.created_at.astimezone(UTC),  # fresh records hold the caller's value
        duration_ms=record.duration_ms,
    )


def _count(
    item_id: int | None, window: TimeWindow, conditions: list[ColumnElement[bool]]
) -> Select[Any]:
    """How many attempts match: from the rollups when no window narrows them."""
    if window.since is None and window.until is None:
        if item_id is None:
            return select(func.sum(DailyAttemptStatsRecord.attempt_count))
        return select(ItemAttemptStatsRecord.attempt_count).where(
            ItemAttemptStatsRecord.item_id == item_id
        )
    return select(func.count()).select_from(AttemptRecord).where(*conditions)


class SqlAttemptRepository(AttemptRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, attempt: Attempt) -> Attempt:
        (stored,) = await self.add_many([attempt])
        return stored

    async def add_many(self, attempts: Sequence[Attempt]) -> list[Attempt]:
        return await self._session.run_sync(store_attempts, attempts)

    async def get(self, attempt_id: int) -> Attempt | None:
        record = await self._session.get(AttemptRecord, attempt_id)
        return None if record is None else _to_entity(record)

    async def list(
        self, item_id: int | None, window: TimeWindow, page: PageRequest
    ) -> Page[Attempt]:
        conditions = window_conditions(window)
        if item_id is not None:
            conditions.append(AttemptRecord.item_id == item_id)
        total = int(await self._session.scalar(_count(item_id, window, conditions)) or 0)
        if page.offset >= total:
            return Page(rows=[], total=total, request=page)
        records = await self._session.scalars(
            select(AttemptRecord)
            .where(*conditions)
            .order_by(AttemptRecord.created_at.desc(), AttemptRecord.id.desc())
            .limit(page.per_page)
            .offset(page.offset)
        )
        return Page(rows=[_to_entity(r) for r in records], total=total, request=page)
