"""The distributed job queue: SAQ on Redis or on SAQ's Postgres backend (QUEUE_URL set).

API processes only enqueue; `last-whisper worker` processes run the jobs. A job carries ids only
(item id, generation, forced); the database stays the record of what an item needs, so a job run
twice or run late is harmless (SynthesisService is idempotent).

Crash handling is SAQ's own, not ours: a running job is "touched" every few seconds (SAQ's job
heartbeat); when its worker dies the touches stop, another worker's sweep finds the job stuck and
SAQ retries it. Enqueueing is deduplicated by SAQ's job key, which is our job id
`tts:<item_id>:<generation>` (API §9.4).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from saq import Job, Queue, Worker

from adapters.metrics import record_job
from application.ports import JobQueue, SynthesisJob

log = logging.getLogger(__name__)

JobHandler = Callable[[SynthesisJob], Awaitable[str]]

JOB_FUNCTION = "synthesize"
DEFAULT_QUEUE_NAME = "last-whisper-tts"
ENQUEUE_BATCH = 100  # jobs queued concurrently


@dataclass(frozen=True, slots=True)
class SaqTimings:
    """SAQ's settings for jobs and workers. Defaults: a killed worker's jobs run again within
    about heartbeat + sweep seconds (15 s); tests shorten them."""

    heartbeat_seconds: int = 10  # a running job not touched for this long is stuck
    touch_seconds: float = 2.0  # how often a running job is touched
    sweep_seconds: int = 5  # how often (at most one worker at a time) looks for stuck jobs
    job_timeout_seconds: int = 600  # SAQ abandons and retries a job running longer
    tries: int = 5  # SAQ's `retries`: attempts per job (crashes, timeouts, cancellations)
    retry_delay_seconds: float = 1.0  # base of SAQ's exponential backoff between attempts
    sweep_abort_wait_seconds: float = 0.5  # per stuck job, for its worker to let go of it
    shutdown_grace_seconds: int = 5  # on SIGTERM, running jobs get this long, then re-queue
    dequeue_timeout_seconds: float = 1.0  # idle workers notice a stop request this fast
    # An unreachable backend must not hold the request that enqueues: psycopg's pool waits 30 s
    # for a connection, a silent Redis host as long as TCP does. Jobs that time out are queued
    # again in the background, first after `enqueue_retry_seconds`, then twice as long each time.
    enqueue_timeout_seconds: float = 2.0
    enqueue_retry_seconds: float = 1.0


def split_queue_name(url: str) -> tuple[str, str]:
    """Take our `queue` parameter off the URL (neither redis-py nor libpq knows it)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    names = [value for key, value in query if key == "queue" and value]
    rest = urlencode([(key, value) for key, value in query if key != "queue"])
    return urlunsplit(parts._replace(query=rest)), (names[-1] if names else DEFAULT_QUEUE_NAME)


class SaqJobQueue(JobQueue):
    def __init__(self, *, url: str, timings: SaqTimings | None = None) -> None:
        """`url` is QUEUE_URL: redis://, rediss:// or postgresql://, optionally with
        `?queue=<name>` so several deployments (or test runs) can share one Redis."""
        self.backend = "postgresql" if url.startswith("postgres") else "redis"
        url, self.name = split_queue_name(url)
        self._timings = timings or SaqTimings()
        options: dict[str, Any] = {"name": self.name}
        if self.backend == "postgresql":
            # SAQ opens 4 connections per process by default; an API process needs one.
            options |= {"min_size": 1, "max_size": 10}
        self._saq = Queue.from_url(url, **options)
        # SAQ's sweep waits up to `abort` seconds (default 5) for each stuck job in turn, and
        # judges every job by a snapshot taken when it began: after a crash that left two jobs
        # behind, healthy jobs in that snapshot already look stuck and get aborted and re-run.
        # SAQ's worker does not pass `abort`, so it is set here.
        self._saq.sweep = functools.partial(  # type: ignore[method-assign]
            self._saq.sweep, abort=self._timings.sweep_abort_wait_seconds
        )
        self._worker: Worker[Any] | None = None  # set once SAQ's worker has really started
        self._stop_requested = False
        # Jobs the backend did not take (by job id), and the one task queueing them again.
        self._unqueued: dict[str, SynthesisJob] = {}
        self._requeueing: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect (SAQ's Postgres backend also creates its tables). Runs no jobs: see `work`."""
        await self._saq.connect()

    async def stop(self) -> None:
        # Jobs still waiting to be queued again stay pending in the database: the next start of
        # an API process or a worker queues them.
        if self._requeueing is not None:
            self._requeueing.cancel()
            await asyncio.gather(self._requeueing, return_exceptions=True)
        self._unqueued.clear()
        try:
            await self._saq.disconnect()
        except Exception:
            # SAQ unsubscribes on Redis first, which fails while Redis is unreachable: shutdown
            # must still go on to close the rest of the app.
            log.warning("could not disconnect from the queue (%s)", self.backend, exc_info=True)

    async def enqueue(self, jobs: Sequence[SynthesisJob]) -> None:
        failed = await self._enqueue_all(jobs)
        if failed:
            # The items are committed and pending; failing the request would not undo that.
            # Queued again in the background, so a blip of the backend does not leave them
            # pending until the next start.
            self._unqueued.update((job.job_id, job) for job in failed)
            if self._requeueing is None:
                self._requeueing = asyncio.create_task(self._enqueue_later(), name="tts-requeue")

    async def _enqueue_all(self, jobs: Sequence[SynthesisJob]) -> list[SynthesisJob]:
        """Queue the jobs, ENQUEUE_BATCH at a time: a start-up's whole backlog at once would make
        every one of them wait past its timeout. Returns those not queued: the failed ones and,
        after a batch with a failure, the rest (the backend is not answering); logs the failure."""
        for start in range(0, len(jobs), ENQUEUE_BATCH):
            batch = jobs[start : start + ENQUEUE_BATCH]
            results = await asyncio.gather(
                *(self._enqueue(job) for job in batch), return_exceptions=True
            )
            errors = [r for r in results if isinstance(r, BaseException)]
            if errors:
                failed = [
                    job
                    for job, r in zip(batch, results, strict=True)
                    if isinstance(r, BaseException)
                ]
                failed += jobs[start + ENQUEUE_BATCH :]
                log.error(
                    "could not queue %d of %d TTS jobs (%s)",
                    len(failed),
                    len(jobs),
                    self.backend,
                    exc_info=errors[0],
                )
                return failed
        return []

    async def _enqueue_later(self) -> None:
        delay = self._timings.enqueue_retry_seconds
        try:
            while self._unqueued:
                await asyncio.sleep(delay)
                waiting = list(self._unqueued.values())
                failed = {job.job_id for job in await self._enqueue_all(waiting)}
                for job in waiting:
                    if job.job_id not in failed:
                        self._unqueued.pop(job.job_id, None)
                delay = min(delay * 2, 60.0)
            log.info("TTS jobs queued after all (%s)", self.backend)
        finally:
            self._requeueing = None

    async def _enqueue(self, job: SynthesisJob) -> None:
        timings = self._timings
        async with asyncio.timeout(timings.enqueue_timeout_seconds):
            await self._saq.enqueue(
                JOB_FUNCTION,
                key=job.job_id,  # SAQ skips a key that is already queued or running
                timeout=timings.job_timeout_seconds,
                heartbeat=timings.heartbeat_seconds,
                retries=timings.tries,
                retry_delay=timings.retry_delay_seconds,
                retry_backoff=True,
                item_id=job.item_id,
                generation=job.generation,
                forced=job.forced,
            )

    async def pending(self) -> int:
        # "incomplete": queued, running, or waiting to be retried.
        return await self._saq.count("incomplete")

    async def is_healthy(self) -> bool:
        """The backend answers. Workers are separate processes with their own health."""
        await self._saq.count("queued")
        return True

    async def work(
        self, handler: JobHandler, *, concurrency: int, handle_signals: bool = True
    ) -> None:
        """Run jobs until SIGTERM/SIGINT (or `stop_working`): a SAQ worker in this process.

        On stop, running jobs get `shutdown_grace_seconds` to finish; SAQ then cancels the rest
        and re-queues them.
        """

        async def synthesize(
            ctx: dict[str, Any], *, item_id: int, generation: int, forced: bool = False
        ) -> str:
            toucher = asyncio.create_task(self._touch(ctx["job"]))
            started = time.perf_counter()
            outcome = "crashed"
            try:
                outcome = await handler(SynthesisJob(item_id, generation, forced))
                return outcome
            finally:
                toucher.cancel()
                record_job(outcome, time.perf_counter() - started)

        async def started(ctx: dict[str, Any]) -> None:
            # SAQ makes the worker's stop event inside `start`: only from here on can it be set.
            self._worker = worker
            if self._stop_requested:
                worker.event.set()

        timings = self._timings
        worker: Worker[Any] = Worker(
            self._saq,
            functions=[(JOB_FUNCTION, synthesize)],
            # Host and pid in the id: SAQ's worker list and each running job then name the
            # process that has it.
            id=f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}",
            concurrency=concurrency,
            startup=started,
            timers={"sweep": timings.sweep_seconds},
            dequeue_timeout=timings.dequeue_timeout_seconds,
            shutdown_grace_period_s=timings.shutdown_grace_seconds,
        )
        if not handle_signals:
            worker.SIGNALS = []  # embedded (tests): the host process owns its signals
        try:
            await worker.start()
        finally:
            self._worker = None
            self._stop_requested = False

    def stop_working(self) -> None:
        """Ask `work` to stop, as SIGTERM would (also when it is still starting)."""
        self._stop_requested = True
        if self._worker is not None:
            self._worker.event.set()

    async def _touch(self, job: Job) -> None:
        """SAQ's heartbeat for a running job: a job nobody touches is swept as crashed."""
        while True:
            await asyncio.sleep(self._timings.touch_seconds)
            try:
                await job.update()
            except Exception:
                log.warning("could not touch TTS job %s", job.key, exc_info=True)
