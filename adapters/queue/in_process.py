"""The embedded job queue: asyncio workers in the API process (QUEUE_URL empty).

Nothing here is durable on purpose: the database is the record of what is pending, and start-up
re-queues every pending item, so a killed process loses no work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from adapters.metrics import record_job
from application.ports import JobQueue, SynthesisJob

log = logging.getLogger(__name__)

JobHandler = Callable[[SynthesisJob], Awaitable[str]]


class InProcessJobQueue(JobQueue):
    backend = "memory"

    def __init__(
        self,
        *,
        handler: JobHandler,
        workers: int,
        tries: int = 5,
        retry_delay_seconds: float = 1.0,
    ) -> None:
        self._handler = handler
        self._worker_count = workers
        # As SAQ does for the distributed queue (SaqTimings): a run that raises is tried again
        # after 1, 2, 4, ... s, so a passing fault does not leave its item pending until a
        # restart.
        self._tries = tries
        self._retry_delay = retry_delay_seconds
        self._queue: asyncio.Queue[SynthesisJob] = asyncio.Queue()
        self._known: set[str] = set()  # queued or running: enqueueing again is a no-op
        self._workers: list[asyncio.Task[None]] = []
        self._stopping = False

    async def enqueue(self, jobs: Sequence[SynthesisJob]) -> None:
        for job in jobs:
            if job.job_id not in self._known:
                self._known.add(job.job_id)
                self._queue.put_nowait(job)

    async def pending(self) -> int:
        return len(self._known)

    async def is_healthy(self) -> bool:
        return bool(self._workers) and all(not w.done() for w in self._workers)

    async def start(self) -> None:
        self._stopping = False
        if not self._workers:
            self._queue = _moved(self._queue)
            self._workers = [
                asyncio.create_task(self._work(), name=f"tts-worker-{n}")
                for n in range(self._worker_count)
            ]

    async def stop(self) -> None:
        """Cancel the workers; unfinished jobs stay pending in the database for the next start."""
        self._stopping = True
        while pending := [w for w in self._workers if not w.done()]:
            for worker in pending:
                worker.cancel()
            await asyncio.wait(pending, timeout=1.0)
        self._workers = []

    async def join(self) -> None:
        """Wait until every queued job has run (tests and graceful drains)."""
        await self._queue.join()

    async def _work(self) -> None:
        while not self._stopping:
            job = await self._queue.get()
            try:
                for attempt in range(1, self._tries + 1):
                    if await self._run(job, attempt) or attempt == self._tries:
                        break
                    await asyncio.sleep(self._retry_delay * 2 ** (attempt - 1))
            finally:
                self._known.discard(job.job_id)
                self._queue.task_done()

    async def _run(self, job: SynthesisJob, attempt: int) -> bool:
        """One run of the job; False when it raised. The handler records its own outcomes
        (failed items included), so what raises here is unexpected: a database fault, a bug.
        After the last try the item stays pending, and the next start-up queues it again."""
        started = time.perf_counter()
        outcome = "crashed"
        try:
            outcome = await self._handler(job)
            return True
        except Exception:
            log.exception(
                "synthesis job %s crashed (try %d of %d)", job.job_id, attempt, self._tries
            )
            return False
        finally:
            record_job(outcome, time.perf_counter() - started)


def _moved(queue: asyncio.Queue[SynthesisJob]) -> asyncio.Queue[SynthesisJob]:
    """The waiting jobs in a new queue. An asyncio queue belongs to the event loop of its first
    wait, and the app may start again on another loop (a second test client, say)."""
    fresh: asyncio.Queue[SynthesisJob] = asyncio.Queue()
    while not queue.empty():
        fresh.put_nowait(queue.get_nowait())
    return fresh
