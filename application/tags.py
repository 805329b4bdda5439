"""Use cases for the preset tag catalogue."""

from __future__ import annotations

from application.ports import Clock, UnitOfWorkFactory
from domain.errors import TagNotFoundError
from domain.tags import Tag, normalise_tag_name


class TagService:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def create(self, name: str) -> Tag:
        tag = Tag(name=normalise_tag_name(name), created_at=self._clock.now())
        async with self._uow() as uow:
            created = await uow.tags.add(tag)
            await uow.commit()
        return created

    async def list(self, limit: int, offset: int) -> tuple[list[Tag], int]:
        async with self._uow() as uow:
            return await uow.tags.list(limit, offset)

    async def delete(self, tag_id: int) -> None:
        async with self._uow() as uow:
            if not await uow.tags.delete(tag_id):
                raise TagNotFoundError(tag_id)
            await uow.commit()
