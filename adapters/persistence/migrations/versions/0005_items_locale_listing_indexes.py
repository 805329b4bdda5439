"""Locale filters of the item list served by indexes in both list orders (API §8, §12).

`GET /v1/items?locale=…&difficulty=A..B` (no tag) counted through ix_items_difficulty_id or
ix_items_locale, visiting every item of the range or of the locale (10-25 ms over 100,000
items). Two indexes now lead with locale, one per order of the list, as ix_items_difficulty_id
and ix_items_created_at_id do without a locale:

- `(locale, difficulty, id)`: the count of a locale and difficulty range from the index alone,
  and pages in difficulty order without a sort;
- `(locale, created_at, id)`: pages in created_at order without a sort (their difficulty is
  compared as `difficulty + 0`, checked on the rows read). Needed even though the page could
  walk ix_items_created_at_id: without statistics (no ANALYZE has run), or with none yet for a
  new index, SQLite takes any index on locale to be selective and reads and sorts every item of
  the locale for a page of 20 (35-70 ms over 100,000 items).

ix_items_locale stays: Postgres deduplicates its entries, so counting a locale alone reads far
less of it than of either new index (about 2.5 ms instead of 4.3 ms for 60,000 items). On SQLite
it also serves `locale = ?` alone best (narrowest entries; filters only the rows answer, as
`tts_status`, read the rows in rowid order), but SQLite breaks a tie between equally matching
indexes in favour of the one created last: it is created again after the new ones for that.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out, as in 0001: a revision keeps creating what it created when it was written.
INDEXES = {
    "ix_items_locale_difficulty_id": ["locale", "difficulty", "id"],
    "ix_items_locale_created_at_id": ["locale", "created_at", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(op.f(name), "items", columns)
    # The same index again, now the newest on items (see above).
    op.drop_index(op.f("ix_items_locale"), table_name="items")
    op.create_index(op.f("ix_items_locale"), "items", ["locale"])


def downgrade() -> None:
    # ix_items_locale stays as upgrade() left it: the same index, created later than in 0001.
    for name in reversed(INDEXES):
        op.drop_index(op.f(name), table_name="items")
