"""Database records (API §12). Records are not entities: repositories map them explicitly.

A plain `DeclarativeBase` with its own `MetaData` is used rather than advanced-alchemy's base
classes: those share one process-wide registry, add an `sa_orm_sentinel` column and audit
timestamps taken from the database clock, while our timestamps come from the domain's Clock and
the schema must match the hand-written migration exactly. advanced-alchemy's column types are
used where they earn their place (UTC timestamps, 64-bit identity ids).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from advanced_alchemy.types.identity import BigIntIdentity
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    Double,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Ordering by a folded name must agree between SQLite (BINARY = UTF-8 bytes), Postgres and Python
# (code points): the "C" collation compares bytes, which for UTF-8 is code-point order.
FoldedText = Text().with_variant(Text(collation="C"), "postgresql")

# advanced-alchemy 1.12's `JsonB` attaches an Oracle schema rule through
# `sqlalchemy.util.portable_instancemethod`, which SQLAlchemy 2.1 removed; the same variant is
# spelled out here instead.
JsonDocument = JSON().with_variant(JSONB(), "postgresql")


# Our own convention (not advanced-alchemy's) so constraint names, which the migrations spell out,
# cannot drift with a library upgrade.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Record(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _id_column() -> Mapped[int]:
    # INTEGER PRIMARY KEY AUTOINCREMENT on SQLite (with sqlite_autoincrement), BIGINT identity on
    # Postgres: in both, ids are never handed out twice, even after deleting the newest row.
    return mapped_column(BigIntIdentity, Identity(), primary_key=True)


class ItemRecord(Record):
    __tablename__ = "items"
    __table_args__: Any = (
        CheckConstraint("difficulty BETWEEN 1 AND 5", name="difficulty_range"),
        CheckConstraint("tts_status IN ('pending', 'ready', 'failed')", name="tts_status_known"),
        Index(None, "created_at", "id"),
        Index(None, "difficulty", "id"),
        # Migration 0005: the list's two orders within a locale; a locale and difficulty range
        # is counted from the first alone. ix_items_locale (on the column) stays for a locale
        # alone.
        Index(None, "locale", "difficulty", "id"),
        Index(None, "locale", "created_at", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = _id_column()
    locale: Mapped[str] = mapped_column(String(35), index=True)
    text: Mapped[str] = mapped_column(Text)
    search_text: Mapped[str] = mapped_column(Text)  # domain.items.fold(text)
    difficulty: Mapped[int] = mapped_column(Integer)
    tts_status: Mapped[str] = mapped_column(String(16), index=True)
    tts_error: Mapped[str | None] = mapped_column(Text)
    audio_key: Mapped[str | None] = mapped_column(String(64), index=True)
    tts_provider: Mapped[str] = mapped_column(String(32))
    tts_voice: Mapped[str] = mapped_column(String(255))
    tts_generation: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC)


class ItemTagRecord(Record):
    __tablename__ = "item_tags"
    __table_args__: Any = (
        UniqueConstraint("item_id", "name_folded"),
        Index(None, "name_folded", "item_id"),
        # Migration 0004: a tag filter's count and page, with locale and difficulty, read only
        # this index.
        Index(None, "name_folded", "locale", "difficulty", "created_at", "item_id"),
    )

    item_id: Mapped[int] = mapped_column(
        BigIntIdentity, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    name_folded: Mapped[str] = mapped_column(Text)  # str.casefold() of name
    # Copies of the item's columns, written with every tag row (only difficulty ever changes).
    locale: Mapped[str] = mapped_column(String(35))
    difficulty: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC)


class AttemptRecord(Record):
    __tablename__ = "attempts"
    __table_args__: Any = (
        Index(None, "item_id", "created_at"),
        # Covering, for the statistics of a time window (migration 0002): they read only this.
        # Every attempt written updates each index; 0006 dropped two that no longer earned it.
        Index(None, "created_at", "item_id", "percentage", "wer", "duration_ms"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = _id_column()
    item_id: Mapped[int] = mapped_column(BigIntIdentity, ForeignKey("items.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    percentage: Mapped[int] = mapped_column(Integer)
    wer: Mapped[float] = mapped_column(Double)
    words_ref: Mapped[int] = mapped_column(Integer)
    words_correct: Mapped[int] = mapped_column(Integer)
    substitutions: Mapped[int] = mapped_column(Integer)
    deletions: Mapped[int] = mapped_column(Integer)
    insertions: Mapped[int] = mapped_column(Integer)
    # [{"op": "equal", "ref": "Minä", "hyp": "mina"}, ...]
    alignment: Mapped[list[dict[str, str | None]]] = mapped_column(JsonDocument)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC)


class _AttemptRollup:
    """Exact aggregates of a set of attempts, kept up to date with every write (migration 0003).

    Counts and sums are exact (integers) or double sums; min/max/first/last are the extremes of
    the set. The statistics read these instead of aggregating the attempts themselves.
    """

    attempt_count: Mapped[int] = mapped_column(Integer)
    percentage_sum: Mapped[int] = mapped_column(BigInteger)
    percentage_min: Mapped[int] = mapped_column(Integer)
    percentage_max: Mapped[int] = mapped_column(Integer)
    wer_sum: Mapped[float] = mapped_column(Double)
    wer_min: Mapped[float] = mapped_column(Double)
    wer_max: Mapped[float] = mapped_column(Double)
    timed_ms_sum: Mapped[int] = mapped_column(BigInteger)  # Σ duration_ms where known
    untimed_count: Mapped[int] = mapped_column(Integer)  # attempts without duration_ms
    first_at: Mapped[datetime] = mapped_column(DateTimeUTC)
    last_at: Mapped[datetime] = mapped_column(DateTimeUTC)


class ItemAttemptStatsRecord(_AttemptRollup, Record):
    """All attempts of one item; a row exists while the item has attempts."""

    __tablename__ = "item_attempt_stats"
    __table_args__: Any = (Index(None, "last_at", "item_id"),)  # the practice log's order

    item_id: Mapped[int] = mapped_column(
        BigIntIdentity,
        ForeignKey("items.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,  # the item's id, never generated here
    )


class DailyAttemptStatsRecord(_AttemptRollup, Record):
    """All attempts (of every item) whose created_at falls on one UTC date."""

    __tablename__ = "daily_attempt_stats"

    day: Mapped[date] = mapped_column(Date, primary_key=True)


class TagRecord(Record):
    __tablename__ = "tags"
    __table_args__: Any = (UniqueConstraint("name_folded"), {"sqlite_autoincrement": True})

    id: Mapped[int] = _id_column()
    name: Mapped[str] = mapped_column(String(50))
    name_folded: Mapped[str] = mapped_column(FoldedText)  # str.casefold() of the trimmed name
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC)


class AudioBlobRecord(Record):
    """Metadata of one stored audio file, keyed by its content address (API §9.2)."""

    __tablename__ = "audio_blobs"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sample_rate: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    written_at: Mapped[datetime] = mapped_column(DateTimeUTC)
