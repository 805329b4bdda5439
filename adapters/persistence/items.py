"""Items and their tags in SQL (API §2.1, §7.3, §8)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Select,
    SQLColumnExpression,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, aliased

from adapters.persistence.attempts import delete_item_attempts
from adapters.persistence.expressions import contains_literal
from adapters.persistence.records import AttemptRecord, AudioBlobRecord, ItemRecord, ItemTagRecord
from application.ports import ItemRepository
from domain.items import Item, ItemText, TtsStatus, fold
from domain.listing import ItemFilter, ItemSort
from domain.pages import Page, PageRequest

_SORTS: dict[ItemSort, tuple[ColumnElement[Any], ...]] = {
    ItemSort.CREATED_DESC: (ItemRecord.created_at.desc(), ItemRecord.id.desc()),
    ItemSort.CREATED_ASC: (ItemRecord.created_at.asc(), ItemRecord.id.asc()),
    ItemSort.DIFFICULTY_ASC: (ItemRecord.difficulty.asc(), ItemRecord.id.asc()),
    ItemSort.DIFFICULTY_DESC: (ItemRecord.difficulty.desc(), ItemRecord.id.desc()),
}
# The same orders over the copies of the item's columns in its tag rows.
_TAG_SORTS: dict[ItemSort, tuple[ColumnElement[Any], ...]] = {
    ItemSort.CREATED_DESC: (ItemTagRecord.created_at.desc(), ItemTagRecord.item_id.desc()),
    ItemSort.CREATED_ASC: (ItemTagRecord.created_at.asc(), ItemTagRecord.item_id.asc()),
    ItemSort.DIFFICULTY_ASC: (ItemTagRecord.difficulty.asc(), ItemTagRecord.item_id.asc()),
    ItemSort.DIFFICULTY_DESC: (ItemTagRecord.difficulty.desc(), ItemTagRecord.item_id.desc()),
}
_CREATED_SORTS = {ItemSort.CREATED_DESC, ItemSort.CREATED_ASC}


def _has_attempts() -> ColumnElement[bool]:
    return exists().where(AttemptRecord.item_id == ItemRecord.id)


def _select_items() -> Select[ItemRecord, bool, int]:
    """Items with the read-side facts: `practiced` and the duration of their stored audio."""
    return (
        select(ItemRecord, _has_attempts().label("practiced"), AudioBlobRecord.duration_ms)
        .outerjoin(AudioBlobRecord, AudioBlobRecord.key == ItemRecord.audio_key)
        # Rows changed by bulk UPDATEs in this session must not come back stale from the
        # identity map.
        .execution_options(populate_existing=True)
    )


def _locale_and_difficulty(
    where: ItemFilter, locale: SQLColumnExpression[str], difficulty: SQLColumnExpression[int]
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if where.locale:
        conditions.append(locale == where.locale)
    if where.difficulty_min is not None:
        conditions.append(difficulty >= where.difficulty_min)
    if where.difficulty_max is not None:
        conditions.append(difficulty <= where.difficulty_max)
    return conditions


def _item_only_conditions(where: ItemFilter) -> list[ColumnElement[bool]]:
    """The filters that only the items table can answer."""
    conditions: list[ColumnElement[bool]] = []
    if where.practiced is not None:
        conditions.append(_has_attempts() if where.practiced else ~_has_attempts())
    if where.q:
        conditions.append(contains_literal(ItemRecord.search_text, where.q))
    if where.tts_status is not None:
        conditions.append(ItemRecord.tts_status == where.tts_status.value)
    return conditions


def _untagged_conditions(
    where: ItemFilter, *, difficulty_index: bool = True
) -> list[ColumnElement[bool]]:
    # Pages in created_at order compare `difficulty + 0`, which no index serves: SQLite would
    # otherwise read and sort every item in the range through ix_items_difficulty_id (five
    # values, so a range is a large share of the items) instead of walking
    # ix_items_created_at_id until the page is full.
    difficulty = ItemRecord.difficulty if difficulty_index else ItemRecord.difficulty + 0
    return [
        *_locale_and_difficulty(where, ItemRecord.locale, difficulty),
        *_item_only_conditions(where),
    ]


def _tag_conditions(
    rows: type[ItemTagRecord], folded: str, where: ItemFilter
) -> list[ColumnElement[bool]]:
    return [
        rows.name_folded == folded,
        *_locale_and_difficulty(where, rows.locale, rows.difficulty),
    ]


def _tagged(where: ItemFilter) -> Select[int] | None:
    """Ids of the items with every tag of the filter, or None without tag filters.

    Read from the tag rows and their copies of locale, difficulty and created_at, through
    ix_item_tags_name_folded_locale_difficulty_created_at_item_id: the first tag's rows, kept
    when the item's rows for each further tag match too. Items are joined only for the filters
    they alone can answer.
    """
    tags = list(dict.fromkeys(tag for tag in where.tags if tag))
    if not tags:
        return None
    first, *others = tags
    tagged = select(ItemTagRecord.item_id).where(*_tag_conditions(ItemTagRecord, first, where))
    for tag in others:
        other = aliased(ItemTagRecord)
        tagged = tagged.where(
            ItemTagRecord.item_id.in_(
                select(other.item_id).where(*_tag_conditions(other, tag, where))
            )
        )
    item_only = _item_only_conditions(where)
    if item_only:
        tagged = tagged.join(ItemRecord, ItemRecord.id == ItemTagRecord.item_id).where(*item_only)
    return tagged


def _item_tags(session: Session, item_ids: Iterable[int]) -> dict[int, list[str]]:
    """Tags of many items in one query, each list in stored position order."""
    ids = list(item_ids)
    tags: dict[int, list[str]] = defaultdict(list)
    if not ids:
        return tags
    rows = session.execute(
        select(ItemTagRecord.item_id, ItemTagRecord.name)
        .where(ItemTagRecord.item_id.in_(ids))
        .order_by(ItemTagRecord.item_id, ItemTagRecord.position)
    )
    for item_id, name in rows:
        tags[item_id].append(name)
    return tags


async def load_item_tags(session: AsyncSession, item_ids: Iterable[int]) -> dict[int, list[str]]:
    return await session.run_sync(_item_tags, item_ids)


def _entities(session: Session, rows: Sequence[Any]) -> list[Item]:
    """Items from rows of `_select_items()`, with their tags."""
    tags = _item_tags(session, (record.id for record, _, _ in rows))
    return [
        _to_entity(record, tags[record.id], practiced, duration_ms)
        for record, practiced, duration_ms in rows
    ]


def list_items(
    session: Session, where: ItemFilter, sort: ItemSort, page: PageRequest
) -> Page[Item]:
    """`ItemRepository.list` as plain synchronous code: the repository runs it in its async
    session (`run_sync`), and `SqliteItemLookup` on its own connection, inline."""
    tagged = _tagged(where)
    if tagged is None:
        count = select(func.count()).select_from(ItemRecord).where(*_untagged_conditions(where))
    else:
        count = tagged.with_only_columns(func.count())
    total = int(session.scalar(count) or 0)
    if page.offset >= total:
        return Page(rows=[], total=total, request=page)
    if tagged is None:
        conditions = _untagged_conditions(where, difficulty_index=sort not in _CREATED_SORTS)
        query = _select_items().where(*conditions).order_by(*_SORTS[sort])
        query = query.limit(page.per_page).offset(page.offset)
    else:
        # The page's ids come sorted from the tag rows; only those items are read.
        ids = tagged.order_by(*_TAG_SORTS[sort]).limit(page.per_page).offset(page.offset)
        query = _select_items().where(ItemRecord.id.in_(ids)).order_by(*_SORTS[sort])
    return Page(rows=_entities(session, session.execute(query).all()), total=total, request=page)


def _tag_rows(
    item_id: int, tags: Sequence[str], *, locale: str, difficulty: int, created_at: datetime
) -> list[dict[str, Any]]:
    # Every tag row carries its item's locale, difficulty and created_at, as they are stored in
    # items (migration 0004): the list's tag filters and sorts read these copies.
    copied = {"locale": locale, "difficulty": difficulty, "created_at": created_at}
    return [
        {"item_id": item_id, "position": position, "name": name, "name_folded": name.casefold()}
        | copied
        for position, name in enumerate(tags)
    ]


def _to_entity(
    record: ItemRecord, tags: list[str], practiced: bool, audio_duration_ms: int | None
) -> Item:
    return Item(
        id=record.id,
        locale=record.locale,
        text=record.text,
        difficulty=record.difficulty,
        tags=list(tags),
        # Fresh records still hold the caller's datetimes: hand back the instant in UTC, as
        # the database does.
        created_at=record.created_at.astimezone(UTC),
        updated_at=record.updated_at.astimezone(UTC),
        tts_provider=record.tts_provider,
        tts_voice=record.tts_voice,
        tts_status=TtsStatus(record.tts_status),
        tts_error=record.tts_error,
        tts_generation=record.tts_generation,
        audio_key=record.audio_key,
        practiced=bool(practiced),
        audio_duration_ms=audio_duration_ms,
    )


def _tts_fields(item: Item) -> dict[str, Any]:
    return {
        "tts_status": item.tts_status.value,
        "tts_error": item.tts_error,
        "audio_key": item.audio_key,
        "tts_provider": item.tts_provider,
        "tts_voice": item.tts_voice,
        "updated_at": item.updated_at,
    }


def _mutable_fields(item: Item) -> dict[str, Any]:
    return _tts_fields(item) | {
        "difficulty": item.difficulty,
        "tts_generation": item.tts_generation,
    }


class SqlItemRepository(ItemRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_many(self, items: Sequence[Item]) -> list[Item]:
        records = [
            ItemRecord(
                locale=item.locale,
                text=item.text,
                search_text=fold(item.text),
                created_at=item.created_at,
                **_mutable_fields(item),
            )
            for item in items
        ]
        # One flush inserts in list order, so ids ascend with the input.
        self._session.add_all(records)
        await self._session.flush()
        tag_rows = [
            row
            for record, item in zip(records, items, strict=True)
            for row in _tag_rows(
                record.id,
                item.tags,
                locale=record.locale,
                difficulty=record.difficulty,
                created_at=record.created_at,
            )
        ]
        if tag_rows:
            await self._session.execute(insert(ItemTagRecord), tag_rows)
        return [
            _to_entity(record, item.tags, practiced=False, audio_duration_ms=None)
            for record, item in zip(records, items, strict=True)
        ]

    async def get(self, item_id: int) -> Item | None:
        row = (await self._session.execute(_select_items().where(ItemRecord.id == item_id))).first()
        if row is None:
            return None
        record, practiced, duration_ms = row
        tags = await load_item_tags(self._session, [record.id])
        return _to_entity(record, tags[record.id], practiced, duration_ms)

    async def text(self, item_id: int) -> ItemText | None:
        statement = select(ItemRecord.text, ItemRecord.locale).where(ItemRecord.id == item_id)
        row = (await self._session.execute(statement)).first()
        return None if row is None else ItemText(row.text, row.locale)

    async def update(self, item: Item) -> None:
        if item.id is None:
            raise ValueError("cannot update an item that was never added")
        stored = (
            await self._session.execute(
                update(ItemRecord)
                .where(ItemRecord.id == item.id)
                .values(**_mutable_fields(item))
                .returning(ItemRecord.locale, ItemRecord.difficulty, ItemRecord.created_at)
                .execution_options(synchronize_session=False)
            )
        ).first()
        # An item deleted meanwhile stays deleted, as if the delete had come after this update.
        if stored is None:
            return
        # The tag rows are written again with every update, so their copies of the item's
        # columns follow a difficulty change; the copies are taken from the stored row.
        await self._session.execute(delete(ItemTagRecord).where(ItemTagRecord.item_id == item.id))
        if item.tags:
            await self._session.execute(
                insert(ItemTagRecord),
                _tag_rows(
                    item.id,
                    item.tags,
                    locale=stored.locale,
                    difficulty=stored.difficulty,
                    created_at=stored.created_at,
                ),
            )

    async def update_tts_if_pending(self, item: Item) -> bool:
        if item.id is None:
            raise ValueError("cannot update an item that was never added")
        result = await self._session.execute(
            update(ItemRecord)
            .where(
                ItemRecord.id == item.id,
                ItemRecord.tts_generation == item.tts_generation,
                ItemRecord.tts_status == TtsStatus.PENDING.value,
            )
            .values(**_tts_fields(item))
            .execution_options(synchronize_session=False)
        )
        return cast("CursorResult[Any]", result).rowcount == 1

    async def delete(self, item_id: int) -> Item | None:
        item = await self.get(item_id)
        if item is None:
            return None
        # Locks first, so no attempt of the item can be added while its attempts leave the
        # statistics rollups: the item's row on Postgres (attempt inserts wait on it); on SQLite
        # the database, which the transaction's first write takes.
        await self._session.execute(
            select(ItemRecord.id).where(ItemRecord.id == item_id).with_for_update()
        )
        # Explicit deletes as well as ON DELETE CASCADE: correct even on a SQLite connection
        # opened without foreign_keys=ON.
        await self._session.execute(delete(ItemTagRecord).where(ItemTagRecord.item_id == item_id))
        await delete_item_attempts(self._session, item_id)
        await self._session.execute(
            delete(ItemRecord)
            .where(ItemRecord.id == item_id)
            .execution_options(synchronize_session=False)
        )
        return item

    async def pending(self) -> list[tuple[int, int]]:
        rows = await self._session.execute(
            select(ItemRecord.id, ItemRecord.tts_generation)
            .where(ItemRecord.tts_status == TtsStatus.PENDING.value)
            .order_by(ItemRecord.id)
        )
        return [(item_id, generation) for item_id, generation in rows]

    async def list(self, where: ItemFilter, sort: ItemSort, page: PageRequest) -> Page[Item]:
        return await self._session.run_sync(list_items, where, sort, page)
