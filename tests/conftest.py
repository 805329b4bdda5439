"""Shared fixtures. Each group below belongs to one concern; add new groups, keep them apart."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from adapters.persistence import migrate
from adapters.persistence.records import Record

# Set when pytest loads this file, before any test module imports google-auth: never probe the
# cloud metadata server from tests.
os.environ.setdefault("NO_GCE_CHECK", "true")

# --------------------------------------------------------------------------------------------
# Databases: a Postgres server (TEST_POSTGRES_URL) and SQLite files
# --------------------------------------------------------------------------------------------

DEFAULT_TEST_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"

T = TypeVar("T")


def run_outside_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a private loop in another thread.

    Works from sync fixtures whether or not the test's event loop is running in this thread.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@dataclass(frozen=True)
class PostgresServer:
    """A reachable server; `url` names the database used for CREATE/DROP DATABASE."""

    url: str

    def _dsn(self, database: str | None = None) -> str:
        url = make_url(self.url).set(drivername="postgresql")
        if database is not None:
            url = url.set(database=database)
        return url.render_as_string(hide_password=False)

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"lw_test_{uuid.uuid4().hex[:12]}"
        run_outside_loop(self.execute(f'CREATE DATABASE "{name}"'))
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        # FORCE: a test that failed half-way may still hold connections.
        run_outside_loop(self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    async def execute(self, statement: str, database: str | None = None) -> None:
        """Run one statement, in the admin database unless another is named."""
        connection = await asyncpg.connect(self._dsn(database), timeout=5)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    """Skips Postgres tests when no server answers, except in CI, where that is a failure."""
    server = PostgresServer(os.environ.get("TEST_POSTGRES_URL", DEFAULT_TEST_POSTGRES_URL))
    try:
        run_outside_loop(server.execute("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        shown = make_url(server.url).render_as_string(hide_password=True)
        message = f"Postgres not reachable at {shown}: {exc!r}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return server


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh database for the whole test session, dropped at the end."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture
def fresh_postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh database for one test (migration tests that need an empty schema)."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A not-yet-created SQLite file under the test's tmp_path (nothing migrated)."""
    return f"sqlite+aiosqlite:///{tmp_path / 'db' / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request: pytest.FixtureRequest) -> str:
    """A database with nothing migrated, private to the test (migration tests)."""
    fixture = "sqlite_url" if request.param == "sqlite" else "fresh_postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


def _in_thread(function: Callable[..., T], *args: Any) -> T:
    # migrate.* run their own event loop, so never on the thread of a running test loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()


@pytest.fixture(scope="session")
def _migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    _in_thread(migrate.upgrade, f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def migrated_sqlite_url(_migrated_sqlite_template: Path, tmp_path: Path) -> str:
    """A SQLite file at the head revision, private to the test (a copy of a migrated template)."""
    path = tmp_path / "migrated.db"
    shutil.copyfile(_migrated_sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="session")
def _migrated_postgres_url(postgres_url: str) -> str:
    _in_thread(migrate.upgrade, postgres_url)
    return postgres_url


@pytest.fixture
def migrated_postgres_url(_migrated_postgres_url: str, postgres_server: PostgresServer) -> str:
    """The session's Postgres database at head, emptied before the test (ids restart at 1)."""
    tables = ", ".join(f'"{table.name}"' for table in Record.metadata.sorted_tables)
    run_outside_loop(
        postgres_server.execute(
            f"TRUNCATE {tables} RESTART IDENTITY CASCADE",
            database=make_url(_migrated_postgres_url).database,
        )
    )
    return _migrated_postgres_url
