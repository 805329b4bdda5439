"""The app sweeps orphaned audio files at start-up, in the background: without delaying start-up,
without crashing on a failure, and cancelled at shutdown if still running."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from dependency_injector import providers
from litestar.testing import TestClient
from sqlalchemy import event

from adapters.audio.filesystem import FilesystemAudioStore
from entrypoints.container import Container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.http.conftest import create_item, make_client, wait_until_settled

SPEC_KEY = "31501aaf9dd2de0289f222dccc45e51e712df520c8f9ebb876c44163f9e49546"
ORPHAN_KEY = "ab" * 32


def two_hours_old(path: Path) -> Path:
    moment = time.time() - 2 * 3600
    os.utime(path, (moment, moment))
    return path


def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def client_with_store(settings: Settings, store: FilesystemAudioStore) -> TestClient[Any]:
    container = Container(settings=settings)
    container.audio_store.override(providers.Object(store))
    return TestClient(create_app(container), raise_server_exceptions=False)


def test_start_up_removes_old_orphans_and_keeps_recorded_audio(settings: Settings) -> None:
    with make_client(settings) as client:
        item = create_item(client)
        assert wait_until_settled(client, item["id"])["tts_status"] == "ready"
    # What a crash leaves: a file written but never recorded, and a write's temp file.
    recorded = two_hours_old(settings.audio_dir / SPEC_KEY[:2] / f"{SPEC_KEY}.wav")
    orphan = settings.audio_dir / ORPHAN_KEY[:2] / f"{ORPHAN_KEY}.wav"
    orphan.parent.mkdir()
    orphan.write_bytes(recorded.read_bytes())
    temp = orphan.parent / ".interrupted.tmp"
    temp.write_bytes(b"RIFF")
    for path in (orphan, temp):
        two_hours_old(path)

    with make_client(settings) as client:
        assert eventually(lambda: not orphan.exists() and not temp.exists())
        assert recorded.is_file()
        response = client.get(f"/v1/items/{item['id']}/audio")
        assert response.status_code == 200 and response.content == recorded.read_bytes()


class FailingScanStore(FilesystemAudioStore):
    async def keys_written_before(self, moment: datetime) -> list[str]:
        raise OSError("the audio volume went away")


def test_a_failing_sweep_is_logged_and_the_app_keeps_serving(
    settings: Settings, caplog: Any
) -> None:
    with client_with_store(settings, FailingScanStore(root=settings.audio_dir)) as client:
        assert eventually(lambda: "orphan audio sweep failed" in caplog.text)
        assert client.get("/health").status_code == 200
        assert create_item(client)["tts_status"] == "pending"


class StuckScanStore(FilesystemAudioStore):
    """A scan that takes far longer than a start-up may (a huge or hung volume)."""

    STUCK_SECONDS = 30.0

    def __init__(self, root: Path, events: list[str]) -> None:
        super().__init__(root=root)
        self.started = threading.Event()
        self.events = events

    async def keys_written_before(self, moment: datetime) -> list[str]:
        self.started.set()
        try:
            await asyncio.sleep(self.STUCK_SECONDS)
        except asyncio.CancelledError:
            self.events.append("sweep cancelled")
            raise
        return []


def test_start_up_does_not_wait_for_the_sweep_and_shutdown_cancels_it(
    settings: Settings,
) -> None:
    events: list[str] = []
    store = StuckScanStore(settings.audio_dir, events)
    container = Container(settings=settings)
    container.audio_store.override(providers.Object(store))
    engine = container.engine().sync_engine
    event.listen(engine, "engine_disposed", lambda _: events.append("engine disposed"))
    started = time.monotonic()
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        assert time.monotonic() - started < 10
        assert client.get("/health").status_code == 200
        assert store.started.wait(timeout=10)
    # Cancelled by the shutdown itself, before the database it may be using goes.
    assert events == ["sweep cancelled", "engine disposed"]
    assert time.monotonic() - started < 10
