"""Bulk seeding of a benchmark SQLite database: items with tags, and attempts over 90 days.

Shared by the benchmarks (bench_stats.py, run_bench.py). Rows go in through the sync sqlite3
module with `executemany` (a million attempts in seconds), at `SEED_REVISION`, whose tables the
INSERTs below match; `create_database` then migrates to head, so later revisions run on the seeded
data exactly as they would when upgrading a populated database (0003 fills the statistics rollups
from the attempts this way).

    from seed import create_database
    create_database(Path("bench.db"), items=100_000, attempts=1_000_000)
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

try:
    from adapters.persistence.migrate import revisions, upgrade
except ModuleNotFoundError:  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from adapters.persistence.migrate import revisions, upgrade

from domain.items import fold

# The INSERTs below match the tables of this revision; later revisions run on the seeded data.
SEED_REVISION = "0002"
SPREAD = timedelta(days=90)
BATCH = 50_000
SEED = 20261124
TAGS = ["greetings", "basics", "travel", "food", "verbs", "numbers", "work", "family"]
# (locale, sentence): most items are Finnish, as in the original deployment.
LOCALES = [
    ("fi", "minä asun Helsingissä."),
    ("fi", "minä asun Helsingissä."),
    ("fi", "minä asun Helsingissä."),
    ("en-US", "I live in Helsinki."),
    ("sv", "jag bor i Helsingfors."),
]
ALIGNMENT = json.dumps(
    [
        {"op": "equal", "ref": "Minä", "hyp": "mina"},
        {"op": "equal", "ref": "asun", "hyp": "asun"},
        {"op": "substitute", "ref": "Helsingissä", "hyp": "helsingisa"},
    ],
    ensure_ascii=False,
)


def stored(moment: datetime) -> str:
    """How `DateTimeUTC` stores a timestamp on SQLite (naive UTC text, microseconds)."""
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    return naive.isoformat(sep=" ", timespec="microseconds")


def item_rows(count: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    """Ready items 1..count, created one second apart before the attempts' 90 days."""
    start = now - SPREAD - timedelta(days=1) - timedelta(seconds=count)
    folded = {sentence: fold(sentence) for _, sentence in LOCALES}
    for n in range(1, count + 1):
        # Locale by blocks of five, difficulty cycling within them: the two are independent.
        locale, sentence = LOCALES[n // 5 % len(LOCALES)]
        created = stored(start + timedelta(seconds=n))
        yield (
            locale,
            f"Lause numero {n}: {sentence}",
            f"lause numero {n}: {folded[sentence]}",  # = fold(text): the prefix is plain ASCII
            1 + n % 5,
            "ready",
            None,
            None,
            "fake",
            "fake-a",
            1,
            created,
            created,
        )


def tag_rows(count: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    """Zero to two tags per item."""
    for item_id in range(1, count + 1):
        for position, name in enumerate(rng.sample(TAGS, rng.randint(0, 2))):
            yield item_id, position, name, name.casefold()


def attempt_rows(
    count: int, items: int, now: datetime, rng: random.Random
) -> Iterator[tuple[Any, ...]]:
    """Attempts on random items, in created_at order, as they arrive in a real database."""
    span = SPREAD.total_seconds()
    offsets = sorted((rng.random() * span for _ in range(count)), reverse=True)
    naive_now = now.astimezone(UTC).replace(tzinfo=None)
    draw = rng.random  # random() scaled, not randint(): a million rows in a few seconds
    for offset in offsets:
        words = 1 + int(draw() * 12)
        errors = int(draw() * (words + 1))
        duration = int(draw() * 59_001) + 1_000
        yield (
            1 + int(draw() * items),
            "mina asun helsingisa",
            (200 * (words - errors) + words) // (2 * words),
            errors / words,
            words,
            words - errors,
            errors,
            0,
            0,
            ALIGNMENT,
            None if draw() < 0.2 else duration,
            (naive_now - timedelta(seconds=offset)).isoformat(sep=" ", timespec="microseconds"),
        )


def batches(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def seed(path: Path, items: int, attempts: int) -> None:
    """Insert the rows into a database migrated to `SEED_REVISION` (not later: see above)."""
    rng = random.Random(SEED)
    now = datetime.now(UTC)
    connection = sqlite3.connect(path)
    try:
        # Bulk load only: no fsyncs. The migrated indexes are dropped for the load and created
        # again from their own stored SQL afterwards (a sort instead of a million random B-tree
        # inserts): the schema ends up exactly as migrated.
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-262144")
        indexes = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            " AND tbl_name IN ('items', 'item_tags', 'attempts')"
        ).fetchall()
        with connection:
            for name, _ in indexes:
                connection.execute(f'DROP INDEX "{name}"')
        with connection:
            connection.executemany(
                "INSERT INTO items (locale, text, search_text, difficulty, tts_status, tts_error,"
                " audio_key, tts_provider, tts_voice, tts_generation, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                item_rows(items, now),
            )
            connection.executemany(
                "INSERT INTO item_tags (item_id, position, name, name_folded) VALUES (?, ?, ?, ?)",
                tag_rows(items, rng),
            )
        for batch in batches(attempt_rows(attempts, items, now, rng)):
            with connection:
                connection.executemany(
                    "INSERT INTO attempts (item_id, text, percentage, wer, words_ref,"
                    " words_correct, substitutions, deletions, insertions, alignment, duration_ms,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    batch,
                )
        with connection:
            for _, sql in indexes:
                connection.execute(sql)
    finally:
        connection.close()


def analyze(path: Path) -> None:
    """Fresh planner statistics, as a long-running database would have."""
    connection = sqlite3.connect(path)
    try:
        connection.execute("ANALYZE")
    finally:
        connection.close()


def create_database(path: Path, items: int, attempts: int) -> None:
    """A new SQLite file at head holding `items` items and `attempts` attempts."""
    if path.exists():
        raise FileExistsError(path)
    url = f"sqlite+aiosqlite:///{path}"
    if SEED_REVISION not in revisions():
        raise RuntimeError(f"revision {SEED_REVISION} is gone: update SEED_REVISION and seed()")
    upgrade(url, SEED_REVISION)
    seed(path, items, attempts)
    upgrade(url)  # later revisions (rollups) on the seeded data
    analyze(path)
