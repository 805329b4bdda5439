"""The portable `ItemLookup`: one short read-only unit of work per call."""

from __future__ import annotations

from application.ports import ItemLookup, UnitOfWorkFactory
from domain.items import Item, ItemText
from domain.listing import ItemFilter, ItemSort
from domain.pages import Page, PageRequest


class UnitOfWorkItemLookup(ItemLookup):
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def get(self, item_id: int) -> Item | None:
        async with self._uow() as uow:
            return await uow.items.get(item_id)

    async def text(self, item_id: int) -> ItemText | None:
        async with self._uow() as uow:
            return await uow.items.text(item_id)

    async def list(self, where: ItemFilter, sort: ItemSort, page: PageRequest) -> Page[Item]:
        async with self._uow() as uow:
            return await uow.items.list(where, sort, page)

    def close(self) -> None:
        """Nothing to release: every call has its own unit of work."""
