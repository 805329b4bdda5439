"""Order of the fuzz tests: DELETE operations after the others, the volume check last."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def _rank(item: pytest.Item) -> int:
    if item.name == "test_fuzz_volume_and_reach":
        return 2
    # Generated ids hit the seeded rows as well (small ids are likely), and a deleted item
    # would leave the operations fuzzed after it nothing but 404s.
    if item.name.startswith("test_openapi_fuzz[DELETE "):
        return 1
    return 0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    fuzz = [item for item in items if item.path.parent == HERE]
    if not fuzz:
        return
    first = items.index(fuzz[0])
    others = [item for item in items if item not in fuzz]
    ordered = sorted(fuzz, key=_rank)  # stable: schema order within a rank
    items[:] = others[:first] + ordered + others[first:]
