"""Group commit for attempts: concurrent submissions share one transaction.

Every attempt write is a transaction (an fsync on SQLite, a round trip on Postgres) plus two
rollup upserts. Under load most of that is per-transaction cost, so attempts that arrive while a
batch is being written wait for the next batch, which stores them all at once. A lone attempt
is written at once, as before; a submitter is answered only after its batch has committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from application.ports import AttemptStore
from domain.attempts import Attempt
from domain.errors import ItemNotFoundError

_Waiting = tuple[Attempt, "asyncio.Future[Attempt]"]


class AttemptWriter:
    def __init__(self, store: AttemptStore, max_batch: int = 256) -> None:
        self._store = store
        self._max_batch = max_batch
        self._waiting: list[_Waiting] = []
        self._writing: asyncio.Task[None] | None = None

    async def add(self, attempt: Attempt) -> Attempt:
        """Store the attempt (committed when this returns); ItemNotFoundError if its item is
        gone."""
        future: asyncio.Future[Attempt] = asyncio.get_running_loop().create_future()
        self._waiting.append((attempt, future))
        if self._writing is None:
            self._writing = asyncio.create_task(self._write_waiting())
        # A submitter that goes away cancels only its wait: the attempt is stored regardless.
        return await future

    async def close(self) -> None:
        """Finish every write already accepted (at shutdown)."""
        if self._writing is not None:
            await asyncio.shield(self._writing)

    async def _write_waiting(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                await self._write(batch)
        finally:
            self._writing = None

    async def _write(self, batch: Sequence[_Waiting]) -> None:
        try:
            stored = await self._store.add_many([attempt for attempt, _ in batch])
        except ItemNotFoundError as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exc)
                return
            # Some item went away after its submitter looked it up: one at a time, so only the
            # attempts of deleted items fail.
            for waiting in batch:
                await self._write([waiting])
            return
        except Exception as exc:  # noqa: BLE001 - handed to every submitter of the batch
            for _, future in batch:
                _settle(future, exc)
            return
        for (_, future), attempt in zip(batch, stored, strict=True):
            _settle(future, attempt)


def _settle(future: asyncio.Future[Attempt], outcome: Attempt | BaseException) -> None:
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
