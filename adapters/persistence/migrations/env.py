"""Alembic environment: runs revisions on an async engine (aiosqlite or asyncpg).

The URL comes from `config.attributes["database_url"]` (set by `adapters.persistence.migrate`),
else from the `sqlalchemy.url` option.
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from adapters.persistence.engine import (
    BUSY_TIMEOUT_PRAGMA,
    ensure_sqlite_directory,
    is_sqlite,
    normalise_database_url,
    use_wal,
)
from adapters.persistence.records import Record

config = context.config
target_metadata = Record.metadata


def _database_url() -> str:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL given to the migrations")
    return normalise_database_url(str(url))


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        # Batch operations are how SQLite alters tables (copy and move); on Postgres they are
        # plain ALTERs, so revisions written this way run on both.
        render_as_batch=True,
        compare_type=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    _configure(url=_database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


# Any fixed 64-bit number, the same in every process of the deployment.
_MIGRATION_LOCK = 0x4C57_4D49_4752  # "LWMIGR"


def _run_migrations(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Processes starting together (API replicas, `serve` and `worker`) migrate one at a
            # time: the first applies the revisions, the others wait here, then find the schema
            # at head. Held until this transaction ends; Postgres DDL is transactional.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        context.run_migrations()


def _prepare_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(BUSY_TIMEOUT_PRAGMA)  # `use_wal` below waits on it
        # Batch mode drops and recreates tables; with foreign keys enforced, dropping a parent
        # table would cascade-delete its children's rows. (SQLite's default, made explicit.)
        cursor.execute("PRAGMA foreign_keys=OFF")
        # A migrated file is in WAL mode already: the app's processes, opening it together
        # afterwards, find nothing to switch.
        use_wal(cursor)
    finally:
        cursor.close()


async def run_migrations_online() -> None:
    url = _database_url()
    engine = create_async_engine(url, poolclass=NullPool)
    if is_sqlite(url):
        ensure_sqlite_directory(url)
        event.listen(engine.sync_engine, "connect", _prepare_sqlite)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
