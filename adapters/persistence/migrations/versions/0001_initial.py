"""Initial schema: items, item tags, attempts, preset tags, audio metadata (API §12).

Revision ID: 0001
Revises:
Create Date: 2026-11-24 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Types are spelled out rather than imported from records.py: a revision must keep creating
# exactly what it created when it was written, whatever the records look like later.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite AUTOINCREMENT needs INTEGER
TIMESTAMP = sa.DateTime(timezone=True)
FOLDED_TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "items",
        sa.Column("id", ID, sa.Identity(), nullable=False),
        sa.Column("locale", sa.String(35), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("difficulty", sa.Integer(), nullable=False),
        sa.Column("tts_status", sa.String(16), nullable=False),
        sa.Column("tts_error", sa.Text(), nullable=True),
        sa.Column("audio_key", sa.String(64), nullable=True),
        sa.Column("tts_provider", sa.String(32), nullable=False),
        sa.Column("tts_voice", sa.String(255), nullable=False),
        sa.Column("tts_generation", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("difficulty BETWEEN 1 AND 5", name=op.f("ck_items_difficulty_range")),
        sa.CheckConstraint(
            "tts_status IN ('pending', 'ready', 'failed')", name=op.f("ck_items_tts_status_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_items_created_at_id"), "items", ["created_at", "id"])
    op.create_index(op.f("ix_items_difficulty_id"), "items", ["difficulty", "id"])
    op.create_index(op.f("ix_items_locale"), "items", ["locale"])
    op.create_index(op.f("ix_items_tts_status"), "items", ["tts_status"])
    op.create_index(op.f("ix_items_audio_key"), "items", ["audio_key"])

    op.create_table(
        "item_tags",
        sa.Column("item_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("name_folded", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_item_tags_item_id_items"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("item_id", "position", name=op.f("pk_item_tags")),
        sa.UniqueConstraint(
            "item_id", "name_folded", name=op.f("uq_item_tags_item_id_name_folded")
        ),
    )
    op.create_index(
        op.f("ix_item_tags_name_folded_item_id"), "item_tags", ["name_folded", "item_id"]
    )

    op.create_table(
        "attempts",
        sa.Column("id", ID, sa.Identity(), nullable=False),
        sa.Column("item_id", ID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("percentage", sa.Integer(), nullable=False),
        sa.Column("wer", sa.Double(), nullable=False),
        sa.Column("words_ref", sa.Integer(), nullable=False),
        sa.Column("words_correct", sa.Integer(), nullable=False),
        sa.Column("substitutions", sa.Integer(), nullable=False),
        sa.Column("deletions", sa.Integer(), nullable=False),
        sa.Column("insertions", sa.Integer(), nullable=False),
        sa.Column("alignment", JSON_DOCUMENT, nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_attempts_item_id_items"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempts")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_attempts_item_id_created_at"), "attempts", ["item_id", "created_at"])
    op.create_index(op.f("ix_attempts_created_at"), "attempts", ["created_at"])

    op.create_table(
        "tags",
        sa.Column("id", ID, sa.Identity(), nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("name_folded", FOLDED_TEXT, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("name_folded", name=op.f("uq_tags_name_folded")),
        sqlite_autoincrement=True,
    )

    op.create_table(
        "audio_blobs",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sample_rate", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("written_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_audio_blobs")),
    )


def downgrade() -> None:
    op.drop_table("audio_blobs")
    op.drop_table("tags")
    op.drop_table("attempts")  # indexes go with their tables
    op.drop_table("item_tags")
    op.drop_table("items")
