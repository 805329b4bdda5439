"""The portable `AttemptStore`: one unit of work per batch."""

from __future__ import annotations

from collections.abc import Sequence

from application.ports import AttemptStore, UnitOfWorkFactory
from domain.attempts import Attempt


class UnitOfWorkAttemptStore(AttemptStore):
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def add_many(self, attempts: Sequence[Attempt]) -> list[Attempt]:
        async with self._uow() as uow:
            stored = await uow.attempts.add_many(attempts)
            await uow.commit()
        return stored

    def close(self) -> None:
        """Nothing to release: every call has its own unit of work."""
