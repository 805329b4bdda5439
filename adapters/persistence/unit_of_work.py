"""One SQL transaction per unit of work (ARCHITECTURE rule 2)."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from adapters.persistence.attempts import SqlAttemptRepository
from adapters.persistence.audio_blobs import SqlAudioBlobRepository
from adapters.persistence.items import SqlItemRepository
from adapters.persistence.stats import SqlStatsRepository
from adapters.persistence.tags import SqlTagRepository
from application.ports import UnitOfWork, UnitOfWorkFactory


class SqlUnitOfWork(UnitOfWork):
    items: SqlItemRepository
    tags: SqlTagRepository
    attempts: SqlAttemptRepository
    stats: SqlStatsRepository
    audio: SqlAudioBlobRepository

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("a unit of work is entered once; ask the factory for another")
        session = self._session_factory()
        self._session = session
        self.items = SqlItemRepository(session)
        self.tags = SqlTagRepository(session)
        self.attempts = SqlAttemptRepository(session)
        self.stats = SqlStatsRepository(session)
        self.audio = SqlAudioBlobRepository(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self._require_session()
        try:
            # Whatever was not committed (everything on error, writes after commit()) is dropped.
            await session.rollback()
        finally:
            await session.close()

    async def commit(self) -> None:
        await self._require_session().commit()

    def _require_session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("use the unit of work in `async with`")
        return self._session


class SqlUnitOfWorkFactory(UnitOfWorkFactory):
    def __init__(self, engine: AsyncEngine) -> None:
        # expire_on_commit=False: records stay readable after commit without lazy loads (which
        # async sessions cannot do implicitly).
        self._session_factory = async_sessionmaker(engine, expire_on_commit=False)

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._session_factory)
