"""Tag filters of the item list answered from item_tags alone (API §7.3, §8, §12).

`GET /v1/items?tag=…&locale=…&difficulty=…` used to walk every item in the difficulty range and
probe its tags, then sort them. Each item_tags row now carries copies of its item's locale,
difficulty and created_at (written with every tag row; only difficulty ever changes), so one
index on `(name_folded, locale, difficulty, created_at, item_id)` yields the count and the sorted
page ids without visiting items (see bench/run_bench.py). Rows stored before this revision are
filled from their items here, in one UPDATE.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out, as in 0001: a revision keeps creating what it created when it was written.
COPIED: dict[str, sa.types.TypeEngine[Any]] = {
    "locale": sa.String(35),
    "difficulty": sa.Integer(),
    "created_at": sa.DateTime(timezone=True),
}


def upgrade() -> None:
    # Nullable until the existing rows are filled: SQLite cannot add a NOT NULL column without
    # a default, and a default would hide a tag row written without its item's values.
    for name, type_ in COPIED.items():
        op.add_column("item_tags", sa.Column(name, type_, nullable=True))
    # One set-based statement; row values with a subquery work on SQLite (3.15+) and Postgres.
    op.execute(
        "UPDATE item_tags SET (locale, difficulty, created_at) ="
        " (SELECT locale, difficulty, created_at FROM items WHERE items.id = item_tags.item_id)"
    )
    with op.batch_alter_table("item_tags") as batch:
        for name, type_ in COPIED.items():
            batch.alter_column(name, existing_type=type_, nullable=False)
    op.create_index(
        op.f("ix_item_tags_name_folded_locale_difficulty_created_at_item_id"),
        "item_tags",
        ["name_folded", "locale", "difficulty", "created_at", "item_id"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_item_tags_name_folded_locale_difficulty_created_at_item_id"),
        table_name="item_tags",
    )
    with op.batch_alter_table("item_tags") as batch:
        for name in reversed(COPIED):
            batch.drop_column(name)
