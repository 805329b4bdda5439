"""Preset tags in SQL (API §7.2)."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.records import TagRecord
from application.ports import TagRepository
from domain.errors import TagAlreadyExistsError
from domain.tags import Tag


def folded_tag_name(name: str) -> str:
    """The uniqueness and ordering key; computed in Python so every database agrees."""
    return name.strip().casefold()


def _to_entity(record: TagRecord) -> Tag:
    return Tag(id=record.id, name=record.name, created_at=record.created_at.astimezone(UTC))


class SqlTagRepository(TagRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, tag: Tag) -> Tag:
        record = TagRecord(
            name=tag.name, name_folded=folded_tag_name(tag.name), created_at=tag.created_at
        )
        self._session.add(record)
        try:
            # Flush now so a duplicate surfaces here. When another transaction inserted the same
            # name but has not committed yet, the unique index makes this INSERT wait for it
            # (Postgres row lock, SQLite busy_timeout) and then fail, so races also end in 409.
            await self._session.flush()
        except IntegrityError as exc:
            # The only constraint a well-formed Tag can break is the unique folded name. The
            # failed flush has ended the transaction: the unit of work can only roll back now.
            raise TagAlreadyExistsError(tag.name) from exc
        return _to_entity(record)

    async def list(self, limit: int, offset: int) -> tuple[list[Tag], int]:
        total = int(await self._session.scalar(select(func.count()).select_from(TagRecord)) or 0)
        records = await self._session.scalars(
            select(TagRecord)
            .order_by(TagRecord.name_folded, TagRecord.id)
            .limit(limit)
            .offset(offset)
        )
        return [_to_entity(record) for record in records], total

    async def delete(self, tag_id: int) -> bool:
        deleted = await self._session.scalar(
            delete(TagRecord).where(TagRecord.id == tag_id).returning(TagRecord.id)
        )
        return deleted is not None
