"""What the composition root picks for the item lookup (entrypoints/container.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.memory import MemoryStore, MemoryUnitOfWorkFactory
from adapters.persistence.sqlite_lookup import SqliteItemLookup
from application.lookups import UnitOfWorkItemLookup
from entrypoints.container import choose_item_lookup


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///data/app.db", Path("data/app.db")),
        ("sqlite+aiosqlite:////srv/lw/app.db", Path("/srv/lw/app.db")),
    ],
)
def test_a_sqlite_file_is_read_inline(url: str, path: Path) -> None:
    lookup = choose_item_lookup(url, MemoryUnitOfWorkFactory(MemoryStore()))
    assert isinstance(lookup, SqliteItemLookup)
    assert lookup._path == path


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://lw@db/lastwhisper",
        "sqlite:///:memory:",
        "sqlite:///file:shared?mode=memory&cache=shared&uri=true",
    ],
)
def test_other_databases_are_read_through_a_unit_of_work(url: str) -> None:
    lookup = choose_item_lookup(url, MemoryUnitOfWorkFactory(MemoryStore()))
    assert isinstance(lookup, UnitOfWorkItemLookup)
