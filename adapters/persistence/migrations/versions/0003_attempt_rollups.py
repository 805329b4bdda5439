"""Rollups of attempts per item and per UTC date, maintained with every write (API §6, §12).

`item_attempt_stats` holds the aggregates of all attempts of one item, `daily_attempt_stats`
those of all attempts (every item) on one UTC date of `created_at`. The statistics read them
instead of aggregating up to millions of attempts (see bench/bench_stats.py). Both are filled
here from the existing attempts, so upgrading a populated database keeps the answers exact.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out, as in 0001: a revision keeps creating what it created when it was written.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)

# The UTC calendar date of attempts.created_at (stored as UTC text on SQLite, timestamptz on
# Postgres), as adapters.persistence.expressions.utc_date spells it.
UTC_DATE = {
    "sqlite": "date(created_at)",
    "postgresql": "CAST(created_at AT TIME ZONE 'UTC' AS DATE)",
}

AGGREGATE_COLUMNS = (
    "attempt_count, percentage_sum, percentage_min, percentage_max, wer_sum, wer_min, wer_max,"
    " timed_ms_sum, untimed_count, first_at, last_at"
)
AGGREGATES = (
    "count(*), sum(percentage), min(percentage), max(percentage), sum(wer), min(wer), max(wer),"
    " coalesce(sum(duration_ms), 0), count(*) - count(duration_ms), min(created_at),"
    " max(created_at)"
)


def _rollup_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("percentage_sum", sa.BigInteger(), nullable=False),
        sa.Column("percentage_min", sa.Integer(), nullable=False),
        sa.Column("percentage_max", sa.Integer(), nullable=False),
        sa.Column("wer_sum", sa.Double(), nullable=False),
        sa.Column("wer_min", sa.Double(), nullable=False),
        sa.Column("wer_max", sa.Double(), nullable=False),
        sa.Column("timed_ms_sum", sa.BigInteger(), nullable=False),
        sa.Column("untimed_count", sa.Integer(), nullable=False),
        sa.Column("first_at", TIMESTAMP, nullable=False),
        sa.Column("last_at", TIMESTAMP, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "item_attempt_stats",
        sa.Column("item_id", ID, autoincrement=False, nullable=False),
        *_rollup_columns(),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_item_attempt_stats_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_item_attempt_stats")),
    )
    op.create_index(
        op.f("ix_item_attempt_stats_last_at_item_id"), "item_attempt_stats", ["last_at", "item_id"]
    )
    op.create_table(
        "daily_attempt_stats",
        sa.Column("day", sa.Date(), nullable=False),
        *_rollup_columns(),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_daily_attempt_stats")),
    )

    # Backfill from the attempts already stored.
    day = UTC_DATE[op.get_context().dialect.name]
    op.execute(
        f"INSERT INTO item_attempt_stats (item_id, {AGGREGATE_COLUMNS})"
        f" SELECT item_id, {AGGREGATES} FROM attempts GROUP BY item_id"
    )
    op.execute(
        f"INSERT INTO daily_attempt_stats (day, {AGGREGATE_COLUMNS})"
        f" SELECT {day}, {AGGREGATES} FROM attempts GROUP BY {day}"
    )


def downgrade() -> None:
    op.drop_table("daily_attempt_stats")
    op.drop_table("item_attempt_stats")  # its index goes with it
