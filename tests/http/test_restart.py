"""One app, served twice: each test client runs the app on an event loop of its own, as a second
server start in the same process would. Nothing that outlives a shutdown may stay tied to the
first loop."""

from __future__ import annotations

from litestar.testing import TestClient

from entrypoints.container import Container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.http.conftest import create_item, wait_until_settled


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
