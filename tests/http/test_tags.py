"""`/v1/tags`: the preset tag catalogue (API §3.20–3.22, §7.2)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.http.conftest import create_item, problems

Client = TestClient[Any]


def test_create_trims_and_returns_201(client: Client) -> None:
    response = client.post("/v1/tags", json={"name": "  Verbs "})
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Verbs" and isinstance(body["id"], int)
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$", body["created_at"])
    assert body["updated_at"] == body["created_at"]


def test_duplicate_is_409_case_insensitive(client: Client) -> None:
    client.post("/v1/tags", json={"name": "Verbs"})
    response = client.post("/v1/tags", json={"name": " verbs "})
    assert response.status_code == 409
    assert response.json() == {"status_code": 409, "detail": "Tag with name 'verbs' already exists"}
    client.post("/v1/tags", json={"name": "Straße"})
    assert client.post("/v1/tags", json={"name": "STRASSE"}).status_code == 409


@pytest.mark.parametrize(
    ("name", "message"),
    [("   ", "Tag name cannot be empty"), ("x" * 51, "Tag name cannot exceed 50 characters")],
)
def test_invalid_names_are_422(client: Client, name: str, message: str) -> None:
    assert problems(client.post("/v1/tags", json={"name": name})) == [("name", message, "body")]


def test_fifty_characters_after_trimming_are_allowed(client: Client) -> None:
    assert client.post("/v1/tags", json={"name": "  " + "x" * 50 + " "}).status_code == 201


def test_name_must_be_a_string(client: Client) -> None:
    assert [k for k, _, _ in problems(client.post("/v1/tags", json={"name": 5}))] == ["name"]
    assert [k for k, _, _ in problems(client.post("/v1/tags", json={}))] == ["name"]


def test_list_orders_casefold_then_id_with_total(client: Client) -> None:
    for name in ["beta", "Alpha", "ÄLPHA", "gamma"]:
        client.post("/v1/tags", json={"name": name})
    body = client.get("/v1/tags").json()
    assert [t["name"] for t in body["tags"]] == ["Alpha", "beta", "gamma", "ÄLPHA"]
    assert body["total"] == 4
    page = client.get("/v1/tags?limit=2&offset=1").json()
    assert [t["name"] for t in page["tags"]] == ["beta", "gamma"] and page["total"] == 4


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "offset=-1", "limit=x"])
def test_list_bounds_are_422(client: Client, query: str) -> None:
    key = query.split("=")[0]
    assert [(k, s) for k, _, s in problems(client.get(f"/v1/tags?{query}"))] == [(key, "query")]


def test_delete_then_404(client: Client) -> None:
    tag = client.post("/v1/tags", json={"name": "Verbs"}).json()
    assert client.delete(f"/v1/tags/{tag['id']}").status_code == 204
    response = client.delete(f"/v1/tags/{tag['id']}")
    assert response.json() == {"status_code": 404, "detail": f"Tag with ID {tag['id']} not found"}
    assert client.post("/v1/tags", json={"name": "verbs"}).json()["id"] > tag["id"]


def test_delete_preset_leaves_item_tags(client: Client) -> None:
    tag = client.post("/v1/tags", json={"name": "basics"}).json()
    item = create_item(client, tags=["basics"])
    client.delete(f"/v1/tags/{tag['id']}")
    assert client.get(f"/v1/items/{item['id']}").json()["tags"] == ["basics"]


def test_malformed_tag_id_is_422(client: Client) -> None:
    assert [(k, s) for k, _, s in problems(client.delete("/v1/tags/x1"))] == [("tag_id", "path")]
