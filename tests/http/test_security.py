"""Security basics (API §1.8–1.10): API keys, body limits, CORS, nothing leaks, no user paths."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from entrypoints.settings import Settings
from tests.http.conftest import make_client, wait_until_settled

Client = TestClient[Any]
KEYS = ("first-key", "second-key")


@pytest.fixture
def locked(settings: Settings) -> Iterator[Client]:
    with make_client(dataclasses.replace(settings, api_keys=KEYS)) as client:
        yield client


def assert_401(response: Any) -> None:
    assert response.status_code == 401
    assert response.json() == {"status_code": 401, "detail": "Invalid or missing API key"}
    assert response.headers["www-authenticate"] == 'ApiKey header="X-API-Key"'


@pytest.mark.parametrize(
    "headers", [{}, {"X-API-Key": "wrong"}, {"X-API-Key": ""}, {"X-API-Key": "first-key "}]
)
def test_v1_needs_a_valid_key(locked: Client, headers: dict[str, str]) -> None:
    assert_401(locked.get("/v1/tags", headers=headers))


@pytest.mark.parametrize("key", KEYS)
def test_every_configured_key_is_accepted(locked: Client, key: str) -> None:
    assert locked.get("/v1/tags", headers={"X-API-Key": key}).status_code == 200


def test_key_check_comes_before_validation_and_404(locked: Client) -> None:
    assert_401(locked.post("/v1/items", json={"locale": "??"}))
    assert_401(locked.get("/v1/items/not-an-id"))
    assert_401(locked.get("/v1/items/123456"))
    assert_401(
        locked.post("/v1/tags", content=b"{not json", headers={"content-type": "text/plain"})
    )


@pytest.mark.parametrize("path", ["/health", "/schema/openapi.json", "/docs", "/metrics"])
def test_open_routes_need_no_key(locked: Client, path: str) -> None:
    assert locked.get(path, follow_redirects=False).status_code in (200, 302)


def test_cors_preflight_needs_no_key(locked: Client) -> None:
    response = locked.options(
        "/v1/items",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code in (200, 204)


def test_audio_accepts_the_key_as_query_but_the_header_wins(locked: Client) -> None:
    created = locked.post(
        "/v1/items", json={"locale": "fi", "text": "Hei"}, headers={"X-API-Key": KEYS[0]}
    ).json()
    url = f"/v1/items/{created['id']}/audio"
    locked.headers["X-API-Key"] = KEYS[0]
    assert wait_until_settled(locked, created["id"])["tts_status"] == "ready"
    del locked.headers["X-API-Key"]
    assert locked.get(f"{url}?api_key={KEYS[1]}").status_code == 200
    assert locked.head(f"{url}?api_key={KEYS[1]}").status_code == 200
    assert_401(locked.get(f"{url}?api_key={KEYS[1]}", headers={"X-API-Key": "wrong"}))
    assert_401(locked.get(f"/v1/items/{created['id']}?api_key={KEYS[1]}"))  # audio only


def test_query_string_with_the_key_is_not_logged(locked: Client, caplog: Any) -> None:
    with caplog.at_level("INFO", logger="last_whisper.access"):
        locked.get("/v1/items/1/audio?api_key=first-key")
    lines = [r.getMessage() for r in caplog.records if r.name == "last_whisper.access"]
    assert lines and not any("first-key" in line for line in lines)


def test_body_over_the_limit_is_413(settings: Settings) -> None:
    with make_client(dataclasses.replace(settings, max_body_bytes=1024)) as client:
        small = client.post("/v1/tags", json={"name": "x" * 10})
        big = client.post("/v1/tags", json={"name": "x" * 2000})

        def chunks() -> Iterator[bytes]:
            yield b'{"name": "'
            for _ in range(10):
                yield b"y" * 200
            yield b'"}'

        chunked = client.post(
            "/v1/tags", content=chunks(), headers={"content-type": "application/json"}
        )
    assert small.status_code == 201
    for response in (big, chunked):
        assert response.status_code == 413
        assert response.json() == {"status_code": 413, "detail": "Request Entity Too Large"}


@pytest.mark.parametrize(
    "path",
    [
        "/v1/items/..%2F..%2Fetc%2Fpasswd/audio",
        "/v1/items/%2e%2e/audio",
        "/v1/items/1%00/audio",
    ],
)
def test_user_input_never_becomes_a_path(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (404, 422)
    assert b"root:" not in response.content


def test_cors_wildcard_allows_any_origin(settings: Settings) -> None:
    with make_client(dataclasses.replace(settings, cors_origins=("*",))) as client:
        response = client.get("/v1/tags", headers={"Origin": "https://app.example"})
    assert response.headers["access-control-allow-origin"] in ("*", "https://app.example")


def test_errors_never_carry_exception_text(client: Client) -> None:
    item = client.post("/v1/items", json={"locale": "fi", "text": "x #fail-permanent"}).json()
    status = wait_until_settled(client, item["id"])
    assert status["tts_error"] == "fake: permanent failure requested"
    for response in (
        client.get("/v1/items/99999"),
        client.post("/v1/tags", content=b"{", headers={"content-type": "application/json"}),
        client.get("/v1/items?sort=bad"),
    ):
        body = response.json()
        assert "Traceback" not in response.text and "Error(" not in body["detail"]
