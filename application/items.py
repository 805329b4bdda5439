"""Use cases for dictation items."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from application.audio import release_audio, unlink_released
from application.lookups import UnitOfWorkItemLookup
from application.ports import (
    AudioStore,
    Clock,
    ItemLookup,
    JobQueue,
    SynthesisJob,
    UnitOfWorkFactory,
)
from application.voices import VoiceCatalogue
from domain.errors import InvalidInputError, ItemNotFoundError
from domain.items import (
    Item,
    infer_difficulty,
    normalise_tags,
    validate_difficulty,
    validate_text,
)
from domain.listing import ItemFilter, ItemSort
from domain.locales import canonical_locale
from domain.pages import Page, PageRequest


@dataclass(frozen=True, slots=True)
class ItemDraft:
    """An item as submitted; validated by `ItemService`."""

    locale: str
    text: str
    difficulty: int | None = None
    tags: Sequence[str] | None = None


class ItemService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        queue: JobQueue,
        voices: VoiceCatalogue,
        store: AudioStore,
        clock: Clock,
        lookup: ItemLookup | None = None,
    ) -> None:
        self._uow = uow
        self._lookup = lookup or UnitOfWorkItemLookup(uow)
        self._queue = queue
        self._voices = voices
        self._store = store
        self._clock = clock

    def _build(self, draft: ItemDraft, now: datetime, prefix: str = "") -> Item:
        try:
            locale = canonical_locale(draft.locale)
            choice = self._voices.choose(locale)
            text = validate_text(draft.text)
            difficulty = (
                infer_difficulty(text)
                if draft.difficulty is None
                else validate_difficulty(draft.difficulty)
            )
            tags = normalise_tags(draft.tags or ())
        except InvalidInputError as exc:
            raise exc.prefixed(prefix) from None
        return Item(
            locale=locale,
            text=text,
            difficulty=difficulty,
            tags=tags,
            created_at=now,
            updated_at=now,
            tts_provider=choice.provider,
            tts_voice=choice.voice,
        )

    async def create_many(
        self, drafts: Sequence[ItemDraft], *, prefixed: bool = True
    ) -> list[Item]:
        """All or nothing: any invalid draft rejects the batch; jobs are queued after commit."""
        now = self._clock.now()
        items = [
            self._build(draft, now, f"items[{index}]." if prefixed else "")
            for index, draft in enumerate(drafts)
        ]
        async with self._uow() as uow:
            created = await uow.items.add_many(items)
            await uow.commit()
        await self._queue.enqueue([SynthesisJob(i.id, i.tts_generation) for i in created if i.id])
        return created

    async def create(self, draft: ItemDraft) -> Item:
        (item,) = await self.create_many([draft], prefixed=False)
        return item

    async def get(self, item_id: int) -> Item:
        item = await self._lookup.get(item_id)
        if item is None:
            raise ItemNotFoundError()
        return item

    async def list(self, where: ItemFilter, sort: ItemSort, page: PageRequest) -> Page[Item]:
        return await self._lookup.list(where, sort, page)

    async def delete(self, item_id: int) -> None:
        """Remove the item with its attempts; its audio file goes once no item shares it."""
        async with self._uow() as uow:
            removed = await uow.items.delete(item_id)
            if removed is None:
                raise ItemNotFoundError()
            unlink = await release_audio(uow, removed.audio_key)
            await uow.commit()
        if unlink:
            await unlink_released(self._uow, self._store, self._clock, unlink)

    async def replace_tags(
        self, item_id: int, tags: Sequence[str]
    ) -> tuple[builtins.list[str], Item]:
        """Returns the previous tags and the updated item."""
        current = normalise_tags(tags)
        async with self._uow() as uow:
            item = await uow.items.get(item_id)
            if item is None:
                raise ItemNotFoundError()
            previous = item.tags
            item.tags = current
            item.updated_at = self._clock.now()
            await uow.items.update(item)
            await uow.commit()
        return previous, item

    async def set_difficulty(self, item_id: int, difficulty: int) -> tuple[int, Item]:
        """Returns the previous difficulty and the updated item."""
        validate_difficulty(difficulty)
        async with self._uow() as uow:
            item = await uow.items.get(item_id)
            if item is None:
                raise ItemNotFoundError()
            previous = item.difficulty
            item.difficulty = difficulty
            item.updated_at = self._clock.now()
            await uow.items.update(item)
            await uow.commit()
        return previous, item

    async def requeue_pending(self) -> int:
        """Start-up recovery: queue every pending item again, by ascending id (idempotent)."""
        async with self._uow() as uow:
            pending = await uow.items.pending()
        await self._queue.enqueue([SynthesisJob(item_id, gen) for item_id, gen in pending])
        return len(pending)
