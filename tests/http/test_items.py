"""`/v1/items`: every behaviour of API.md §3.2–3.9, §4, §7.1, §7.3 and §8, with bad inputs."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.http.conftest import create_item, problems, wait_until_settled

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
Client = TestClient[Any]


def ids(response: Any) -> list[int]:
    return [item["id"] for item in response.json()["items"]]


# --- create ----------------------------------------------------------------------------------


def test_create_returns_202_pending_item_with_location(client: Client) -> None:
    response = client.post(
        "/v1/items",
        json={
            "locale": "fi",
            "text": "Hyvää huomenta!",
            "tags": [" greetings ", "Greetings", "basics"],
        },
    )
    assert response.status_code == 202
    body = response.json()
    assert response.headers["location"] == f"/v1/items/{body['id']}"
    assert body["locale"] == "fi"
    assert body["text"] == "Hyvää huomenta!"
    assert body["difficulty"] == 1
    assert body["tags"] == ["greetings", "basics"]
    assert body["tts_status"] == "pending"
    assert body["practiced"] is False
    assert body["audio_url"] is None
    assert body["tts_error"] is None
    assert TIMESTAMP.match(body["created_at"]) and body["created_at"] == body["updated_at"]
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert "Hyvää".encode() in response.content  # non-ASCII sent unescaped


def test_created_item_becomes_ready_in_the_background(client: Client) -> None:
    item = create_item(client)
    status = wait_until_settled(client, item["id"])
    assert status["tts_status"] == "ready"
    assert status["audio_url"] == f"/v1/items/{item['id']}/audio"
    fetched = client.get(f"/v1/items/{item['id']}").json()
    assert fetched["audio_url"] == status["audio_url"]
    assert fetched["updated_at"] >= fetched["created_at"]


def test_text_is_stored_as_submitted(client: Client) -> None:
    item = create_item(client, text="  Kiitos  paljon \n")
    assert client.get(f"/v1/items/{item['id']}").json()["text"] == "  Kiitos  paljon \n"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [("FI-fi", "fi-FI"), ("en-us", "en-US"), (" fi ", "fi"), ("zh-cn", "zh-CN")],
)
def test_locale_is_stored_in_canonical_case(client: Client, raw: str, canonical: str) -> None:
    assert create_item(client, locale=raw)["locale"] == canonical


@pytest.mark.parametrize("locale", ["fi_FI", "english", "x-klingon", "", "f", "a" * 36, "fi-FI-"])
def test_malformed_locale_is_422(client: Client, locale: str) -> None:
    response = client.post("/v1/items", json={"locale": locale, "text": "hei"})
    assert problems(response) == [("locale", "Invalid locale tag", "body")]


def test_unsupported_locale_names_provider_and_supported_list(client: Client) -> None:
    response = client.post("/v1/items", json={"locale": "tlh", "text": "Qapla'"})
    assert problems(response) == [
        (
            "locale",
            "Locale 'tlh' is not supported by TTS provider 'fake'. Supported locales: "
            "de, en, en-GB, en-US, es, fi, fi-FI, fr, ja, sv, zh, zh-CN",
            "body",
        )
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Expected `str` of length >= 1"),
        ("   \n\t", "Text cannot be blank"),
        ("x" * 10_001, "Expected `str` of length <= 10000"),
    ],
)
def test_invalid_text_is_422(client: Client, text: str, message: str) -> None:
    response = client.post("/v1/items", json={"locale": "fi", "text": text})
    assert problems(response) == [("text", message, "body")]


def test_text_length_counts_code_points(client: Client) -> None:
    assert create_item(client, text="ä" * 10_000)["text"] == "ä" * 10_000


@pytest.mark.parametrize(("value", "stored"), [(3, 3), ("4", 4), (2.0, 2), (None, 1)])
def test_difficulty_accepts_lax_integers(client: Client, value: Any, stored: int) -> None:
    assert create_item(client, difficulty=value)["difficulty"] == stored


@pytest.mark.parametrize("value", [0, 6, 2.5, True, "x", -1])
def test_bad_difficulty_is_422(client: Client, value: Any) -> None:
    response = client.post("/v1/items", json={"locale": "fi", "text": "hei", "difficulty": value})
    assert [key for key, _, _ in problems(response)] == ["difficulty"]


@pytest.mark.parametrize(
    ("text", "difficulty"),
    [
        ("Hyvää huomenta!", 1),
        ("Minä asun Helsingissä ja opiskelen suomea yliopistossa joka päivä.", 2),
        (
            "The committee postponed the controversial infrastructure referendum until "
            "further notice was given.",
            3,
        ),
        (" ".join(["w"] * 80), 2),
    ],
)
def test_difficulty_is_inferred(client: Client, text: str, difficulty: int) -> None:
    assert create_item(client, locale="en", text=text)["difficulty"] == difficulty


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (["ok", "  "], "Tags cannot be empty"),
        (["x" * 51], "Tag length cannot exceed 50 characters"),
        ([f"t{n}" for n in range(21)], "Maximum 20 tags allowed"),
    ],
)
def test_invalid_tags_are_422(client: Client, tags: list[str], message: str) -> None:
    response = client.post("/v1/items", json={"locale": "fi", "text": "hei", "tags": tags})
    assert problems(response) == [("tags", message, "body")]


def test_tags_are_trimmed_and_deduplicated_casefold(client: Client) -> None:
    item = create_item(client, tags=[" Grammar ", "verbs", "GRAMMAR", "äiti", "ÄITI", "x" * 50])
    assert item["tags"] == ["Grammar", "verbs", "äiti", "x" * 50]


def test_twenty_distinct_tags_after_dedup_are_allowed(client: Client) -> None:
    tags = [f"t{n}" for n in range(20)] + ["T0", "t1"]
    assert create_item(client, tags=tags)["tags"] == [f"t{n}" for n in range(20)]


def test_non_string_tag_is_422(client: Client) -> None:
    response = client.post("/v1/items", json={"locale": "fi", "text": "hei", "tags": ["a", 3]})
    assert [key for key, _, _ in problems(response)] == ["tags[1]"]


def test_missing_fields_are_named(client: Client) -> None:
    response = client.post("/v1/items", json={"text": "hei"})
    assert [key for key, _, _ in problems(response)] == ["locale"]


def test_missing_body_is_422_with_empty_key(client: Client) -> None:
    response = client.post("/v1/items", headers={"content-type": "application/json"})
    assert problems(response) == [("", "Request body is required", "body")]


def test_body_that_is_not_an_object_is_422_with_empty_key(client: Client) -> None:
    response = client.post("/v1/items", json=[1, 2])
    assert [key for key, _, _ in problems(response)] == [""]


def test_unknown_body_fields_are_ignored(client: Client) -> None:
    assert create_item(client, colour="blue")["text"] == "Hyvää huomenta!"


# --- bulk ------------------------------------------------------------------------------------


def test_bulk_creates_all_in_request_order(client: Client) -> None:
    response = client.post(
        "/v1/items/bulk",
        json={
            "items": [
                {"locale": "fi", "text": "Kiitos paljon."},
                {
                    "locale": "en-us",
                    "text": "Thank you very much.",
                    "difficulty": 2,
                    "tags": ["basics"],
                },
            ]
        },
    )
    assert response.status_code == 202
    body = response.json()
    assert body["total_created"] == 2
    assert body["failed_items"] == [] and body["total_failed"] == 0
    first, second = body["created_items"]
    assert first["text"] == "Kiitos paljon." and first["difficulty"] == 1
    assert second["locale"] == "en-US" and second["tags"] == ["basics"]
    assert second["id"] > first["id"]
    assert all(i["tts_status"] == "pending" for i in body["created_items"])
    assert TIMESTAMP.match(body["submitted_at"])


def test_bulk_is_all_or_nothing_with_indexed_keys(client: Client) -> None:
    before = client.get("/v1/items").json()["total"]
    response = client.post(
        "/v1/items/bulk",
        json={
            "items": [
                {"locale": "fi", "text": "ok"},
                {"locale": "fi", "text": "ok"},
                {"locale": "fi", "text": "ok"},
                {"locale": "nope_x", "text": "bad"},
            ]
        },
    )
    assert problems(response) == [("items[3].locale", "Invalid locale tag", "body")]
    assert client.get("/v1/items").json()["total"] == before


def test_bulk_reports_framework_errors_with_index(client: Client) -> None:
    response = client.post(
        "/v1/items/bulk",
        json={"items": [{"locale": "fi", "text": "a"}, {"locale": "fi", "text": ""}]},
    )
    assert [key for key, _, _ in problems(response)] == ["items[1].text"]
    response = client.post("/v1/items/bulk", json={"items": [{"locale": "fi"}]})
    assert [key for key, _, _ in problems(response)] == ["items[0].text"]


@pytest.mark.parametrize("count", [0, 101])
def test_bulk_size_limits(client: Client, count: int) -> None:
    entries = [{"locale": "fi", "text": "hei"}] * count
    response = client.post("/v1/items/bulk", json={"items": entries})
    assert [key for key, _, _ in problems(response)] == ["items"]


def test_bulk_of_100_is_accepted(client: Client) -> None:
    entries = [{"locale": "fi", "text": f"lause {n}"} for n in range(100)]
    response = client.post("/v1/items/bulk", json={"items": entries})
    assert response.status_code == 202 and response.json()["total_created"] == 100


def test_get_on_bulk_is_405(client: Client) -> None:
    response = client.get("/v1/items/bulk")
    assert response.status_code == 405
    assert response.json() == {"status_code": 405, "detail": "Method Not Allowed"}
    assert "POST" in response.headers["allow"]


# --- get / delete ----------------------------------------------------------------------------


def test_get_unknown_item_is_404(client: Client) -> None:
    for item_id in ("999", "0", "-5"):
        response = client.get(f"/v1/items/{item_id}")
        assert response.status_code == 404
        assert response.json() == {"status_code": 404, "detail": "Item not found"}


@pytest.mark.parametrize("item_id", ["abc", "1.5", "9223372036854775808", "-9223372036854775809"])
def test_malformed_item_id_is_422(client: Client, item_id: str) -> None:
    response = client.get(f"/v1/items/{item_id}")
    assert [(key, source) for key, _, source in problems(response)] == [("item_id", "path")]


def test_int64_edge_ids_are_valid_and_missing(client: Client) -> None:
    assert client.get("/v1/items/9223372036854775807").status_code == 404
    assert client.get("/v1/items/-9223372036854775808").status_code == 404


def test_delete_removes_item_and_ids_are_never_reused(client: Client) -> None:
    first = create_item(client)
    newest = create_item(client)
    response = client.delete(f"/v1/items/{newest['id']}")
    assert response.status_code == 204 and response.content == b""
    assert client.get(f"/v1/items/{newest['id']}").status_code == 404
    assert client.delete(f"/v1/items/{newest['id']}").json() == {
        "status_code": 404,
        "detail": "Item not found",
    }
    assert create_item(client)["id"] > newest["id"] > first["id"]


# --- tts-status ------------------------------------------------------------------------------


def test_tts_status_truncates_text_and_reports_voice(client: Client) -> None:
    item = create_item(client, text="a" * 150)
    status = client.get(f"/v1/items/{item['id']}/tts-status").json()
    assert status["text"] == "a" * 100 + "..."
    assert status["provider"] == "fake" and status["voice"] == "fake-a"
    settled = wait_until_settled(client, item["id"])
    assert settled["duration_seconds"] == pytest.approx((200 + 40 * 150) / 1000)


def test_tts_status_of_unknown_item_is_404(client: Client) -> None:
    assert client.get("/v1/items/404/tts-status").json()["detail"] == "Item not found"


# --- PATCH tags / difficulty -----------------------------------------------------------------


def test_replace_tags(client: Client) -> None:
    item = create_item(client, tags=["greetings", "basics"])
    response = client.patch(
        f"/v1/items/{item['id']}/tags", json={"tags": ["  Grammar ", "verbs", "grammar"]}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["operation"] == "replace"
    assert body["previous_tags"] == ["greetings", "basics"]
    assert body["current_tags"] == ["Grammar", "verbs"]
    assert body["message"] == "Replaced all tags with: Grammar, verbs"
    assert body["updated_at"] > item["updated_at"]
    assert client.get(f"/v1/items/{item['id']}").json()["tags"] == ["Grammar", "verbs"]


def test_replace_tags_missing_key_clears_and_null_is_422(client: Client) -> None:
    item = create_item(client, tags=["a"])
    cleared = client.patch(f"/v1/items/{item['id']}/tags", json={})
    assert cleared.json()["current_tags"] == []
    assert cleared.json()["message"] == "Replaced all tags with: none"
    assert [
        k for k, _, _ in problems(client.patch(f"/v1/items/{item['id']}/tags", json={"tags": None}))
    ] == ["tags"]
    assert problems(client.patch(f"/v1/items/{item['id']}/tags", json={"tags": [" "]})) == [
        ("tags", "Tags cannot be empty", "body")
    ]


def test_replace_tags_unknown_item_is_404(client: Client) -> None:
    assert client.patch("/v1/items/77/tags", json={"tags": []}).status_code == 404


def test_set_difficulty(client: Client) -> None:
    item = create_item(client)
    body = client.patch(f"/v1/items/{item['id']}/difficulty", json={"difficulty": 3}).json()
    assert body["previous_difficulty"] == 1 and body["current_difficulty"] == 3
    assert body["message"] == "Updated difficulty from 1 to 3"
    same = client.patch(f"/v1/items/{item['id']}/difficulty", json={"difficulty": "3"}).json()
    assert same["message"] == "Updated difficulty from 3 to 3"


@pytest.mark.parametrize("body", [{}, {"difficulty": None}, {"difficulty": 0}, {"difficulty": 6}])
def test_set_difficulty_rejects_bad_values(client: Client, body: dict[str, Any]) -> None:
    item = create_item(client)
    response = client.patch(f"/v1/items/{item['id']}/difficulty", json=body)
    assert [k for k, _, _ in problems(response)] == ["difficulty"]


def test_set_difficulty_unknown_item_is_404(client: Client) -> None:
    assert client.patch("/v1/items/77/difficulty", json={"difficulty": 2}).status_code == 404


# --- list ------------------------------------------------------------------------------------


@pytest.fixture
def catalogue(client: Client) -> dict[str, int]:
    """A small data set for filters: name → id."""
    made = {
        "hyvaa": create_item(
            client, locale="fi", text="Hyvää huomenta!", tags=["greetings", "basics"]
        ),
        "strasse": create_item(
            client, locale="de", text="Die Straße ist lang", difficulty=3, tags=["ÄITI"]
        ),
        "chinese": create_item(
            client, locale="zh-CN", text="我喜欢学习中文", difficulty=5, tags=["100%"]
        ),
        "english": create_item(
            client, locale="en-US", text="Thank you", difficulty=2, tags=["basics"]
        ),
    }
    return {name: item["id"] for name, item in made.items()}


def test_list_defaults_newest_first(client: Client, catalogue: dict[str, int]) -> None:
    body = client.get("/v1/items").json()
    assert [i["id"] for i in body["items"]] == sorted(catalogue.values(), reverse=True)
    assert (body["total"], body["page"], body["per_page"], body["total_pages"]) == (4, 1, 20, 1)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("locale=fi", ["hyvaa"]),
        ("locale=EN-us", ["english"]),
        ("locale=", ["english", "chinese", "strasse", "hyvaa"]),
        ("tag=basics", ["english", "hyvaa"]),
        ("tag=BASICS&tag=greetings", ["hyvaa"]),
        ("tag=äiti", ["strasse"]),
        ("tag=100%25", ["chinese"]),
        ("tag=1%25", []),
        ("tag=bas", []),
        ("tag=%20basics%20&tag=", ["english", "hyvaa"]),
        ("difficulty=3", ["strasse"]),
        ("difficulty=%202%20..%205%20", ["english", "chinese", "strasse"]),
        ("q=hyvaa", ["hyvaa"]),
        ("q=HYV%C3%84%C3%84", ["hyvaa"]),
        ("q=strasse", ["strasse"]),
        ("q=%E4%B8%AD%E6%96%87", ["chinese"]),
        ("q=%25", []),
        ("tts_status=failed&locale=de", []),
    ],
)
def test_list_filters(
    client: Client, catalogue: dict[str, int], query: str, expected: list[str]
) -> None:
    response = client.get(f"/v1/items?{query}")
    assert response.status_code == 200, response.text
    assert ids(response) == [catalogue[name] for name in expected]


def test_practiced_filter_without_attempts(client: Client, catalogue: dict[str, int]) -> None:
    assert ids(client.get("/v1/items?practiced=yes")) == []
    assert len(ids(client.get("/v1/items?practiced=OFF"))) == 4


def test_tts_status_filter_after_synthesis(client: Client) -> None:
    ready = create_item(client)
    failed = create_item(client, text="broken #fail-permanent")
    wait_until_settled(client, ready["id"])
    assert (
        wait_until_settled(client, failed["id"])["tts_error"] == "fake: permanent failure requested"
    )
    assert ids(client.get("/v1/items?tts_status=ready")) == [ready["id"]]
    assert ids(client.get("/v1/items?tts_status=failed")) == [failed["id"]]
    failed_item = client.get(f"/v1/items/{failed['id']}").json()
    assert failed_item["tts_status"] == "failed" and failed_item["audio_url"] is None


@pytest.mark.parametrize(
    ("query", "key", "message"),
    [
        (
            "difficulty=..5",
            "difficulty",
            "Invalid difficulty filter. Use N or A..B with 1 <= A <= B <= 5",
        ),
        (
            "difficulty=3..1",
            "difficulty",
            "Invalid difficulty filter. Use N or A..B with 1 <= A <= B <= 5",
        ),
        (
            "difficulty=6",
            "difficulty",
            "Invalid difficulty filter. Use N or A..B with 1 <= A <= B <= 5",
        ),
        (
            "difficulty=1..2..3",
            "difficulty",
            "Invalid difficulty filter. Use N or A..B with 1 <= A <= B <= 5",
        ),
        ("locale=fi_FI", "locale", "Invalid locale tag"),
        ("tts_status=done", "tts_status", "Expected one of: pending, ready, failed"),
        ("&".join(f"tag=t{n}" for n in range(21)), "tag", "At most 20 tag filters allowed"),
    ],
)
def test_list_filter_errors(client: Client, query: str, key: str, message: str) -> None:
    assert problems(client.get(f"/v1/items?{query}")) == [(key, message, "query")]


@pytest.mark.parametrize(
    "query", ["practiced=maybe", "page=0", "per_page=101", "per_page=0", "page=x"]
)
def test_list_query_type_errors_are_422(client: Client, query: str) -> None:
    key = query.split("=")[0]
    assert [(k, s) for k, _, s in problems(client.get(f"/v1/items?{query}"))] == [(key, "query")]


def test_invalid_sort_is_400_but_validation_comes_first(client: Client) -> None:
    response = client.get("/v1/items?sort=name")
    assert response.status_code == 400
    assert response.json() == {
        "status_code": 400,
        "detail": "Invalid sort parameter. Must be one of: created_at.asc, created_at.desc, "
        "difficulty.asc, difficulty.desc",
    }
    assert client.get("/v1/items?sort=name&per_page=0").status_code == 422


def test_sorts_break_ties_by_id(client: Client) -> None:
    response = client.post(
        "/v1/items/bulk",
        json={
            "items": [
                {"locale": "fi", "text": f"t{n}", "difficulty": d}
                for n, d in enumerate([2, 1, 2, 1])
            ]
        },
    )
    made = [i["id"] for i in response.json()["created_items"]]  # same created_at for all four
    assert ids(client.get("/v1/items?sort=created_at.desc")) == made[::-1]
    assert ids(client.get("/v1/items?sort=created_at.asc")) == made
    assert ids(client.get("/v1/items?sort=difficulty.asc")) == [made[1], made[3], made[0], made[2]]
    assert ids(client.get("/v1/items?sort=difficulty.desc")) == [made[2], made[0], made[3], made[1]]


def test_pagination(client: Client) -> None:
    client.post(
        "/v1/items/bulk", json={"items": [{"locale": "fi", "text": f"t{n}"} for n in range(5)]}
    )
    body = client.get("/v1/items?per_page=2&page=3").json()
    assert (len(body["items"]), body["total"], body["total_pages"], body["page"]) == (1, 5, 3, 3)
    past = client.get("/v1/items?per_page=2&page=9").json()
    assert past["items"] == [] and past["total"] == 5 and past["total_pages"] == 3


def test_empty_list_has_zero_pages(client: Client) -> None:
    assert client.get("/v1/items").json() == {
        "items": [],
        "total": 0,
        "page": 1,
        "per_page": 20,
        "total_pages": 0,
    }
