"""Item request and response bodies (API §2.1, §2.3, §3.2–3.9)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from domain.items import MAX_TEXT_LENGTH, Item
from domain.pages import Page
from entrypoints.http.schemas.common import Schema, Timestamp, TtsStatusName, timestamp

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT_LENGTH)]
Difficulty = Annotated[int, msgspec.Meta(ge=1, le=5)]


class ItemCreate(Schema):
    locale: str
    text: Text
    difficulty: Difficulty | None = None
    tags: list[str] | None = None


class ItemBulkCreate(Schema):
    items: Annotated[list[ItemCreate], msgspec.Meta(min_length=1, max_length=100)]


class ItemTagsUpdate(Schema):
    tags: list[str] = msgspec.field(default_factory=list)


class ItemDifficultyUpdate(Schema):
    difficulty: Difficulty


class ItemRead(Schema):
    id: int
    locale: str
    text: str
    difficulty: int
    tags: list[str]
    tts_status: TtsStatusName
    created_at: Timestamp
    updated_at: Timestamp
    practiced: bool
    audio_url: str | None
    tts_error: str | None

    @classmethod
    def of(cls, item: Item) -> ItemRead:
        assert item.id is not None
        return cls(
            id=item.id,
            locale=item.locale,
            text=item.text,
            difficulty=item.difficulty,
            tags=list(item.tags),
            tts_status=item.tts_status.value,
            created_at=timestamp(item.created_at),
            updated_at=timestamp(item.updated_at),
            practiced=item.practiced,
            audio_url=item.audio_url,
            tts_error=item.tts_error,
        )


class FailedItem(Schema):
    data: dict[str, Any]
    error: str


class ItemBulkRead(Schema):
    created_items: list[ItemRead]
    total_created: int
    failed_items: list[FailedItem]
    total_failed: int
    submitted_at: Timestamp


class ItemPage(Schema):
    items: list[ItemRead]
    total: int
    page: int
    per_page: int
    total_pages: int

    @classmethod
    def of(cls, page: Page[Item]) -> ItemPage:
        return cls(
            items=[ItemRead.of(i) for i in page.rows],
            total=page.total,
            page=page.request.page,
            per_page=page.request.per_page,
            total_pages=page.total_pages,
        )


class ItemTagsRead(Schema):
    item_id: int
    operation: str
    previous_tags: list[str]
    current_tags: list[str]
    updated_at: Timestamp
    message: str


class ItemDifficultyRead(Schema):
    item_id: int
    previous_difficulty: int
    current_difficulty: int
    updated_at: Timestamp
    message: str


class TtsStatusRead(Schema):
    item_id: int
    text: str
    tts_status: TtsStatusName
    created_at: Timestamp
    updated_at: Timestamp
    tts_error: str | None
    audio_url: str | None
    provider: str
    voice: str
    duration_seconds: float | None

    @classmethod
    def of(cls, item: Item) -> TtsStatusRead:
        assert item.id is not None
        text = item.text if len(item.text) <= 100 else item.text[:100] + "..."
        duration = item.audio_duration_ms if item.audio_url else None
        return cls(
            item_id=item.id,
            text=text,
            tts_status=item.tts_status.value,
            created_at=timestamp(item.created_at),
            updated_at=timestamp(item.updated_at),
            tts_error=item.tts_error,
            audio_url=item.audio_url,
            provider=item.tts_provider,
            voice=item.tts_voice,
            duration_seconds=round(duration / 1000, 3) if duration is not None else None,
        )
