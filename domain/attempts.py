"""A learner's attempt at an item and its score (API §2.2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.errors import InvalidInputError
from domain.scoring import Score

MAX_ATTEMPT_TEXT_LENGTH = 10_000
MAX_DURATION_MS = 86_400_000


@dataclass(slots=True)
class Attempt:
    item_id: int
    text: str
    score: Score
    created_at: datetime
    duration_ms: int | None = None
    id: int | None = None


def validate_duration(duration_ms: int | None) -> int | None:
    if duration_ms is not None and not 0 <= duration_ms <= MAX_DURATION_MS:
        raise InvalidInputError.field("duration_ms", "Duration must be between 0 and 86400000")
    return duration_ms
