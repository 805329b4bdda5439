"""`/v1/attempts`: every behaviour of API.md §3.13–3.15, with bad inputs (§1.3, §1.4, §1.6)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.http.conftest import SettableClock, create_item, problems

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
T0 = datetime(2026, 11, 24, 13, 40, tzinfo=UTC)
HELSINKI = "Minä asun Helsingissä."
Client = TestClient[Any]

ATTEMPT_FIELDS = [
    "id",
    "item_id",
    "text",
    "percentage",
    "wer",
    "words_ref",
    "words_correct",
    "created_at",
    "substitutions",
    "deletions",
    "insertions",
    "alignment",
    "duration_ms",
]


def submit(client: Client, item_id: int, text: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/attempts", json={"item_id": item_id, "text": text} | fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return [attempt["id"] for attempt in response.json()["attempts"]]


# --- create ----------------------------------------------------------------------------------


def test_create_scores_the_example_of_the_spec(clocked: Client) -> None:
    item = create_item(clocked, locale="fi", text=HELSINKI)
    response = clocked.post(
        "/v1/attempts",
        json={"item_id": item["id"], "text": "mina asun helsingisa", "duration_ms": 5400},
    )
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/v1/attempts/{body['id']}"
    assert body == {
        "id": body["id"],
        "item_id": item["id"],
        "text": "mina asun helsingisa",
        "percentage": 67,
        "wer": 0.3333333333333333,
        "words_ref": 3,
        "words_correct": 2,
        "created_at": "2026-11-24T13:40:00.000000Z",
        "substitutions": 1,
        "deletions": 0,
        "insertions": 0,
        "alignment": [
            {"op": "equal", "ref": "Minä", "hyp": "mina"},
            {"op": "equal", "ref": "asun", "hyp": "asun"},
            {"op": "substitute", "ref": "Helsingissä", "hyp": "helsingisa"},
        ],
        "duration_ms": 5400,
    }
    assert list(body) == ATTEMPT_FIELDS
    assert '"wer":0.3333333333333333' in response.text  # full double on the wire
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert "Helsingissä".encode() in response.content


def test_create_get_and_list_return_the_same_object(client: Client) -> None:
    item = create_item(client, text=HELSINKI)
    created = submit(client, item["id"], "mina asun", duration_ms=1000)
    assert TIMESTAMP.match(created["created_at"])
    fetched = client.get(f"/v1/attempts/{created['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == created
    assert list(fetched.json()) == ATTEMPT_FIELDS
    listed = client.get("/v1/attempts").json()["attempts"]
    assert listed == [created]


def test_insert_and_delete_ops_have_null_sides(client: Client) -> None:
    item = create_item(client, locale="en", text="a b c d")
    body = submit(client, item["id"], "b c d e")
    assert body["alignment"] == [
        {"op": "delete", "ref": "a", "hyp": None},
        {"op": "equal", "ref": "b", "hyp": "b"},
        {"op": "equal", "ref": "c", "hyp": "c"},
        {"op": "equal", "ref": "d", "hyp": "d"},
        {"op": "insert", "ref": None, "hyp": "e"},
    ]
    assert (body["percentage"], body["wer"], body["deletions"], body["insertions"]) == (
        50,
        0.5,
        1,
        1,
    )


def test_scoring_uses_the_item_locale(client: Client) -> None:
    item = create_item(client, locale="zh-CN", text="我喜欢学习中文。")
    body = submit(client, item["id"], "我喜欢学中文")
    assert (body["words_ref"], body["words_correct"], body["deletions"]) == (7, 6, 1)
    assert body["percentage"] == 86
    assert {"op": "delete", "ref": "习", "hyp": None} in body["alignment"]


def test_empty_text_is_allowed_and_scores_zero(client: Client) -> None:
    item = create_item(client, text=HELSINKI)
    body = submit(client, item["id"], "")
    assert (body["text"], body["percentage"], body["wer"], body["words_correct"]) == ("", 0, 1.0, 0)
    assert [op["op"] for op in body["alignment"]] == ["delete"] * 3
    assert body["duration_ms"] is None


def test_text_is_stored_exactly_and_counts_code_points(client: Client) -> None:
    item = create_item(client)
    assert submit(client, item["id"], "  hyvää\nhuomenta  ")["text"] == "  hyvää\nhuomenta  "
    assert submit(client, item["id"], "ä" * 10_000)["text"] == "ä" * 10_000


@pytest.mark.parametrize("value", ["1", 1.0, 1])
def test_item_id_accepts_lax_integers(client: Client, value: Any) -> None:
    item = create_item(client)
    assert item["id"] == 1
    assert submit(client, value, "hyvää")["item_id"] == 1


@pytest.mark.parametrize("duration", [0, 86_400_000, None, "5400", 5400.0])
def test_duration_bounds_and_null(client: Client, duration: Any) -> None:
    item = create_item(client)
    expected = None if duration is None else int(float(duration))
    assert submit(client, item["id"], "x", duration_ms=duration)["duration_ms"] == expected


def test_unknown_body_fields_are_ignored(client: Client) -> None:
    item = create_item(client)
    assert submit(client, item["id"], "hyvää", percentage=100, id=77)["percentage"] == 50


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"item_id": 2.5, "text": "x"}, "item_id"),
        ({"item_id": True, "text": "x"}, "item_id"),
        ({"item_id": "x", "text": "x"}, "item_id"),
        ({"item_id": None, "text": "x"}, "item_id"),
        ({"item_id": 2**63, "text": "x"}, "item_id"),
        ({"text": "x"}, "item_id"),
        ({"item_id": 1, "text": None}, "text"),
        ({"item_id": 1, "text": 5}, "text"),
        ({"item_id": 1}, "text"),
        ({"item_id": 1, "text": "x" * 10_001}, "text"),
        ({"item_id": 1, "text": "x", "duration_ms": -1}, "duration_ms"),
        ({"item_id": 1, "text": "x", "duration_ms": 86_400_001}, "duration_ms"),
        ({"item_id": 1, "text": "x", "duration_ms": 2.5}, "duration_ms"),
        ({"item_id": 1, "text": "x", "duration_ms": "long"}, "duration_ms"),
        ([1, 2], ""),
        ("text", ""),
    ],
)
def test_invalid_body_is_422(client: Client, body: Any, key: str) -> None:
    create_item(client)
    response = client.post("/v1/attempts", json=body)
    assert [(k, source) for k, _, source in problems(response)] == [(key, "body")]
    assert client.get("/v1/attempts").json()["total"] == 0


def test_missing_text_names_the_field(client: Client) -> None:
    response = client.post("/v1/attempts", json={"item_id": 1})
    assert problems(response) == [("text", "Object missing required field `text`", "body")]


def test_missing_body_is_422(client: Client) -> None:
    response = client.post("/v1/attempts")
    assert problems(response) == [("", "Request body is required", "body")]


@pytest.mark.parametrize("item_id", [999, 0, -1])
def test_unknown_item_is_404(client: Client, item_id: int) -> None:
    response = client.post("/v1/attempts", json={"item_id": item_id, "text": "x"})
    assert response.status_code == 404
    assert response.json() == {"status_code": 404, "detail": "Item not found"}


def test_body_is_validated_before_the_item_lookup(client: Client) -> None:
    response = client.post("/v1/attempts", json={"item_id": 999, "text": None})
    assert [key for key, _, _ in problems(response)] == ["text"]
    response = client.post("/v1/attempts", json={"item_id": 999, "text": "", "duration_ms": -5})
    assert [key for key, _, _ in problems(response)] == ["duration_ms"]


def test_malformed_json_is_400(client: Client) -> None:
    response = client.post(
        "/v1/attempts", content=b'{"item_id": 1,', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "Malformed JSON request body"


# --- get -------------------------------------------------------------------------------------


@pytest.mark.parametrize("attempt_id", ["9999", "0", "-1", "9223372036854775807"])
def test_unknown_attempt_is_404(client: Client, attempt_id: str) -> None:
    response = client.get(f"/v1/attempts/{attempt_id}")
    assert response.status_code == 404
    assert response.json() == {"status_code": 404, "detail": "Attempt not found"}


@pytest.mark.parametrize("attempt_id", ["abc", "1.0", "9223372036854775808"])
def test_malformed_attempt_id_is_422(client: Client, attempt_id: str) -> None:
    response = client.get(f"/v1/attempts/{attempt_id}")
    assert [(key, source) for key, _, source in problems(response)] == [("attempt_id", "path")]


# --- list ------------------------------------------------------------------------------------


def test_empty_list_envelope(client: Client) -> None:
    assert client.get("/v1/attempts").json() == {
        "attempts": [],
        "total": 0,
        "page": 1,
        "per_page": 20,
        "total_pages": 0,
    }


def test_list_is_newest_first_with_id_tie_break(clocked: Client, clock: SettableClock) -> None:
    item = create_item(clocked)
    first = submit(clocked, item["id"], "a")["id"]
    second = submit(clocked, item["id"], "b")["id"]  # same instant: the higher id comes first
    clock.moment = T0 + timedelta(seconds=1)
    newest = submit(clocked, item["id"], "c")["id"]
    clock.moment = T0 - timedelta(days=1)
    oldest = submit(clocked, item["id"], "d")["id"]
    assert ids(clocked.get("/v1/attempts")) == [newest, second, first, oldest]


def test_list_paging(client: Client) -> None:
    item = create_item(client)
    made = [submit(client, item["id"], str(n))["id"] for n in range(5)]
    body = client.get("/v1/attempts?page=2&per_page=2").json()
    assert [a["id"] for a in body["attempts"]] == [made[2], made[1]]
    assert (body["total"], body["page"], body["per_page"], body["total_pages"]) == (5, 2, 2, 3)
    past_end = client.get("/v1/attempts?page=4&per_page=2").json()
    assert (past_end["attempts"], past_end["total"], past_end["total_pages"]) == ([], 5, 3)
    assert client.get("/v1/attempts?per_page=100").json()["per_page"] == 100


def test_list_filters_by_item(client: Client) -> None:
    one, two = create_item(client), create_item(client)
    a = submit(client, one["id"], "a")["id"]
    b = submit(client, two["id"], "b")["id"]
    c = submit(client, one["id"], "c")["id"]
    assert ids(client.get(f"/v1/attempts?item_id={one['id']}")) == [c, a]
    assert ids(client.get(f"/v1/attempts?item_id={two['id']}")) == [b]
    assert client.get(f"/v1/attempts?item_id={one['id']}").json()["total"] == 2
    assert ids(client.get("/v1/attempts?item_id=0")) == []  # an ordinary id, not "no filter"
    assert ids(client.get("/v1/attempts?item_id=999")) == []
    assert ids(client.get("/v1/attempts?item_id=-9223372036854775808")) == []
    assert ids(client.get("/v1/attempts?item_id=")) == [c, b, a]  # empty counts as not given


def test_list_windows(clocked: Client, clock: SettableClock) -> None:
    item = create_item(clocked)
    clock.moment = datetime(2026, 11, 23, 23, 59, 59, 999999, tzinfo=UTC)
    before = submit(clocked, item["id"], "a")["id"]
    clock.moment = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
    at_one = submit(clocked, item["id"], "b")["id"]
    clock.moment = datetime(2026, 11, 24, 13, 40, tzinfo=UTC)
    later = submit(clocked, item["id"], "c")["id"]

    def window(**query: str) -> list[int]:
        return ids(clocked.get("/v1/attempts", params=query))

    # Offsets are honoured: 15:00 at +02:00 is 13:00Z; both bounds inclusive.
    assert window(since="2026-11-24T15:00:00+02:00") == [later, at_one]
    assert window(since="2026-11-24T15:00:00.000001+02:00") == [later]
    assert window(until="2026-11-24T15:00:00+02:00") == [at_one, before]
    assert window(until="2026-11-24T08:00:00-05:00") == [at_one, before]
    # Naive values are UTC; `Z` works.
    assert window(since="2026-11-24T13:00:00", until="2026-11-24T13:00:00") == [at_one]
    assert window(since="2026-11-24T13:00:00.000001Z") == [later]
    # A bare date is midnight UTC.
    assert window(since="2026-11-24") == [later, at_one]
    assert window(until="2026-11-24") == [before]
    # since == until is allowed.
    assert window(since="2026-11-24T13:40:00Z", until="2026-11-24T15:40:00+02:00") == [later]
    assert window(since="", until="") == [later, at_one, before]  # empty values: not given


@pytest.mark.parametrize(
    "query",
    [
        "since=2026-11-24T13:00:01&until=2026-11-24T13:00:00",
        "since=2026-11-25&until=2026-11-24",
        "since=2026-11-24T15:00:00%2B01:00&until=2026-11-24T15:00:00%2B02:00",
    ],
)
def test_inverted_window_is_400(client: Client, query: str) -> None:
    response = client.get(f"/v1/attempts?{query}")
    assert response.status_code == 400
    assert response.json() == {"status_code": 400, "detail": "'since' must not be after 'until'"}


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("since=yesterday", "since"),
        ("until=2026-13-01", "until"),
        ("since=2026-11-24T25:00:00", "since"),
        ("item_id=abc", "item_id"),
        ("item_id=1.0", "item_id"),
        ("item_id=9223372036854775808", "item_id"),
        ("item_id=-9223372036854775809", "item_id"),
        ("page=0", "page"),
        ("page=x", "page"),
        ("page=1000000001", "page"),
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
    ],
)
def test_invalid_list_query_is_422(client: Client, query: str, key: str) -> None:
    response = client.get(f"/v1/attempts?{query}")
    assert [(k, source) for k, _, source in problems(response)] == [(key, "query")]


# --- items see their attempts ----------------------------------------------------------------


def test_item_becomes_practiced_after_an_attempt(client: Client) -> None:
    practised, untouched = create_item(client), create_item(client)
    submit(client, practised["id"], "hyvää huomenta")
    assert client.get(f"/v1/items/{practised['id']}").json()["practiced"] is True
    assert client.get(f"/v1/items/{untouched['id']}").json()["practiced"] is False
    found = client.get("/v1/items?practiced=true").json()["items"]
    assert [i["id"] for i in found] == [practised["id"]]
    not_found = client.get("/v1/items?practiced=false").json()["items"]
    assert [i["id"] for i in not_found] == [untouched["id"]]


def test_deleting_an_item_deletes_its_attempts(client: Client) -> None:
    kept, gone = create_item(client), create_item(client)
    kept_attempt = submit(client, kept["id"], "x")["id"]
    gone_attempt = submit(client, gone["id"], "x")["id"]
    assert client.delete(f"/v1/items/{gone['id']}").status_code == 204
    assert client.get(f"/v1/attempts/{gone_attempt}").status_code == 404
    assert ids(client.get("/v1/attempts")) == [kept_attempt]
    assert ids(client.get(f"/v1/attempts?item_id={gone['id']}")) == []
    response = client.post("/v1/attempts", json={"item_id": gone["id"], "text": "x"})
    assert response.status_code == 404


def test_openapi_documents_the_attempt_operations(client: Client) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    operations = {
        (method, path.rstrip("/")): op
        for path, ops in paths.items()
        for method, op in ops.items()
        if path.startswith("/v1/attempts")
    }
    assert {key: op["operationId"] for key, op in operations.items()} == {
        ("post", "/v1/attempts"): "createAttempt",
        ("get", "/v1/attempts"): "listAttempts",
        ("get", "/v1/attempts/{attempt_id}"): "getAttempt",
    }
    assert {"404", "422"} <= set(operations["post", "/v1/attempts"]["responses"])
    assert {"400", "422"} <= set(operations["get", "/v1/attempts"]["responses"])
    assert "404" in operations["get", "/v1/attempts/{attempt_id}"]["responses"]
