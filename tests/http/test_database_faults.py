"""The API on Postgres while its database goes away and comes back, cut for real through a TCP
proxy: answers stay documented (500 without exception text, /health 503), nothing is stored
half, and the service recovers without a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.testing import TestClient
from sqlalchemy.engine import make_url

from entrypoints.container import Container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.support.tcp_proxy import ThreadedTcpProxy


def proxied(url: str, proxy: ThreadedTcpProxy) -> str:
    return make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(False)


def attempt(client: TestClient[Any], item_id: int, text: str) -> Any:
    return client.post("/v1/attempts", json={"item_id": item_id, "text": text})


def test_a_database_outage_answers_cleanly_and_the_api_recovers(
    migrated_postgres_url: str, tmp_path: Path
) -> None:
    target = make_url(migrated_postgres_url)
    with ThreadedTcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy:
        settings = Settings(
            environment="production",
            database_url=proxied(migrated_postgres_url, proxy),
            audio_dir=tmp_path / "audio",
            tts_provider="fake",
            reload=False,
        )
        with TestClient(create_app(Container(settings=settings))) as client:
            item = client.post("/v1/items", json={"locale": "fi", "text": "Hyvää päivää"}).json()
            assert attempt(client, item["id"], "hyvää päivää").status_code == 201

            proxy.cut()
            down = [
                attempt(client, item["id"], "hyvää"),
                client.get(f"/v1/items/{item['id']}"),
                client.post("/v1/items", json={"locale": "fi", "text": "Kiitos"}),
                client.get("/v1/stats/summary"),
            ]
            for response in down:
                assert response.status_code == 500, response.text
                assert response.json() == {"status_code": 500, "detail": "Internal server error"}
            health = client.get("/health")
            assert health.status_code == 503 and health.json()["checks"]["database"] == "unhealthy"

            proxy.restore()
            assert client.get("/health").status_code == 200
            assert attempt(client, item["id"], "hyvää päivää").status_code == 201
            summary = client.get("/v1/stats/summary").json()
            # The two answered 201: the attempt refused during the outage was not stored.
            assert summary["total_attempts"] == 2
            assert client.get("/v1/items").json()["total"] == 1  # nor the refused item
