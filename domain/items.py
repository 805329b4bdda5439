"""Dictation items: text, locale, difficulty, item tags and TTS state (API §2.1, §4, §7.1)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from domain.errors import InvalidInputError

MAX_TEXT_LENGTH = 10_000
MAX_TAGS = 20
MAX_TAG_LENGTH = 50
MIN_DIFFICULTY = 1
MAX_DIFFICULTY = 5


class TtsStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


@dataclass(slots=True)
class Item:
    locale: str
    text: str
    difficulty: int
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    tts_provider: str
    tts_voice: str
    tts_status: TtsStatus = TtsStatus.PENDING
    tts_error: str | None = None
    tts_generation: int = 1
    audio_key: str | None = None
    id: int | None = None
    # Read-side facts the repository fills in; never written back.
    practiced: bool = False
    audio_duration_ms: int | None = field(default=None)

    @property
    def audio_url(self) -> str | None:
        return f"/v1/items/{self.id}/audio" if self.tts_status is TtsStatus.READY else None


@dataclass(frozen=True, slots=True)
class ItemText:
    """What an attempt is scored against: an item's text and locale, which never change."""

    text: str
    locale: str


def validate_text(text: str, key: str = "text") -> str:
    """Text is stored as submitted; it must hold a visible character (length: at the edge)."""
    if not text.strip():
        raise InvalidInputError.field(key, "Text cannot be blank")
    return text


def _bucket(value: int, limits: tuple[int, int, int, int]) -> int:
    return 1 + sum(value > limit for limit in limits)


def infer_difficulty(text: str) -> int:
    """min(word bucket, char bucket) of API §4; chars exclude only U+0020."""
    words = len(text.split())
    chars = len(text) - text.count(" ")
    return min(_bucket(words, (6, 9, 12, 15)), _bucket(chars, (50, 80, 110, 140)))


def validate_difficulty(value: int, key: str = "difficulty") -> int:
    if not MIN_DIFFICULTY <= value <= MAX_DIFFICULTY:
        raise InvalidInputError.field(key, "Difficulty must be between 1 and 5")
    return value


def normalise_tags(raw: Iterable[str], key: str = "tags") -> list[str]:
    """Trim, reject empty/long, drop casefold duplicates (first spelling wins), cap at 20."""
    seen: set[str] = set()
    tags: list[str] = []
    for element in raw:
        tag = element.strip()
        if not tag:
            raise InvalidInputError.field(key, "Tags cannot be empty")
        if len(tag) > MAX_TAG_LENGTH:
            raise InvalidInputError.field(key, "Tag length cannot exceed 50 characters")
        folded = tag.casefold()
        if folded not in seen:
            seen.add(folded)
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise InvalidInputError.field(key, "Maximum 20 tags allowed")
    return tags


_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Search folding (API §8): casefold → NFKD → drop marks → NFC → collapse spaces → trim."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
    return _SPACES.sub(" ", unicodedata.normalize("NFC", stripped)).strip()
