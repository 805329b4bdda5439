"""Statistics at scale (API §6, §12): not a test.

Builds a fresh SQLite database migrated to `SEED_REVISION`, seeds it with items and attempts
spread over the last 90 days (bulk `executemany` through the sync sqlite3 module), migrates it to
head (which fills the statistics rollups from the seeded attempts, as upgrading a populated
database does), then times the statistics use cases through the real SQL repositories and
services (no HTTP): median of `--runs` calls each after one warm-up call. Goal: every median under
50 ms. The write paths that keep the rollups exact are timed too, in transactions rolled back.

    .venv/bin/python bench/bench_stats.py [--items 10000] [--attempts 1000000] [--runs 20]
        [--database PATH] [--explain]

`--database` keeps the file (migrated to head on every run, seeded only when new);
`--explain` prints the SQLite query plan of every statement the timed calls run.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

try:
    from adapters.clock import SystemClock
except ModuleNotFoundError:  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from adapters.clock import SystemClock

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package
from seed import SEED_REVISION, analyze, seed  # shared with run_bench.py

from adapters.persistence.engine import create_engine
from adapters.persistence.migrate import upgrade
from adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from application.attempts import AttemptService
from application.stats import StatsService
from domain.attempts import Attempt
from domain.pages import PageRequest
from domain.scoring import score
from domain.stats import TimeWindow

GOAL_MS = 50.0


def busiest_item(path: Path) -> int:
    connection = sqlite3.connect(path)
    try:
        row = connection.execute(
            "SELECT item_id FROM attempts GROUP BY item_id ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
        return int(row[0])
    finally:
        connection.close()


async def median_ms(call: Callable[[], Awaitable[object]], runs: int) -> float:
    await call()  # warm-up: connection, statement cache, page cache
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


async def measure(path: Path, runs: int, explain: bool) -> list[tuple[str, float]]:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    statements: list[tuple[str, Any]] = []
    if explain:

        def remember(_conn: Any, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
            statements.append((sql, params))

        event.listen(engine.sync_engine, "before_cursor_execute", remember)

    uow = SqlUnitOfWorkFactory(engine)
    clock = SystemClock()
    stats = StatsService(uow=uow, clock=clock)
    attempts = AttemptService(uow=uow, clock=clock)
    item_id = busiest_item(path)
    now = clock.now()
    week = TimeWindow(since=now - timedelta(days=7))
    # Bounded on both sides: items practised before and after it need a look at their attempts.
    month = TimeWindow(since=now - timedelta(days=60), until=now - timedelta(days=30))
    last_page = (await stats.practice_log(TimeWindow(), PageRequest(1, 20))).total_pages
    item = await stats.item(item_id)
    attempt = Attempt(
        item_id=item_id,
        text="mina asun helsingisa",
        score=score(item.text, "mina asun helsingisa", "fi"),
        created_at=now,
        duration_ms=4_200,
    )

    async def add_attempt() -> None:  # rolled back: the data set stays as seeded
        async with uow() as unit:
            await unit.attempts.add(attempt)

    async def delete_item() -> None:
        async with uow() as unit:
            await unit.items.delete(item_id)

    cases: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("summary, no window", lambda: stats.summary(TimeWindow())),
        ("summary, last 7 days", lambda: stats.summary(week)),
        ("summary, 60 to 30 days ago", lambda: stats.summary(month)),
        ("practice log, page 1", lambda: stats.practice_log(TimeWindow(), PageRequest(1, 20))),
        (
            f"practice log, page {last_page}",
            lambda: stats.practice_log(TimeWindow(), PageRequest(last_page, 20)),
        ),
        ("practice log, 7 days, page 1", lambda: stats.practice_log(week, PageRequest(1, 20))),
        (
            "practice log, 60 to 30 days ago, page 1",
            lambda: stats.practice_log(month, PageRequest(1, 20)),
        ),
        (f"item stats (item {item_id})", lambda: stats.item(item_id)),
        ("progress, 30 days, all items", lambda: stats.progress(30)),
        ("progress, 365 days, all items", lambda: stats.progress(365)),
        ("progress, 30 days, one item", lambda: stats.progress(30, item_id)),
        ("attempts list, page 1", lambda: attempts.list(None, TimeWindow(), PageRequest())),
        ("attempts list, one item", lambda: attempts.list(item_id, TimeWindow(), PageRequest())),
        ("add attempt (rolled back)", add_attempt),
        (f"delete item {item_id} (rolled back)", delete_item),
    ]
    results = []
    try:
        for name, call in cases:
            statements.clear()
            results.append((name, await median_ms(call, runs)))
            if explain:
                await print_plans(path, name, statements)
    finally:
        await engine.dispose()
    return results


async def print_plans(path: Path, name: str, statements: list[tuple[str, Any]]) -> None:
    connection = sqlite3.connect(path)
    try:
        print(f"\n== {name}")
        seen: set[str] = set()
        for sql, params in statements:
            if sql in seen or not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            seen.add(sql)
            print(" ".join(sql.split()))
            for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", params):
                print("   ", row[-1])
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database", type=Path, help="keep the database here (reused if present)")
    parser.add_argument("--explain", action="store_true", help="print query plans")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        path = args.database or Path(scratch) / "bench.db"
        url = f"sqlite+aiosqlite:///{path}"
        if not path.exists():
            upgrade(url, SEED_REVISION)
            start = time.perf_counter()
            seed(path, args.items, args.attempts)
            analyze(path)
            print(
                f"seeded {args.items:,} items and {args.attempts:,} attempts"
                f" in {time.perf_counter() - start:.1f} s ({path.stat().st_size / 2**20:.0f} MiB)"
            )
        start = time.perf_counter()
        upgrade(url)  # a kept database gets new revisions too
        print(f"migrated to head in {time.perf_counter() - start:.1f} s")
        results = asyncio.run(measure(path, args.runs, args.explain))

    width = max(len(name) for name, _ in results)
    print(f"\n{'use case':<{width}}  median ms  goal {GOAL_MS:.0f} ms")
    for name, ms in results:
        print(f"{name:<{width}}  {ms:9.2f}  {'ok' if ms < GOAL_MS else 'MISSED'}")


if __name__ == "__main__":
    main()
