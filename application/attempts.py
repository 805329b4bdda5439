"""Use cases for attempts: submit and score, read back, list (API §3.13–3.15)."""

from __future__ import annotations

import asyncio

from application.attempt_store import UnitOfWorkAttemptStore
from application.attempt_writer import AttemptWriter
from application.lookups import UnitOfWorkItemLookup
from application.ports import Clock, ItemLookup, UnitOfWorkFactory
from domain.attempts import Attempt, validate_duration
from domain.errors import AttemptNotFoundError, ItemNotFoundError
from domain.pages import Page, PageRequest
from domain.scoring import score
from domain.stats import TimeWindow

# Aligning ~1,000 characters takes ~0.3 ms: less than a hop to a thread and back. Longer texts
# take milliseconds and go to a thread, off the event loop.
_INLINE_SCORING_CHARS = 1_000


class AttemptService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        lookup: ItemLookup | None = None,
        writer: AttemptWriter | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._lookup = lookup or UnitOfWorkItemLookup(uow)
        self._writer = writer or AttemptWriter(UnitOfWorkAttemptStore(uow))

    async def submit(self, item_id: int, text: str, duration_ms: int | None = None) -> Attempt:
        """Score `text` against the item's text and locale, and store the attempt.

        An item's text and locale never change, so the committed item read outside the write
        is the one the attempt is stored against; an item deleted in between is a 404.
        """
        validate_duration(duration_ms)
        item = await self._lookup.text(item_id)
        if item is None:
            raise ItemNotFoundError()
        if len(item.text) + len(text) <= _INLINE_SCORING_CHARS:
            result = score(item.text, text, item.locale)
        else:
            result = await asyncio.to_thread(score, item.text, text, item.locale)
        attempt = Attempt(
            item_id=item_id,
            text=text,
            score=result,
            created_at=self._clock.now(),
            duration_ms=duration_ms,
        )
        return await self._writer.add(attempt)

    async def get(self, attempt_id: int) -> Attempt:
        async with self._uow() as uow:
            attempt = await uow.attempts.get(attempt_id)
        if attempt is None:
            raise AttemptNotFoundError()
        return attempt

    async def list(
        self, item_id: int | None, window: TimeWindow, page: PageRequest
    ) -> Page[Attempt]:
        """Newest first, ties broken by id descending; an unknown item id matches nothing."""
        async with self._uow() as uow:
            return await uow.attempts.list(item_id, window, page)
