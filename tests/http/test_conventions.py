"""Global conventions of API §1: errors, request ids, routing, media, OpenAPI, CORS, health."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from entrypoints.settings import Settings
from tests.http.conftest import make_client

Client = TestClient[Any]

OPERATIONS = {
    ("get", "/health"): "getHealth",
    ("post", "/v1/items"): "createItem",
    ("post", "/v1/items/bulk"): "bulkCreateItems",
    ("get", "/v1/items"): "listItems",
    ("get", "/v1/items/{item_id}"): "getItem",
    ("delete", "/v1/items/{item_id}"): "deleteItem",
    ("get", "/v1/items/{item_id}/tts-status"): "getItemTtsStatus",
    ("patch", "/v1/items/{item_id}/tags"): "replaceItemTags",
    ("patch", "/v1/items/{item_id}/difficulty"): "setItemDifficulty",
    ("post", "/v1/tags"): "createTag",
    ("get", "/v1/tags"): "listTags",
    ("delete", "/v1/tags/{tag_id}"): "deleteTag",
}


def test_unknown_path_is_404_json(client: Client) -> None:
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"status_code": 404, "detail": "Not Found"}


def test_wrong_method_is_405_with_allow(client: Client) -> None:
    response = client.put("/v1/tags", json={})
    assert response.status_code == 405
    assert response.json() == {"status_code": 405, "detail": "Method Not Allowed"}
    assert "GET" in response.headers["allow"] and "POST" in response.headers["allow"]


def test_trailing_slash_is_served_without_redirect(client: Client) -> None:
    client.post("/v1/tags/", json={"name": "slash"})
    response = client.get("/v1/tags/", follow_redirects=False)
    assert response.status_code == 200 and response.json()["total"] == 1


def test_malformed_json_is_400(client: Client) -> None:
    response = client.post(
        "/v1/tags", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Malformed JSON request body"
    assert isinstance(body["extra"]["error"], str)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_non_json_content_type_is_415(client: Client, content_type: str) -> None:
    response = client.post(
        "/v1/tags", content=b'{"name": "x"}', headers={"content-type": content_type}
    )
    assert response.status_code == 415
    assert response.json() == {
        "status_code": 415,
        "detail": "Unsupported media type: send application/json",
    }


@pytest.mark.parametrize(
    "content_type", [None, "application/json; charset=utf-8", "application/merge-patch+json"]
)
def test_json_content_types_are_accepted(client: Client, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/v1/tags", content=b'{"name": "x"}', headers=headers)
    assert response.status_code == 201


def test_request_id_is_echoed_or_generated(client: Client) -> None:
    assert (
        client.get("/v1/tags", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    generated = client.get("/v1/tags", headers={"X-Request-ID": "has space"}).headers[
        "x-request-id"
    ]
    assert len(generated) == 32 and all(c in "0123456789abcdef" for c in generated)
    assert client.get("/v1/items/999").headers["x-request-id"]
    assert (
        len(client.get("/nope", headers={"X-Request-ID": "x" * 129}).headers["x-request-id"]) == 32
    )


def test_access_log_line_per_request(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="last_whisper.access"):
        client.get("/v1/items?page=1", headers={"X-Request-ID": "log-me"})
    lines = [r.getMessage() for r in caplog.records if r.name == "last_whisper.access"]
    assert any(
        "request_id=log-me" in line
        and "method=GET" in line
        and "path=/v1/items " in line
        and "status=200" in line
        and "duration_ms=" in line
        and "page=1" not in line
        for line in lines
    )


def test_openapi_lists_every_operation_with_errors(client: Client) -> None:
    schema = client.get("/schema/openapi.json").json()
    assert schema["info"]["title"] == "Last Whisper Test"
    found = {
        (method, path.rstrip("/") or "/"): op["operationId"]
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if isinstance(op, dict) and "operationId" in op
    }
    for key, operation_id in OPERATIONS.items():
        assert found.get(key) == operation_id, key
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            if path.startswith("/v1"):
                assert op["summary"], (method, path)
                assert any(code.startswith(("4", "5")) for code in op["responses"]), (method, path)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("/docs", "/schema/swagger"),
        ("/redoc", "/schema/redoc"),
        ("/openapi.json", "/schema/openapi.json"),
    ],
)
def test_documentation_redirects(client: Client, source: str, target: str) -> None:
    response = client.get(source, follow_redirects=False)
    assert response.status_code == 302 and response.headers["location"] == target
    assert client.get(target).status_code == 200


def test_cors_preflight_and_exposed_headers(client: Client) -> None:
    origin = "http://localhost:3000"
    preflight = client.options(
        "/v1/items", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == origin
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert preflight.headers["x-request-id"]
    response = client.get("/v1/tags", headers={"Origin": origin})
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "x-request-id" in exposed and "etag" in exposed and "content-range" in exposed
    other = client.get("/v1/tags", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_health_is_healthy(client: Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    checks = body["checks"]
    for key in ("database", "audio_directory", "tts_service", "task_manager"):
        assert checks[key] == "healthy", key
    assert checks["queue_backend"] == "memory" and checks["queue_pending"] == 0
    assert checks["service"] == "Last Whisper Test" and checks["version"] == "1.0.0"
    assert checks["timestamp"].endswith("Z")


def test_health_is_503_when_audio_directory_is_gone(settings: Settings) -> None:
    with make_client(settings) as test_client:
        settings.audio_dir.rmdir()
        response = test_client.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert response.json()["checks"]["audio_directory"] == "unhealthy"
    assert response.json()["checks"]["database"] == "healthy"


def test_unexpected_errors_are_500_without_exception_text(settings: Settings) -> None:
    from dependency_injector import providers

    from entrypoints.container import Container
    from entrypoints.http.app import create_app

    container = Container(settings=settings)

    def explode() -> None:
        raise RuntimeError("secret connection string postgres://user:pw@host")

    container.tag_service.override(providers.Callable(explode))
    with TestClient(create_app(container), raise_server_exceptions=False) as test_client:
        response = test_client.get("/v1/tags")
    assert response.status_code == 500
    assert response.json() == {"status_code": 500, "detail": "Internal server error"}
    assert b"secret" not in response.content


def test_health_is_503_when_the_tts_engine_is_unavailable(settings: Settings) -> None:
    from dependency_injector import providers

    from adapters.tts.fake import FakeTtsGateway
    from entrypoints.container import Container
    from entrypoints.http.app import create_app

    container = Container(settings=settings)
    container.gateways.override(providers.Object([FakeTtsGateway(available=False)]))
    with TestClient(create_app(container)) as test_client:
        response = test_client.get("/health")
        locales = test_client.get("/v1/tts/locales").json()
        item = test_client.post("/v1/items", json={"locale": "fi", "text": "hei"})
    assert response.status_code == 503
    assert response.json()["checks"]["tts_service"] == "unhealthy"
    assert response.json()["checks"]["task_manager"] == "healthy"
    assert locales["available"] is False
    assert item.status_code == 202  # the API keeps serving; the job retries
