"""A JobQueue that keeps jobs for the test to run by hand."""

from __future__ import annotations

from application.ports import JobQueue, SynthesisJob


class RecordingQueue(JobQueue):
    """Keeps jobs for the test to run by hand (the real queues are tested elsewhere)."""

    backend = "memory"

    def __init__(self) -> None:
        self.jobs: list[SynthesisJob] = []

    async def enqueue(self, jobs: object) -> None:
        self.jobs.extend(jobs)  # type: ignore[arg-type]

    async def pending(self) -> int:
        return len(self.jobs)

    async def is_healthy(self) -> bool:
        return True
