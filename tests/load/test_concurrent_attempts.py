"""Concurrency under load: 10,000 attempts from 32 clients against the real server process.

Each backend runs the service as `make run` does (a separate `last-whisper serve` process, fake
TTS), creates 50 items, then 32 concurrent HTTP clients submit 10,000 attempts, each carrying a
unique marker in its text. Every attempt must be stored exactly once, with no error response, and
the listing and statistics must agree with totals computed locally from the 201 responses.
Meanwhile one more client keeps reading the item list and single items (on SQLite, inline reads
beside the writer's commits): every read must succeed and show the items as they are.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.system.server import ServerProcess

ATTEMPTS = 10_000
CLIENTS = 32
ITEMS = 50
REQUEST_TIMEOUT = 15.0  # seconds, per request (SQLite's busy timeout is 5 s)
# Seconds for all 10,000 submissions: a guard against hangs, not the performance goal (well under
# 60 s per backend), which the printed rate is compared with.
DEADLINE = 180.0
WORDS = ["minä", "asun", "Helsingissä", "ja", "opiskelen", "suomea", "joka", "päivä"]
READ_PAUSE = 0.01  # seconds between the reader's requests: a steady read load, not a flood


@dataclass
class Outcome:
    """What the clients saw: every 201 body by marker, and every other answer."""

    created: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    reads: int = 0


def marker(n: int) -> str:
    return f"lwload{n:05d}"


def attempt_text(n: int) -> str:
    """A unique marker followed by a prefix of the item's words: scores vary from attempt to
    attempt."""
    return " ".join([marker(n), *WORDS[: 1 + n % len(WORDS)]])


def create_items(url: str) -> list[int]:
    entries = [
        {"locale": "fi", "text": f"Lause {n}: {' '.join(WORDS)}.", "tags": ["load"]}
        for n in range(ITEMS)
    ]
    response = httpx.post(f"{url}/v1/items/bulk", json={"items": entries}, timeout=30)
    assert response.status_code == 202, response.text
    ids = [int(item["id"]) for item in response.json()["created_items"]]
    assert len(set(ids)) == ITEMS
    return ids


async def submit_all(url: str, item_ids: list[int]) -> Outcome:
    outcome = Outcome()
    queue = iter(range(ATTEMPTS))  # shared: each client takes the next attempt number
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)

    async def client(http: httpx.AsyncClient) -> None:
        for n in queue:
            body = {"item_id": item_ids[n % ITEMS], "text": attempt_text(n), "duration_ms": n}
            try:
                response = await http.post("/v1/attempts", json=body)
            except httpx.HTTPError as exc:
                outcome.failures.append(f"{marker(n)}: {exc!r}")
                continue
            if response.status_code != 201:
                outcome.failures.append(f"{marker(n)}: {response.status_code} {response.text}")
                continue
            outcome.created[marker(n)] = response.json()

    async def reader(http: httpx.AsyncClient, submitting: asyncio.Future[Any]) -> None:
        page = {"tag": "load", "sort": "difficulty.asc", "per_page": 20}
        n = 0
        while not submitting.done():
            item_id = item_ids[n % ITEMS]
            n += 1
            try:
                listed = await http.get("/v1/items", params=page)
                single = await http.get(f"/v1/items/{item_id}")
            except httpx.HTTPError as exc:
                outcome.failures.append(f"read {n}: {exc!r}")
                continue
            if (listed.status_code, single.status_code) != (200, 200):
                outcome.failures.append(f"read {n}: {listed.text} {single.text}")
            elif listed.json()["total"] != ITEMS or len(listed.json()["items"]) != 20:
                outcome.failures.append(f"read {n}: list {listed.text[:200]}")
            elif single.json()["id"] != item_id:
                outcome.failures.append(f"read {n}: item {single.text[:200]}")
            else:
                outcome.reads += 1
            await asyncio.sleep(READ_PAUSE)

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=REQUEST_TIMEOUT) as http:
        async with asyncio.timeout(DEADLINE):
            submitting = asyncio.gather(*(client(http) for _ in range(CLIENTS)))
            await asyncio.gather(submitting, reader(http, submitting))
    outcome.seconds = time.perf_counter() - started
    return outcome


def stored_markers(url: str) -> Counter[str]:
    """Every stored attempt's marker, read back page by page through the API."""
    seen: Counter[str] = Counter()
    with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT) as http:
        page = 1
        while True:
            body = http.get("/v1/attempts", params={"page": page, "per_page": 100}).json()
            seen.update(attempt["text"].split(" ", 1)[0] for attempt in body["attempts"])
            if page >= body["total_pages"]:
                return seen
            page += 1


def check(url: str, item_ids: list[int], outcome: Outcome, log: Path) -> None:
    server_log = log.read_text(errors="replace")
    assert not outcome.failures, (
        f"{len(outcome.failures)} failed submissions, e.g. {outcome.failures[:5]};"
        f" 'database is locked' in server log: {server_log.count('database is locked')}"
    )
    assert "database is locked" not in server_log
    assert outcome.reads > 10, "the reader hardly ran while the attempts were submitted"
    created = outcome.created
    assert len(created) == ATTEMPTS
    assert all(body["text"] == attempt_text(int(key[6:])) for key, body in created.items())
    assert len({body["id"] for body in created.values()}) == ATTEMPTS

    listing = httpx.get(f"{url}/v1/attempts", params={"per_page": 1}).json()
    assert listing["total"] == ATTEMPTS
    stored = stored_markers(url)
    assert set(stored) == set(created), "stored attempts differ from those acknowledged"
    assert set(stored.values()) == {1}, "some attempt was stored more than once"

    per_item = Counter(body["item_id"] for body in created.values())
    totals: dict[int, int] = {}
    for item_id in item_ids:
        response = httpx.get(f"{url}/v1/stats/items/{item_id}")
        assert response.status_code == 200, response.text
        totals[item_id] = response.json()["attempts_count"]
    assert totals == dict(per_item)
    assert sum(totals.values()) == ATTEMPTS

    percentages = [body["percentage"] for body in created.values()]
    summary = httpx.get(f"{url}/v1/stats/summary").json()
    assert summary["total_attempts"] == ATTEMPTS
    assert summary["unique_items_practiced"] == ITEMS
    assert summary["average_score"] == round(sum(percentages) / ATTEMPTS, 2)
    assert summary["best_score"] == max(percentages)
    assert summary["worst_score"] == min(percentages)


def run_load(workdir: Path, database_url: str) -> None:
    env = {"TTS_PROVIDER": "fake", "DATABASE_URL": database_url, "LOG_LEVEL": "warning"}
    with ServerProcess(workdir, env) as server:
        item_ids = create_items(server.url)
        outcome = asyncio.run(submit_all(server.url, item_ids))
        print(
            f"\n{ATTEMPTS:,} attempts from {CLIENTS} clients in {outcome.seconds:.1f} s"
            f" ({ATTEMPTS / outcome.seconds:,.0f}/s), {outcome.reads} list and item reads beside"
        )
        check(server.url, item_ids, outcome, server.log)


def test_sqlite_stores_every_concurrent_attempt_once(tmp_path: Path) -> None:
    run_load(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'load.db'}")


def test_postgres_stores_every_concurrent_attempt_once(
    tmp_path: Path, fresh_postgres_url: str
) -> None:
    run_load(tmp_path, fresh_postgres_url)
