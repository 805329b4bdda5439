"""`/v1/stats`: every behaviour of API.md §3.16–3.19 and §6, with bad inputs.

The app runs with a settable clock (a provider override), so the data set of §3.16 is built at
exactly 13:40, 13:42 and 13:45 on 2026-11-24 and the examples are compared whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.http.conftest import SettableClock, create_item, problems

T0 = datetime(2026, 11, 24, 13, 40, tzinfo=UTC)
NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
HELSINKI = "Minä asun Helsingissä."
MORNING = "Hyvää huomenta!"
Client = TestClient[Any]


@pytest.fixture
def client(clocked: Client) -> Client:
    return clocked


def attempt_at(
    client: Client, clock: SettableClock, moment: datetime, item_id: int, text: str, **more: Any
) -> dict[str, Any]:
    clock.moment = moment
    response = client.post("/v1/attempts", json={"item_id": item_id, "text": text} | more)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@dataclass
class DataSet:
    helsinki: int  # item 45 of the spec
    morning: int  # item 42 of the spec


@pytest.fixture
def example(client: Client, clock: SettableClock) -> DataSet:
    """API §3.16: item 45 once at 13:40 (67 %, 5 400 ms); item 42 at 13:42 (100 %, no
    duration) and 13:45 (50 %, 12 000 ms)."""
    helsinki = create_item(client, locale="fi", text=HELSINKI)["id"]
    morning = create_item(client, locale="fi", text=MORNING, tags=["greetings", "basics"])["id"]
    first = attempt_at(client, clock, T0, helsinki, "mina asun helsingisa", duration_ms=5400)
    second = attempt_at(client, clock, T0 + timedelta(minutes=2), morning, "hyvaa huomenta")
    third = attempt_at(
        client, clock, T0 + timedelta(minutes=5), morning, "hyvaa", duration_ms=12_000
    )
    assert [first["percentage"], second["percentage"], third["percentage"]] == [67, 100, 50]
    assert [first["wer"], second["wer"], third["wer"]] == [1 / 3, 0.0, 0.5]
    clock.moment = NOW
    return DataSet(helsinki=helsinki, morning=morning)


EMPTY_SUMMARY = {
    "total_attempts": 0,
    "unique_items_practiced": 0,
    "average_score": 0.0,
    "best_score": 0,
    "worst_score": 0,
    "total_practice_time_minutes": 0.0,
    "average_wer": 0.0,
}
INVERTED = {"status_code": 400, "detail": "'since' must not be after 'until'"}


# --- summary ---------------------------------------------------------------------------------


def test_summary_example(client: Client, example: DataSet) -> None:
    response = client.get("/v1/stats/summary?since=2026-11-01")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "total_attempts": 3,
        "unique_items_practiced": 2,
        "average_score": 72.33,
        "best_score": 100,
        "worst_score": 50,
        "total_practice_time_minutes": 0.8,
        "average_wer": 0.2778,
    }
    assert list(body) == list(EMPTY_SUMMARY)
    assert client.get("/v1/stats/summary").json() == body


def test_summary_without_attempts(client: Client) -> None:
    create_item(client)
    body = client.get("/v1/stats/summary").json()
    assert body == EMPTY_SUMMARY
    assert isinstance(body["average_score"], float)
    assert isinstance(body["total_practice_time_minutes"], float)


def test_untimed_attempts_count_thirty_seconds(client: Client, clock: SettableClock) -> None:
    item = create_item(client)["id"]
    attempt_at(client, clock, T0, item, "x")
    assert client.get("/v1/stats/summary").json()["total_practice_time_minutes"] == 0.5
    attempt_at(client, clock, T0, item, "x", duration_ms=0)
    assert client.get("/v1/stats/summary").json()["total_practice_time_minutes"] == 0.5


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("since=2026-11-24T15:42:00%2B02:00", 2),  # offsets honoured: 13:42Z, inclusive
        ("since=2026-11-24T15:42:00.000001%2B02:00", 1),
        ("until=2026-11-24T15:42:00%2B02:00", 2),  # inclusive
        ("until=2026-11-24T08:39:59.999999-05:00", 0),  # 13:39:59.999999Z
        ("since=2026-11-24T13:42:00&until=2026-11-24T13:42:00", 1),  # naive = UTC; since == until
        ("since=2026-11-24T13:42:00Z&until=2026-11-24T15:42:00%2B02:00", 1),
        ("since=2026-11-24", 3),  # bare date = 00:00 UTC
        ("until=2026-11-24", 0),
        ("since=2026-11-25", 0),
        ("since=&until=", 3),  # empty values count as not given
    ],
)
def test_summary_window(client: Client, example: DataSet, query: str, count: int) -> None:
    assert client.get(f"/v1/stats/summary?{query}").json()["total_attempts"] == count


def test_summary_window_aggregates_only_inside(client: Client, example: DataSet) -> None:
    body = client.get("/v1/stats/summary?since=2026-11-24T13:42:00Z").json()
    assert body == {
        "total_attempts": 2,
        "unique_items_practiced": 1,
        "average_score": 75.0,
        "best_score": 100,
        "worst_score": 50,
        "total_practice_time_minutes": 0.7,  # (12 000 + 30 000) / 60 000
        "average_wer": 0.25,
    }


@pytest.mark.parametrize("path", ["/v1/stats/summary", "/v1/stats/practice-log"])
@pytest.mark.parametrize(
    "query",
    [
        "since=2026-11-24T13:00:00.000001&until=2026-11-24T13:00:00",
        "since=2026-11-25&until=2026-11-24T23:59:59Z",
        "since=2026-11-24T15:00:00%2B01:00&until=2026-11-24T15:00:00%2B02:00",
    ],
)
def test_inverted_window_is_400(client: Client, path: str, query: str) -> None:
    response = client.get(f"{path}?{query}")
    assert response.status_code == 400
    assert response.json() == INVERTED


@pytest.mark.parametrize("path", ["/v1/stats/summary", "/v1/stats/practice-log"])
@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("since=last-week", "since"),
        ("since=2026-02-30", "since"),
        ("until=24.11.2026", "until"),
        ("until=2026-11-24T13:00:00%2B25:00", "until"),
    ],
)
def test_unparsable_window_is_422(client: Client, path: str, query: str, key: str) -> None:
    response = client.get(f"{path}?{query}")
    assert [(k, source) for k, _, source in problems(response)] == [(key, "query")]


# --- practice log ----------------------------------------------------------------------------


def test_practice_log_example(client: Client, example: DataSet) -> None:
    response = client.get("/v1/stats/practice-log?per_page=1")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "practice_log": [
            {
                "item_id": example.morning,
                "text": MORNING,
                "locale": "fi",
                "tags": ["greetings", "basics"],
                "difficulty": 1,
                "attempt_count": 2,
                "first_attempt_at": "2026-11-24T13:42:00.000000Z",
                "last_practiced_at": "2026-11-24T13:45:00.000000Z",
                "average_score": 75.0,
                "best_score": 100,
                "worst_score": 50,
                "avg_wer": 0.25,
            }
        ],
        "total": 2,
        "page": 1,
        "per_page": 1,
        "total_pages": 2,
    }
    assert list(body["practice_log"][0]) == [
        "item_id",
        "text",
        "locale",
        "tags",
        "difficulty",
        "attempt_count",
        "first_attempt_at",
        "last_practiced_at",
        "average_score",
        "best_score",
        "worst_score",
        "avg_wer",
    ]
    second = client.get("/v1/stats/practice-log?per_page=1&page=2").json()
    (entry,) = second["practice_log"]
    assert (entry["item_id"], entry["attempt_count"], entry["average_score"]) == (
        example.helsinki,
        1,
        67.0,
    )
    assert entry["avg_wer"] == 0.3333
    assert entry["first_attempt_at"] == entry["last_practiced_at"] == "2026-11-24T13:40:00.000000Z"
    past_end = client.get("/v1/stats/practice-log?per_page=1&page=3").json()
    assert (past_end["practice_log"], past_end["total"], past_end["total_pages"]) == ([], 2, 2)


def test_practice_log_defaults_and_empty(client: Client) -> None:
    create_item(client)
    assert client.get("/v1/stats/practice-log").json() == {
        "practice_log": [],
        "total": 0,
        "page": 1,
        "per_page": 20,
        "total_pages": 0,
    }


def test_practice_log_window_uses_in_window_attempts_only(client: Client, example: DataSet) -> None:
    body = client.get("/v1/stats/practice-log?until=2026-11-24T15:42:00%2B02:00").json()
    assert [(e["item_id"], e["attempt_count"]) for e in body["practice_log"]] == [
        (example.morning, 1),
        (example.helsinki, 1),
    ]
    morning = body["practice_log"][0]
    assert (morning["average_score"], morning["avg_wer"]) == (100.0, 0.0)
    assert morning["last_practiced_at"] == "2026-11-24T13:42:00.000000Z"
    later = client.get("/v1/stats/practice-log?since=2026-11-24T13:43:00Z").json()
    assert [e["item_id"] for e in later["practice_log"]] == [example.morning]
    assert later["total"] == 1


def test_practice_log_order_breaks_ties_by_item_id(client: Client, clock: SettableClock) -> None:
    low, high = create_item(client)["id"], create_item(client)["id"]
    attempt_at(client, clock, T0, high, "x")
    attempt_at(client, clock, T0, low, "x")
    body = client.get("/v1/stats/practice-log").json()
    assert [e["item_id"] for e in body["practice_log"]] == [high, low]


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("page=0", "page"),
        ("page=x", "page"),
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
    ],
)
def test_practice_log_paging_is_validated(client: Client, query: str, key: str) -> None:
    response = client.get(f"/v1/stats/practice-log?{query}")
    assert [(k, source) for k, _, source in problems(response)] == [(key, "query")]


# --- item stats ------------------------------------------------------------------------------


def test_item_stats_example(client: Client, example: DataSet) -> None:
    response = client.get(f"/v1/stats/items/{example.morning}")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "item_id": example.morning,
        "text": MORNING,
        "attempts_count": 2,
        "first_attempt_at": "2026-11-24T13:42:00.000000Z",
        "last_attempt_at": "2026-11-24T13:45:00.000000Z",
        "avg_percentage": 75.0,
        "best_percentage": 100,
        "worst_percentage": 50,
        "avg_wer": 0.25,
        "best_wer": 0.0,
        "worst_wer": 0.5,
    }
    assert '"best_wer":0.0' in response.text
    helsinki = client.get(f"/v1/stats/items/{example.helsinki}").json()
    assert helsinki["best_wer"] == helsinki["worst_wer"] == 0.3333333333333333  # unrounded
    assert helsinki["avg_wer"] == 0.3333


def test_item_stats_ignore_windows_and_show_full_text(client: Client, clock: SettableClock) -> None:
    text = "Kiitos " * 30
    item = create_item(client, text=text)["id"]
    attempt_at(client, clock, T0 - timedelta(days=400), item, "kiitos")
    body = client.get(f"/v1/stats/items/{item}").json()
    assert body["text"] == text
    assert body["attempts_count"] == 1


def test_item_stats_without_attempts(client: Client) -> None:
    item = create_item(client)["id"]
    assert client.get(f"/v1/stats/items/{item}").json() == {
        "item_id": item,
        "text": MORNING,
        "attempts_count": 0,
        "first_attempt_at": None,
        "last_attempt_at": None,
        "avg_percentage": 0.0,
        "best_percentage": 0,
        "worst_percentage": 0,
        "avg_wer": 0.0,
        "best_wer": 0.0,
        "worst_wer": 0.0,
    }


@pytest.mark.parametrize("item_id", ["999", "0", "-1", "9223372036854775807"])
def test_item_stats_of_unknown_item_is_404(client: Client, item_id: str) -> None:
    response = client.get(f"/v1/stats/items/{item_id}")
    assert response.status_code == 404
    assert response.json() == {"status_code": 404, "detail": "Item not found"}


@pytest.mark.parametrize("item_id", ["abc", "1.5", "9223372036854775808"])
def test_item_stats_with_malformed_id_is_422(client: Client, item_id: str) -> None:
    response = client.get(f"/v1/stats/items/{item_id}")
    assert [(key, source) for key, _, source in problems(response)] == [("item_id", "path")]


# --- progress --------------------------------------------------------------------------------


def test_progress_example(client: Client, example: DataSet) -> None:
    response = client.get("/v1/stats/progress?days=3")
    assert response.status_code == 200
    assert response.json() == {
        "progress": [
            {"date": "2026-11-22", "attempts": 0, "avg_percentage": 0.0, "avg_wer": 0.0},
            {"date": "2026-11-23", "attempts": 0, "avg_percentage": 0.0, "avg_wer": 0.0},
            {"date": "2026-11-24", "attempts": 3, "avg_percentage": 72.33, "avg_wer": 0.2778},
        ]
    }


def test_progress_defaults_to_thirty_days_ending_today(client: Client, example: DataSet) -> None:
    days = client.get("/v1/stats/progress").json()["progress"]
    assert len(days) == 30
    assert days[0]["date"] == "2026-10-26"
    assert days[-1]["date"] == "2026-11-24"
    assert [d["date"] for d in days] == sorted(d["date"] for d in days)
    assert sum(d["attempts"] for d in days) == 3
    assert len(client.get("/v1/stats/progress?days=365").json()["progress"]) == 365
    assert len(client.get("/v1/stats/progress?days=1").json()["progress"]) == 1


def test_progress_counts_utc_dates_and_nothing_after_today(
    client: Client, clock: SettableClock
) -> None:
    item = create_item(client)["id"]
    attempt_at(client, clock, datetime(2026, 11, 23, 23, 59, 59, 999999, tzinfo=UTC), item, "x")
    attempt_at(client, clock, datetime(2026, 11, 24, 0, 0, tzinfo=UTC), item, "hyvää huomenta")
    attempt_at(client, clock, datetime(2026, 11, 25, 0, 0, tzinfo=UTC), item, "x")  # tomorrow
    clock.moment = datetime(2026, 11, 24, 23, 59, tzinfo=UTC)
    days = client.get("/v1/stats/progress?days=2").json()["progress"]
    assert days == [
        {"date": "2026-11-23", "attempts": 1, "avg_percentage": 0.0, "avg_wer": 1.0},
        {"date": "2026-11-24", "attempts": 1, "avg_percentage": 100.0, "avg_wer": 0.0},
    ]


def test_progress_for_one_item(client: Client, example: DataSet) -> None:
    (today,) = client.get(f"/v1/stats/progress?days=1&item_id={example.morning}").json()["progress"]
    assert today == {"date": "2026-11-24", "attempts": 2, "avg_percentage": 75.0, "avg_wer": 0.25}
    (today,) = client.get("/v1/stats/progress?days=1&item_id=").json()["progress"]
    assert today["attempts"] == 3  # empty item_id counts as not given


def test_progress_for_an_item_without_attempts(client: Client, example: DataSet) -> None:
    item = create_item(client)["id"]
    days = client.get(f"/v1/stats/progress?days=2&item_id={item}").json()["progress"]
    assert [d["attempts"] for d in days] == [0, 0]


@pytest.mark.parametrize("item_id", ["0", "999", "-3"])
def test_progress_for_unknown_item_is_404(client: Client, example: DataSet, item_id: str) -> None:
    response = client.get(f"/v1/stats/progress?item_id={item_id}")
    assert response.status_code == 404
    assert response.json() == {"status_code": 404, "detail": "Item not found"}


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("days=0", "days"),
        ("days=366", "days"),
        ("days=-1", "days"),
        ("days=x", "days"),
        ("days=2.5", "days"),
        ("item_id=x", "item_id"),
        ("item_id=9223372036854775808", "item_id"),
    ],
)
def test_progress_invalid_query_is_422(client: Client, query: str, key: str) -> None:
    response = client.get(f"/v1/stats/progress?{query}")
    assert [(k, source) for k, _, source in problems(response)] == [(key, "query")]


# --- deleting items --------------------------------------------------------------------------


def test_deleting_an_item_removes_it_from_every_statistic(client: Client, example: DataSet) -> None:
    assert client.delete(f"/v1/items/{example.morning}").status_code == 204

    summary = client.get("/v1/stats/summary").json()
    assert (summary["total_attempts"], summary["unique_items_practiced"]) == (1, 1)
    assert (summary["average_score"], summary["average_wer"]) == (67.0, 0.3333)
    assert summary["total_practice_time_minutes"] == 0.1  # 5 400 ms
    log = client.get("/v1/stats/practice-log").json()
    assert [e["item_id"] for e in log["practice_log"]] == [example.helsinki]
    assert log["total"] == 1
    assert client.get(f"/v1/stats/items/{example.morning}").status_code == 404
    assert client.get(f"/v1/stats/progress?item_id={example.morning}").status_code == 404
    (today,) = client.get("/v1/stats/progress?days=1").json()["progress"]
    assert (today["attempts"], today["avg_percentage"]) == (1, 67.0)
    assert client.get("/v1/attempts").json()["total"] == 1


def test_openapi_documents_the_stats_operations(client: Client) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    operations = {path: ops["get"] for path, ops in paths.items() if path.startswith("/v1/stats")}
    assert {path: op["operationId"] for path, op in operations.items()} == {
        "/v1/stats/summary": "getStatsSummary",
        "/v1/stats/practice-log": "getPracticeLog",
        "/v1/stats/items/{item_id}": "getItemStats",
        "/v1/stats/progress": "getProgress",
    }
    assert {"400", "422"} <= set(operations["/v1/stats/summary"]["responses"])
    assert {"400", "422"} <= set(operations["/v1/stats/practice-log"]["responses"])
    assert "404" in operations["/v1/stats/items/{item_id}"]["responses"]
    assert {"404", "422"} <= set(operations["/v1/stats/progress"]["responses"])
