"""The SQLite engine's connection set-up, with several processes' engines opening one file."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy import text

from adapters.persistence import migrate
from adapters.persistence.engine import MMAP_BYTES, create_engine

ENGINES = 12  # processes opening the database at once
ROUNDS = 30


def journal_mode(path: Path) -> str:
    with closing(sqlite3.connect(path)) as connection:
        return str(connection.execute("PRAGMA journal_mode").fetchone()[0])


async def first_statement(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return int((await connection.execute(text("SELECT count(*) FROM items"))).scalar_one())
    finally:
        await engine.dispose()


async def test_engines_opening_a_rollback_journal_file_together_all_connect(
    migrated_sqlite_url: str, tmp_path: Path
) -> None:
    # Each finds the file out of WAL mode and switches it. SQLite fails some colliding switches
    # at once, without waiting (about one round in 30 without the retry); all must connect.
    template = Path(migrated_sqlite_url.removeprefix("sqlite+aiosqlite:///"))
    with closing(sqlite3.connect(template)) as connection:
        assert connection.execute("PRAGMA journal_mode=DELETE").fetchone() == ("delete",)
    for round_ in range(ROUNDS):
        path = tmp_path / f"round-{round_}.db"
        shutil.copyfile(template, path)
        url = f"sqlite+aiosqlite:///{path}"
        counts = await asyncio.gather(*(first_statement(url) for _ in range(ENGINES)))
        assert counts == [0] * ENGINES
        assert journal_mode(path) == "wal"


def test_a_migrated_file_is_already_in_wal_mode(tmp_path: Path) -> None:
    # What the app's processes, opening a freshly migrated file together, rely on.
    path = tmp_path / "fresh.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    assert journal_mode(path) == "wal"


async def test_engine_connections_read_through_a_memory_map(migrated_sqlite_url: str) -> None:
    # A performance setting, but one a refactor would lose silently.
    engine = create_engine(migrated_sqlite_url)
    try:
        async with engine.connect() as connection:
            mmap = (await connection.execute(text("PRAGMA mmap_size"))).scalar_one()
            keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one()
    finally:
        await engine.dispose()
    assert (mmap, keys) == (MMAP_BYTES, 1)
