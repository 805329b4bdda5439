"""Two fewer indexes on attempts: each attempt written updated four (API §12).

Since the rollups (0003), the statistics read the attempts table only in time windows. Two of
its four indexes no longer earn their write:

- `(created_at)`: `(created_at, item_id, percentage, wer, duration_ms)` starts with it and
  serves every read by time, the aggregates of a window from the index alone;
- `(item_id, created_at, percentage, wer, duration_ms)`: it covered per-item aggregates over
  a window, which read a few rows per item; `(item_id, created_at)` finds them as fast and
  serves every read by item (lists, the practised flag, deletes).

Each attempt inserted updated four B-trees besides the table, two of them (the item-led ones) at
pages all over the file: the batch INSERT of POST /v1/attempts measured 40 → 30 µs per attempt.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out, as in 0001 and 0002: a revision keeps dropping what it dropped when it was written.
DROPPED = {
    "ix_attempts_created_at": ["created_at"],
    "ix_attempts_item_id_created_at_percentage_wer_duration_ms": [
        "item_id",
        "created_at",
        "percentage",
        "wer",
        "duration_ms",
    ],
}


def upgrade() -> None:
    for name in DROPPED:
        op.drop_index(op.f(name), table_name="attempts")


def downgrade() -> None:
    for name, columns in DROPPED.items():
        op.create_index(op.f(name), "attempts", columns)
