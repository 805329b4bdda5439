"""Item list filters and sorts (API §8)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from domain.errors import BadRequestError, InvalidInputError
from domain.items import TtsStatus

MAX_TAG_FILTERS = 20


class ItemSort(StrEnum):
    CREATED_DESC = "created_at.desc"
    CREATED_ASC = "created_at.asc"
    DIFFICULTY_ASC = "difficulty.asc"
    DIFFICULTY_DESC = "difficulty.desc"

    @classmethod
    def parse(cls, raw: str) -> ItemSort:
        try:
            return cls(raw)
        except ValueError:
            choices = "created_at.asc, created_at.desc, difficulty.asc, difficulty.desc"
            raise BadRequestError(f"Invalid sort parameter. Must be one of: {choices}") from None


@dataclass(frozen=True, slots=True)
class ItemFilter:
    """All optional; `tags` and `q` are already folded for matching."""

    locale: str | None = None
    tags: tuple[str, ...] = ()
    difficulty_min: int | None = None
    difficulty_max: int | None = None
    practiced: bool | None = None
    q: str | None = None
    tts_status: TtsStatus | None = None


_RANGE = re.compile(r"^\s*([0-9]+)\s*(?:\.\.\s*([0-9]+)\s*)?$")


def parse_difficulty_filter(raw: str) -> tuple[int, int]:
    """`N` or `A..B` with 1 <= A <= B <= 5; spaces around numbers tolerated."""
    match = _RANGE.match(raw)
    if match:
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) is not None else low
        if 1 <= low <= high <= 5:
            return low, high
    raise InvalidInputError.field(
        "difficulty", "Invalid difficulty filter. Use N or A..B with 1 <= A <= B <= 5"
    )
