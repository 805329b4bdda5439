"""Statistics bodies (API §3.16–3.19, §6). Field names differ between endpoints on purpose:
they are kept from the original API."""

from __future__ import annotations

from application.stats import ItemStats
from domain.pages import Page
from domain.stats import DayProgress, PracticeLogEntry, Summary
from entrypoints.http.schemas.common import (
    CalendarDate,
    Percentage,
    Schema,
    Timestamp,
    WordErrorRate,
    timestamp,
)


class SummaryRead(Schema):
    total_attempts: int
    unique_items_practiced: int
    average_score: float
    best_score: Percentage
    worst_score: Percentage
    total_practice_time_minutes: float
    average_wer: WordErrorRate

    @classmethod
    def of(cls, summary: Summary) -> SummaryRead:
        aggregate = summary.aggregate
        return cls(
            total_attempts=aggregate.count,
            unique_items_practiced=summary.unique_items,
            average_score=aggregate.average_percentage,
            best_score=aggregate.percentage_max,
            worst_score=aggregate.percentage_min,
            total_practice_time_minutes=aggregate.practice_minutes,
            average_wer=aggregate.average_wer,
        )


class PracticeLogEntryRead(Schema):
    item_id: int
    text: str
    locale: str
    tags: list[str]
    difficulty: int
    attempt_count: int
    first_attempt_at: Timestamp
    last_practiced_at: Timestamp
    average_score: float
    best_score: Percentage
    worst_score: Percentage
    avg_wer: WordErrorRate

    @classmethod
    def of(cls, entry: PracticeLogEntry) -> PracticeLogEntryRead:
        aggregate = entry.aggregate
        # An entry exists only for an item with attempts in the window.
        assert aggregate.first_at is not None
        assert aggregate.last_at is not None
        return cls(
            item_id=entry.item_id,
            text=entry.text,
            locale=entry.locale,
            tags=list(entry.tags),
            difficulty=entry.difficulty,
            attempt_count=aggregate.count,
            first_attempt_at=timestamp(aggregate.first_at),
            last_practiced_at=timestamp(aggregate.last_at),
            average_score=aggregate.average_percentage,
            best_score=aggregate.percentage_max,
            worst_score=aggregate.percentage_min,
            avg_wer=aggregate.average_wer,
        )


class PracticeLogPage(Schema):
    practice_log: list[PracticeLogEntryRead]
    total: int
    page: int
    per_page: int
    total_pages: int

    @classmethod
    def of(cls, page: Page[PracticeLogEntry]) -> PracticeLogPage:
        return cls(
            practice_log=[PracticeLogEntryRead.of(e) for e in page.rows],
            total=page.total,
            page=page.request.page,
            per_page=page.request.per_page,
            total_pages=page.total_pages,
        )


class ItemStatsRead(Schema):
    item_id: int
    text: str
    attempts_count: int
    first_attempt_at: Timestamp | None
    last_attempt_at: Timestamp | None
    avg_percentage: float
    best_percentage: Percentage
    worst_percentage: Percentage
    avg_wer: WordErrorRate
    best_wer: WordErrorRate
    worst_wer: WordErrorRate

    @classmethod
    def of(cls, stats: ItemStats) -> ItemStatsRead:
        aggregate = stats.aggregate
        return cls(
            item_id=stats.item_id,
            text=stats.text,
            attempts_count=aggregate.count,
            first_attempt_at=timestamp(aggregate.first_at) if aggregate.first_at else None,
            last_attempt_at=timestamp(aggregate.last_at) if aggregate.last_at else None,
            avg_percentage=aggregate.average_percentage,
            best_percentage=aggregate.percentage_max,
            worst_percentage=aggregate.percentage_min,
            avg_wer=aggregate.average_wer,
            best_wer=aggregate.wer_min,  # unrounded (API §6.3)
            worst_wer=aggregate.wer_max,
        )


class DayRead(Schema):
    date: CalendarDate
    attempts: int
    avg_percentage: float
    avg_wer: WordErrorRate

    @classmethod
    def of(cls, day: DayProgress) -> DayRead:
        return cls(
            date=day.day.isoformat(),
            attempts=day.aggregate.count,
            avg_percentage=day.aggregate.average_percentage,
            avg_wer=day.aggregate.average_wer,
        )


class ProgressRead(Schema):
    progress: list[DayRead]
