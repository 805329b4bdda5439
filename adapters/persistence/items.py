"""Items and their tags in SQL (API §2.1, §7.3, §8)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Select,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.attempts import delete_item_attempts
from adapters.persistence.expressions import contains_literal
from adapters.persistence.records import AttemptRecord, AudioBlobRecord, ItemRecord, ItemTagRecord
from application.ports import ItemRepository
from domain.items import Item, TtsStatus, fold
from domain.listing import ItemFilter, ItemSort
from domain.pages import Page, PageRequest

_SORTS: dict[ItemSort, tuple[ColumnElement[Any], ...]] = {
    ItemSort.CREATED_DESC: (ItemRecord.created_at.desc(), ItemRecord.id.desc()),
    ItemSort.CREATED_ASC: (ItemRecord.created_at.asc(), ItemRecord.id.asc()),
    ItemSort.DIFFICULTY_ASC: (ItemRecord.difficulty.asc(), ItemRecord.id.asc()),
    ItemSort.DIFFICULTY_DESC: (ItemRecord.difficulty.desc(), ItemRecord.id.desc()),
}


def _has_attempts() -> ColumnElement[bool]:
    return exists().where(AttemptRecord.item_id == ItemRecord.id)


def _has_tag(folded: str) -> ColumnElement[bool]:
    return exists().where(
        ItemTagRecord.item_id == ItemRecord.id, ItemTagRecord.name_folded == folded
    )


def _select_items() -> Select[ItemRecord, bool, int]:
    """Items with the read-side facts: `practiced` and the duration of their stored audio."""
    return (
        select(ItemRecord, _has_attempts().label("practiced"), AudioBlobRecord.duration_ms)
        .outerjoin(AudioBlobRecord, AudioBlobRecord.key == ItemRecord.audio_key)
        # Rows changed by bulk UPDATEs in this session must not come back stale from the
        # identity map.
        .execution_options(populate_existing=True)
    )


def _conditions(where: ItemFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if where.locale:
        conditions.append(ItemRecord.locale == where.locale)
    conditions.extend(_has_tag(tag) for tag in where.tags if tag)
    if where.difficulty_min is not None:
        conditions.append(ItemRecord.difficulty >= where.difficulty_min)
    if where.difficulty_max is not None:
        conditions.append(ItemRecord.difficulty <= where.difficulty_max)
    if where.practiced is not None:
        conditions.append(_has_attempts() if where.practiced else ~_has_attempts())
    if where.q:
        conditions.append(contains_literal(ItemRecord.search_text, where.q))
    if where.tts_status is not None:
        conditions.append(ItemRecord.tts_status == where.tts_status.value)
    return conditions


async def load_item_tags(session: AsyncSession, item_ids: Iterable[int]) -> dict[int, list[str]]:
    """Tags of many items in one query, each list in stored position order."""
    ids = list(item_ids)
    tags: dict[int, list[str]] = defaultdict(list)
    if not ids:
        return tags
    rows = await session.execute(
        select(ItemTagRecord.item_id, ItemTagRecord.name)
        .where(ItemTagRecord.item_id.in_(ids))
        .order_by(ItemTagRecord.item_id, ItemTagRecord.position)
    )
    for item_id, name in rows:
        tags[item_id].append(name)
    return tags


def _tag_rows(item_id: int, tags: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {"item_id": item_id, "position": position, "name": name, "name_folded": name.casefold()}
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
            for row in _tag_rows(record.id, item.tags)
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

    async def update(self, item: Item) -> None:
        if item.id is None:
            raise ValueError("cannot update an item that was never added")
        result = await self._session.execute(
            update(ItemRecord)
            .where(ItemRecord.id == item.id)
            .values(**_mutable_fields(item))
            .execution_options(synchronize_session=False)
        )
        # An item deleted meanwhile stays deleted, as if the delete had come after this update.
        if cast("CursorResult[Any]", result).rowcount == 0:
            return
        await self._session.execute(delete(ItemTagRecord).where(ItemTagRecord.item_id == item.id))
        if item.tags:
            await self._session.execute(insert(ItemTagRecord), _tag_rows(item.id, item.tags))

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

    async def pending(self) -> list[Item]:
        rows = (
            await self._session.execute(
                _select_items()
                .where(ItemRecord.tts_status == TtsStatus.PENDING.value)
                .order_by(ItemRecord.id)
            )
        ).all()
        return await self._with_tags(rows)

    async def _with_tags(self, rows: Sequence[Any]) -> list[Item]:
        tags = await load_item_tags(self._session, (record.id for record, _, _ in rows))
        return [
            _to_entity(record, tags[record.id], practiced, duration_ms)
            for record, practiced, duration_ms in rows
        ]

    async def list(self, where: ItemFilter, sort: ItemSort, page: PageRequest) -> Page[Item]:
        conditions = _conditions(where)
        total = await self._session.scalar(
            select(func.count()).select_from(ItemRecord).where(*conditions)
        )
        total = int(total or 0)
        if page.offset >= total:
            return Page(rows=[], total=total, request=page)
        rows = (
            await self._session.execute(
                _select_items()
                .where(*conditions)
                .order_by(*_SORTS[sort])
                .limit(page.per_page)
                .offset(page.offset)
            )
        ).all()
        return Page(rows=await self._with_tags(rows), total=total, request=page)
