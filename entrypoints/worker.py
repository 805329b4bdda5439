"""`last-whisper worker`: run TTS jobs from the distributed queue (QUEUE_URL set).

The same container and settings as the API: the job body is the API's SynthesisService, on the
same database and AUDIO_DIR. Stops gracefully on SIGTERM/SIGINT (running jobs get a grace period,
SAQ re-queues the rest). Start as many as the TTS engine needs, on any host that shares the
database, the queue and the audio directory.
"""

from __future__ import annotations

import asyncio
import logging

from entrypoints.container import Container
from entrypoints.settings import Settings

log = logging.getLogger("last_whisper.worker")


class WorkerConfigurationError(RuntimeError):
    """The settings cannot run a worker (QUEUE_URL empty)."""


async def run_worker(container: Container) -> None:
    settings: Settings = container.settings()
    if settings.queue_backend == "memory":
        raise WorkerConfigurationError(
            "QUEUE_URL is empty: the API runs TTS jobs itself; workers need a redis:// or "
            "postgresql:// QUEUE_URL shared with the API"
        )
    queue = container.distributed_queue()
    store = container.audio_store()
    await asyncio.to_thread(store.ensure_root)
    for gateway in container.gateways():  # load the engines before the first job, off the loop
        await asyncio.to_thread(gateway.is_available)
    await queue.start()
    try:
        # Like an API start: whatever is pending gets a job (deduplicated by job id), so items
        # whose enqueue failed while the queue was down are not left waiting for an API restart.
        await container.item_service().requeue_pending()
        log.info(
            "worker started: queue=%s backend=%s concurrency=%d provider=%s",
            queue.name,
            queue.backend,
            settings.tts_submission_workers,
            settings.tts_provider,
        )
        await queue.work(container.synthesis().run, concurrency=settings.tts_submission_workers)
    finally:
        await queue.stop()
        await container.engine().dispose()
    log.info("worker stopped")


def main(settings: Settings) -> None:
    asyncio.run(run_worker(Container(settings=settings)))
