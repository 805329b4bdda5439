"""One app, served twice: each test client runs the app on an event loop of its own, as a second
server start in the same process would. Nothing that outlives a shutdown may stay tied to the
first loop."""

from __future__ import annotations

import asyncio
import threading
import time

from dependency_injector import providers
from litestar.testing import TestClient

from entrypoints.container import Container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.http.conftest import create_item, wait_until_settled
from tests.support.queues import RecordingQueue


def test_the_app_serves_again_after_a_shutdown(settings: Settings) -> None:
    app = create_app(Container(settings=settings))
    for sentence in ("Ensimmäinen kerta.", "Toinen kerta."):
        with TestClient(app, raise_server_exceptions=False) as client:
            item = create_item(client, text=sentence)
            # The in-process TTS workers wait on their queue between jobs.
            assert wait_until_settled(client, item["id"])["tts_status"] == "ready"
            attempt = client.post(
                "/v1/attempts", json={"item_id": item["id"], "text": sentence.lower()}
            )
            assert attempt.status_code == 201 and attempt.json()["percentage"] == 100
            assert client.get("/health").json()["status"] == "healthy"


class IdleQueue(RecordingQueue):
    """Keeps the jobs and runs none: its items stay pending."""

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


class StalledQueue(IdleQueue):
    """Takes jobs only once `opened` is set: a backend that answers slowly, or a long backlog."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = threading.Event()

    async def stop(self) -> None:
        self.opened.set()

    async def enqueue(self, jobs: object) -> None:
        await asyncio.to_thread(self.opened.wait, 10)
        await super().enqueue(jobs)


def test_start_up_does_not_wait_for_the_pending_items_to_be_queued_again(
    settings: Settings,
) -> None:
    first = Container(settings=settings)
    first.queue.override(providers.Object(IdleQueue()))
    with TestClient(create_app(first)) as client:
        pending = create_item(client)["id"]
    container = Container(settings=settings)
    stalled = StalledQueue()
    container.queue.override(providers.Object(stalled))
    with TestClient(create_app(container)) as client:
        assert client.get("/health").status_code == 200  # served while the re-queue waits
        assert stalled.jobs == []
        stalled.opened.set()
        deadline = time.monotonic() + 10
        while not stalled.jobs and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [job.item_id for job in stalled.jobs] == [pending]
