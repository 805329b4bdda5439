"""The API through Litestar's test client, on a real SQLite file and the fake TTS provider."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from litestar.testing import TestClient

from adapters.persistence.migrate import upgrade
from entrypoints.container import Container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once per session; each test copies the file (fast, and still the real schema)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def settings(tmp_path: Path, migrated_template: Path) -> Settings:
    database = tmp_path / "api.db"
    shutil.copy(migrated_template, database)
    return Settings(
        environment="production",
        app_name="Last Whisper Test",
        database_url=f"sqlite+aiosqlite:///{database}",
        audio_dir=tmp_path / "audio",
        tts_provider="fake",
        tts_retry_base_seconds=0.0,
        tts_max_retries=1,
        reload=False,
    )


def make_client(settings: Settings) -> TestClient[Any]:
    return TestClient(create_app(Container(settings=settings)), raise_server_exceptions=False)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient[Any]]:
    with make_client(settings) as test_client:
        yield test_client


@dataclass
class SettableClock:
    """A clock the test moves by hand, so timestamps are chosen rather than observed."""

    moment: datetime

    def now(self) -> datetime:
        return self.moment


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(datetime(2026, 11, 24, 13, 40, tzinfo=UTC))


@pytest.fixture
def clocked(settings: Settings, clock: SettableClock) -> Iterator[TestClient[Any]]:
    """The app with its clock replaced through a provider override."""
    container = Container(settings=settings)
    container.clock.override(providers.Object(clock))
    with TestClient(create_app(container), raise_server_exceptions=False) as test_client:
        yield test_client


def create_item(client: TestClient[Any], **fields: Any) -> dict[str, Any]:
    body = {"locale": "fi", "text": "Hyvää huomenta!"} | fields
    response = client.post("/v1/items", json=body)
    assert response.status_code == 202, response.text
    return response.json()


def wait_until_settled(
    client: TestClient[Any], item_id: int, timeout: float = 10.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/v1/items/{item_id}/tts-status").json()
        if status["tts_status"] != "pending":
            return status
        time.sleep(0.02)
    raise AssertionError(f"item {item_id} still pending after {timeout} s")


def problems(response: Any) -> list[tuple[str, str, str]]:
    body = response.json()
    assert body["status_code"] == response.status_code == 422
    assert body["detail"] == "Validation failed"
    return [(p["key"], p["message"], p["source"]) for p in body["extra"]]
