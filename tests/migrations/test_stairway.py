"""Stairway: every revision upgrades, downgrades and upgrades again, on SQLite and Postgres."""

from __future__ import annotations

import asyncio
import sys
from asyncio.subprocess import PIPE
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from adapters.persistence import migrate
from adapters.persistence.engine import normalise_database_url
from adapters.persistence.records import Record

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]

EXPECTED_TABLES = {
    "items",
    "item_tags",
    "attempts",
    "tags",
    "audio_blobs",
    "item_attempt_stats",
    "daily_attempt_stats",
}


async def _inspect(url: str, look: Callable[[Connection], T]) -> T:
    engine = create_async_engine(normalise_database_url(url), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(look)
    finally:
        await engine.dispose()


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"sqlite_sequence"}


def _schema_differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Record.metadata))


def test_revisions_form_one_line_from_the_first() -> None:
    revisions = migrate.revisions()
    assert revisions and revisions[0] == "0001"
    assert len(set(revisions)) == len(revisions)


async def test_stairway(empty_database_url: str) -> None:
    url = empty_database_url
    previous = "base"
    for revision in migrate.revisions():
        await asyncio.to_thread(migrate.upgrade, url, revision)
        await asyncio.to_thread(migrate.downgrade, url, previous)
        await asyncio.to_thread(migrate.upgrade, url, revision)
        previous = revision

    assert await _inspect(url, _tables) == EXPECTED_TABLES | {"alembic_version"}
    # The records (what the code queries) and the migrations (what exists) agree.
    assert await _inspect(url, _schema_differences) == []

    await asyncio.to_thread(migrate.downgrade, url, "base")
    assert await _inspect(url, _tables) == {"alembic_version"}


async def test_processes_starting_together_migrate_one_at_a_time(fresh_postgres_url: str) -> None:
    """Three processes migrating one empty Postgres at once: all succeed, the schema is at head."""
    script = "import sys; from adapters.persistence.migrate import upgrade; upgrade(sys.argv[1])"
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, fresh_postgres_url, cwd=ROOT, stderr=PIPE
        )
        for _ in range(3)
    ]
    outcomes = await asyncio.wait_for(
        asyncio.gather(*(p.communicate() for p in processes)), timeout=120
    )
    assert [p.returncode for p in processes] == [0, 0, 0], [err for _, err in outcomes]
    assert await _inspect(fresh_postgres_url, _schema_differences) == []
