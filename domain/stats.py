"""Statistics over attempts (API §6): repositories aggregate, these rules round and shape."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from domain.attempts import Attempt
from domain.errors import InvalidWindowError

UNTIMED_ATTEMPT_MS = 30_000


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Inclusive bounds on `created_at`; either may be open."""

    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.since > self.until:
            raise InvalidWindowError()

    def contains(self, moment: datetime) -> bool:
        return (self.since is None or moment >= self.since) and (
            self.until is None or moment <= self.until
        )


@dataclass(frozen=True, slots=True)
class AttemptAggregate:
    """Exact aggregates of a set of attempts, as SQL computes them."""

    count: int = 0
    percentage_sum: int = 0
    percentage_min: int = 0
    percentage_max: int = 0
    wer_sum: float = 0.0
    wer_min: float = 0.0
    wer_max: float = 0.0
    timed_ms_sum: int = 0
    untimed_count: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None

    @property
    def average_percentage(self) -> float:
        return round(self.percentage_sum / self.count, 2) if self.count else 0.0

    @property
    def average_wer(self) -> float:
        return round(self.wer_sum / self.count, 4) if self.count else 0.0

    @property
    def practice_minutes(self) -> float:
        total_ms = self.timed_ms_sum + UNTIMED_ATTEMPT_MS * self.untimed_count
        return round(total_ms / 60_000, 1)


def aggregate_of(attempts: Sequence[Attempt]) -> AttemptAggregate:
    """The aggregate of these attempts; the sums add up in the order given."""
    if not attempts:
        return AttemptAggregate()
    percentages = [a.score.percentage for a in attempts]
    wers = [a.score.wer for a in attempts]
    moments = [a.created_at for a in attempts]
    return AttemptAggregate(
        count=len(attempts),
        percentage_sum=sum(percentages),
        percentage_min=min(percentages),
        percentage_max=max(percentages),
        wer_sum=sum(wers),
        wer_min=min(wers),
        wer_max=max(wers),
        timed_ms_sum=sum(a.duration_ms or 0 for a in attempts),
        untimed_count=sum(a.duration_ms is None for a in attempts),
        first_at=min(moments),
        last_at=max(moments),
    )


@dataclass(frozen=True, slots=True)
class Summary:
    aggregate: AttemptAggregate
    unique_items: int


@dataclass(frozen=True, slots=True)
class PracticeLogEntry:
    item_id: int
    text: str
    locale: str
    tags: list[str]
    difficulty: int
    aggregate: AttemptAggregate


@dataclass(frozen=True, slots=True)
class DayProgress:
    day: date
    aggregate: AttemptAggregate


def progress_days(today: date, days: int) -> list[date]:
    """Every UTC date from today − (days − 1) to today, ascending."""
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
