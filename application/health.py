"""Service health for load balancers (API §10): read-only checks, each bounded in time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from application.ports import AudioStore, Clock, Database, JobQueue, TtsGateway

CHECK_TIMEOUT_SECONDS = 2.0
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HealthReport:
    database: bool
    audio_directory: bool
    tts_service: bool
    task_manager: bool
    queue_backend: str
    queue_pending: int
    checked_at: datetime

    @property
    def healthy(self) -> bool:
        return self.database and self.audio_directory and self.tts_service and self.task_manager


class HealthService:
    def __init__(
        self,
        *,
        database: Database,
        audio: AudioStore,
        tts: TtsGateway,
        queue: JobQueue,
        clock: Clock,
    ) -> None:
        self._database = database
        self._audio = audio
        self._tts = tts
        self._queue = queue
        self._clock = clock

    async def check(self) -> HealthReport:
        async def database() -> bool:
            await self._database.ping()
            return True

        async def audio() -> bool:
            return await asyncio.to_thread(self._audio.is_healthy)

        async def tts() -> bool:
            return await asyncio.to_thread(self._tts.is_available)

        results = await asyncio.gather(
            _bounded("database", database),
            _bounded("audio_directory", audio),
            _bounded("tts_service", tts),
            _bounded("task_manager", self._queue.is_healthy),
        )
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                pending = await self._queue.pending()
        except Exception:  # noqa: BLE001 - an unknown count is reported as 0 (API §10)
            pending = 0
        return HealthReport(*results, self._queue.backend, pending, self._clock.now())


async def _bounded(name: str, check: Callable[[], Awaitable[bool]]) -> bool:
    """Run one check with the time limit; the reason for a failure goes to the log only."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            ok = await check()
    except Exception:
        log.warning("health check %s failed", name, exc_info=True)
        return False
    if not ok:
        log.warning("health check %s reported unhealthy", name)
    return ok
