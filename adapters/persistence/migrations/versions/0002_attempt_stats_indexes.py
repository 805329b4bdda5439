"""Covering indexes for the statistics over attempts (API §6, §12).

Each index holds every column the aggregate queries read (`id` is the rowid / heap pointer), so
SQLite answers from the index alone instead of visiting wide rows (text, alignment JSON) one by
one: `(created_at, …)` for time windows and progress, `(item_id, created_at, …)` for the practice
log, item statistics and whole-table summaries (see bench/bench_stats.py).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AGGREGATED = ["percentage", "wer", "duration_ms"]


def upgrade() -> None:
    op.create_index(
        op.f("ix_attempts_created_at_item_id_percentage_wer_duration_ms"),
        "attempts",
        ["created_at", "item_id", *AGGREGATED],
    )
    op.create_index(
        op.f("ix_attempts_item_id_created_at_percentage_wer_duration_ms"),
        "attempts",
        ["item_id", "created_at", *AGGREGATED],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_attempts_item_id_created_at_percentage_wer_duration_ms"), table_name="attempts"
    )
    op.drop_index(
        op.f("ix_attempts_created_at_item_id_percentage_wer_duration_ms"), table_name="attempts"
    )
