"""Use cases for attempts: submit and score, read back, list (API §3.13–3.15)."""

from __future__ import annotations

import asyncio

from application.ports import Clock, UnitOfWorkFactory
from domain.attempts import Attempt, validate_duration
from domain.errors import AttemptNotFoundError, ItemNotFoundError
from domain.pages import Page, PageRequest
from domain.scoring import score
from domain.stats import TimeWindow


class AttemptService:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def submit(self, item_id: int, text: str, duration_ms: int | None = None) -> Attempt:
        """Score `text` against the item's current text and locale, and store the attempt."""
        validate_duration(duration_ms)
        async with self._uow() as uow:
            item = await uow.items.get(item_id)
            if item is None:
                raise ItemNotFoundError()
            # Long texts take milliseconds of CPU to align: keep them off the event loop.
            result = await asyncio.to_thread(score, item.text, text, item.locale)
            attempt = await uow.attempts.add(
                Attempt(
                    item_id=item_id,
                    text=text,
                    score=result,
                    created_at=self._clock.now(),
                    duration_ms=duration_ms,
                )
            )
            await uow.commit()
        return attempt

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
