"""One contract for every JobQueue: in-process, SAQ on Redis and SAQ on Postgres.

For the distributed queues the enqueuing side and the workers are separate queue objects with
their own connections, as API and worker processes are. What a crash leaves behind is tested
with a real process killed by SIGKILL.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import pytest_asyncio

from adapters.queue.in_process import InProcessJobQueue
from adapters.queue.saq import SaqJobQueue, SaqTimings
from application.ports import JobQueue, SynthesisJob
from tests.support.tcp_proxy import TcpProxy
from tests.system.cluster import (
    drop_redis_queue,
    libpq_url,
    redis_server_url,
    unique_queue_name,
    with_queue_name,
)

BACKENDS = ["memory", "redis", "postgresql"]

# Seconds, not minutes: a killed worker's job is swept after heartbeat + sweep + abort wait.
# The crashing worker below repeats these values (it is another process).
TIMINGS = SaqTimings(
    heartbeat_seconds=2,
    touch_seconds=0.5,
    sweep_seconds=1,
    job_timeout_seconds=60,
    tries=3,
    retry_delay_seconds=0.0,
    shutdown_grace_seconds=1,
    dequeue_timeout_seconds=0.2,
)


class Recorder:
    """The job handler: records every run; can hold runs until released."""

    def __init__(self) -> None:
        self.runs: list[SynthesisJob] = []
        self.running = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.crashes: Counter[str] = Counter()  # job id -> runs still to crash

    async def __call__(self, job: SynthesisJob) -> str:
        self.running += 1
        try:
            await self.gate.wait()
            if self.crashes[job.job_id] > 0:
                self.crashes[job.job_id] -= 1
                raise RuntimeError("the job's run crashed")
            self.runs.append(job)
            return "synthesized"
        finally:
            self.running -= 1


class Harness:
    """A queue to enqueue on (`queue`) and workers started on demand."""

    def __init__(self, backend: str, url: str | None) -> None:
        self.backend = backend
        self.url = url
        self.recorder = Recorder()
        self.queue: JobQueue
        self._workers: list[tuple[SaqJobQueue, asyncio.Task[None]]] = []
        if url is None:
            self.queue = InProcessJobQueue(
                handler=self.recorder, workers=2, tries=TIMINGS.tries, retry_delay_seconds=0.0
            )
        else:
            self.queue = SaqJobQueue(url=url, timings=TIMINGS)

    async def open(self) -> None:
        if isinstance(self.queue, SaqJobQueue):
            await self.queue.start()  # connects only: an API process runs no jobs

    async def start_workers(self, count: int = 1) -> None:
        if isinstance(self.queue, InProcessJobQueue):
            await self.queue.start()
            return
        assert self.url is not None
        for _ in range(count):
            worker = SaqJobQueue(url=self.url, timings=TIMINGS)
            await worker.start()
            task = asyncio.create_task(
                worker.work(self.recorder, concurrency=2, handle_signals=False)
            )
            self._workers.append((worker, task))

    async def stop_workers(self) -> None:
        if isinstance(self.queue, InProcessJobQueue):
            await self.queue.stop()
            return
        for worker, _ in self._workers:
            worker.stop_working()
        for worker, task in self._workers:
            await asyncio.wait_for(task, timeout=15)
            await worker.stop()
        self._workers = []

    async def close(self) -> None:
        await self.stop_workers()
        if isinstance(self.queue, SaqJobQueue):
            await self.queue.stop()


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        await asyncio.sleep(0.05)


@pytest.fixture(params=BACKENDS)
def queue_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for the in-process queue, else a QUEUE_URL with a queue name private to the test."""
    if request.param == "memory":
        yield None
        return
    name = unique_queue_name()
    if request.param == "redis":
        server = redis_server_url()
        yield with_queue_name(server, name)
        drop_redis_queue(server, name)
        return
    # A fresh database: SAQ's Postgres job keys are unique per table, not per queue name.
    database: str = request.getfixturevalue("fresh_postgres_url")
    yield with_queue_name(libpq_url(database), name)


@pytest_asyncio.fixture
async def harness(request: pytest.FixtureRequest, queue_url: str | None) -> AsyncIterator[Harness]:
    backend = request.node.callspec.params["queue_url"]
    harness = Harness(backend, queue_url)
    await harness.open()
    try:
        yield harness
    finally:
        await harness.close()


def job_ids(jobs: list[SynthesisJob]) -> Counter[str]:
    return Counter(job.job_id for job in jobs)


# ----------------------------------------------------------------------------------- contract


async def test_backend_name_and_health(harness: Harness) -> None:
    assert harness.queue.backend == harness.backend
    await harness.start_workers()
    assert await harness.queue.is_healthy() is True
    assert await harness.queue.pending() == 0


async def test_enqueue_is_deduplicated_by_job_id(harness: Harness) -> None:
    first, other = SynthesisJob(1, 1), SynthesisJob(2, 1)
    refreshed = SynthesisJob(1, 2, forced=True)
    await harness.queue.enqueue([first, first])
    await harness.queue.enqueue([first, refreshed])
    await harness.queue.enqueue([other])
    assert await harness.queue.pending() == 3  # waiting, nothing runs them yet

    await harness.start_workers()

    async def all_ran() -> bool:
        return len(harness.recorder.runs) >= 3 and await harness.queue.pending() == 0

    await eventually(all_ran, 15, "three distinct jobs run")
    await asyncio.sleep(0.3)  # a duplicate would show up now
    assert job_ids(harness.recorder.runs) == {"tts:1:1": 1, "tts:1:2": 1, "tts:2:1": 1}
    assert set(harness.recorder.runs) == {first, refreshed, other}  # fields arrive intact


async def test_pending_counts_waiting_and_running_jobs(harness: Harness) -> None:
    harness.recorder.gate.clear()
    await harness.start_workers()
    await harness.queue.enqueue([SynthesisJob(n, 1) for n in range(1, 6)])

    async def two_running() -> bool:
        return harness.recorder.running == 2

    await eventually(two_running, 10, "two jobs running (concurrency 2)")
    assert await harness.queue.pending() == 5  # 2 running + 3 waiting
    await harness.queue.enqueue([SynthesisJob(1, 1)])  # running: still deduplicated
    assert await harness.queue.pending() == 5

    harness.recorder.gate.set()

    async def drained() -> bool:
        return await harness.queue.pending() == 0

    await eventually(drained, 15, "queue drained")
    assert job_ids(harness.recorder.runs) == {f"tts:{n}:1": 1 for n in range(1, 6)}


async def test_every_job_runs_exactly_once_across_workers(harness: Harness) -> None:
    jobs = [SynthesisJob(n, 1 + n % 3) for n in range(1, 61)]
    await harness.queue.enqueue(jobs[:30])
    await harness.start_workers(count=2)
    await harness.queue.enqueue(jobs[30:])

    async def all_ran() -> bool:
        return len(harness.recorder.runs) >= len(jobs) and await harness.queue.pending() == 0

    await eventually(all_ran, 30, "sixty jobs run")
    await asyncio.sleep(0.3)
    assert job_ids(harness.recorder.runs) == {job.job_id: 1 for job in jobs}


async def test_a_job_whose_run_crashes_is_tried_again(harness: Harness) -> None:
    """An unexpected error in a run (a database hiccup, a bug) must not leave its item pending
    until the next restart: the job runs again, as often as the queue's tries allow."""
    harness.recorder.crashes["tts:1:1"] = 2
    await harness.queue.enqueue([SynthesisJob(1, 1), SynthesisJob(2, 1)])
    await harness.start_workers()

    async def drained() -> bool:
        return await harness.queue.pending() == 0 and len(harness.recorder.runs) == 2

    await eventually(drained, 30, "the crashed job ran on its third try")
    assert job_ids(harness.recorder.runs) == {"tts:1:1": 1, "tts:2:1": 1}
    assert harness.recorder.crashes["tts:1:1"] == 0


async def test_stopping_workers_keeps_unstarted_jobs(harness: Harness) -> None:
    if harness.backend == "memory":
        pytest.skip("in-process jobs live in the process; restart recovery re-queues them")
    await harness.queue.enqueue([SynthesisJob(n, 1) for n in range(1, 4)])
    await harness.start_workers()
    await harness.stop_workers()  # graceful: whatever did not run stays queued
    ran = len(harness.recorder.runs)
    assert await harness.queue.pending() == 3 - ran
    await harness.start_workers()

    async def drained() -> bool:
        return await harness.queue.pending() == 0

    await eventually(drained, 15, "the rest runs after a restart")
    assert job_ids(harness.recorder.runs) == {f"tts:{n}:1": 1 for n in range(1, 4)}


# The crashing worker is a real process: SAQ's own state (job active, heartbeat stopping) is what
# a SIGKILL leaves, with no shutdown hook run.
CRASHING_WORKER = """
import asyncio, pathlib, sys
from adapters.queue.saq import SaqJobQueue, SaqTimings

async def hang(job):
    pathlib.Path(sys.argv[2]).write_text(job.job_id)
    await asyncio.sleep(3600)
    return "never"

async def main():
    queue = SaqJobQueue(url=sys.argv[1], timings=SaqTimings(
        heartbeat_seconds=2, touch_seconds=0.5, sweep_seconds=1, dequeue_timeout_seconds=0.2))
    await queue.start()
    await queue.work(hang, concurrency=1)

asyncio.run(main())
"""


async def test_a_job_survives_its_worker_being_killed(harness: Harness, tmp_path: Path) -> None:
    if harness.backend == "memory":
        pytest.skip("in-process jobs die with the process; restart recovery re-queues them")
    assert harness.url is not None
    marker = tmp_path / "started"
    log = tmp_path / "crashing.log"
    with log.open("wb") as stderr:
        crashing = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CRASHING_WORKER,
            harness.url,
            str(marker),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        job = SynthesisJob(7, 1)
        await harness.queue.enqueue([job])

        async def started() -> bool:
            assert crashing.returncode is None, log.read_text()
            return marker.exists()

        await eventually(started, 20, "the crashing worker took the job")
        crashing.send_signal(signal.SIGKILL)
        await asyncio.wait_for(crashing.wait(), 10)
        assert await harness.queue.pending() == 1  # still running, as far as SAQ knows
    finally:
        if crashing.returncode is None:
            crashing.kill()
            await asyncio.wait_for(crashing.wait(), 10)

    await harness.start_workers()
    began = time.monotonic()

    async def retried() -> bool:
        return bool(harness.recorder.runs) and await harness.queue.pending() == 0

    await eventually(retried, 30, "SAQ retried the dead worker's job")
    assert harness.recorder.runs == [job]
    # heartbeat (2 s) + sweep (1 s) + abort wait (0.5 s), with slack for a loaded machine
    assert time.monotonic() - began < 12


def test_the_in_process_queue_starts_again_on_a_new_event_loop() -> None:
    """The app may start again on another event loop with the same container (a second test
    client, say). Workers that waited on the first loop must not leave the queue tied to it,
    and jobs queued but not run there run on the next."""
    ran: list[SynthesisJob] = []

    async def record(job: SynthesisJob) -> str:
        ran.append(job)
        return "synthesized"

    queue = InProcessJobQueue(handler=record, workers=2)

    async def first_run() -> None:
        await queue.start()
        await asyncio.sleep(0.05)  # the workers wait on the empty queue
        await queue.stop()
        await queue.enqueue([SynthesisJob(1, 1)])  # queued while stopped

    async def second_run() -> None:
        await queue.start()
        await queue.enqueue([SynthesisJob(2, 1)])
        await asyncio.wait_for(queue.join(), timeout=5)
        assert await queue.is_healthy() is True
        await queue.stop()

    asyncio.run(first_run())
    asyncio.run(second_run())
    assert job_ids(ran) == {"tts:1:1": 1, "tts:2:1": 1}


@pytest.mark.parametrize("backend", ["redis", "postgresql"])
async def test_jobs_that_could_not_be_queued_are_queued_once_the_backend_answers(
    backend: str, request: pytest.FixtureRequest
) -> None:
    """A blip of the queue's backend while items are created: the request still succeeds at once
    (the items are committed) and the jobs are queued in the background once the backend
    answers, not only at the next start. Cut for real: the queue reaches it through a proxy."""
    if backend == "redis":
        server = redis_server_url()
        name = unique_queue_name()
        url = with_queue_name(server, name)
        request.addfinalizer(lambda: drop_redis_queue(server, name))
    else:
        database: str = request.getfixturevalue("fresh_postgres_url")
        url = with_queue_name(libpq_url(database), unique_queue_name())
    target = urlsplit(url)
    assert target.hostname is not None and target.port is not None
    proxy = TcpProxy(target.hostname, target.port)
    await proxy.restore()
    netloc = target.netloc.rsplit("@", 1)
    netloc[-1] = f"127.0.0.1:{proxy.port}"
    proxied = SaqJobQueue(
        url=urlunsplit(target._replace(netloc="@".join(netloc))),
        timings=replace(TIMINGS, enqueue_timeout_seconds=0.5, enqueue_retry_seconds=0.2),
    )
    direct = SaqJobQueue(url=url, timings=TIMINGS)
    await proxied.start()
    await direct.start()
    try:
        await proxy.cut()
        # Neither raises nor waits for the backend (psycopg's pool alone would wait 30 s).
        await asyncio.wait_for(proxied.enqueue([SynthesisJob(1, 1), SynthesisJob(2, 1)]), 10)
        await asyncio.sleep(0.5)
        assert await direct.pending() == 0  # nothing reached the backend
        await proxy.restore()

        async def queued() -> bool:
            return await direct.pending() == 2

        await eventually(queued, 20, "both jobs queued once the backend answers")
    finally:
        await proxied.stop()
        await direct.stop()
        await proxy.cut()


async def test_stopping_while_the_backend_is_unreachable_returns() -> None:
    """At shutdown, jobs still waiting to be queued are dropped (they stay pending in the
    database, for the next start), and an unreachable backend does not stop the shutdown."""
    with socket.socket() as probe:  # a port nothing listens on: every connection is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    queue = SaqJobQueue(
        url=f"redis://127.0.0.1:{port}/0", timings=replace(TIMINGS, enqueue_retry_seconds=0.05)
    )
    await queue.enqueue([SynthesisJob(1, 1)])
    await asyncio.sleep(0.2)  # a few tries, all failing
    await asyncio.wait_for(queue.stop(), timeout=5)  # SAQ's own disconnect raised here
    assert [t for t in asyncio.all_tasks() if t.get_name() == "tts-requeue"] == []


async def test_a_large_backlog_is_queued_a_batch_at_a_time() -> None:
    """A start-up re-queues every pending item. All at once, each enqueue waited for one of
    the client's few connections past its timeout (of 100,000 jobs, none was queued); a batch at
    a time, each takes milliseconds."""
    server = redis_server_url()
    name = unique_queue_name()
    queue = SaqJobQueue(
        url=with_queue_name(server, name), timings=replace(TIMINGS, enqueue_timeout_seconds=1.0)
    )
    await queue.start()
    try:
        jobs = [SynthesisJob(n, 1) for n in range(1, 20_001)]
        await queue.enqueue(jobs)
        assert await queue.pending() == len(jobs)  # none left to the background retries
    finally:
        await queue.stop()
        drop_redis_queue(server, name)
