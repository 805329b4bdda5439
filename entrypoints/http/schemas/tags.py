"""Preset tag bodies (API §2.4, §3.20–3.22)."""

from __future__ import annotations

from domain.tags import Tag
from entrypoints.http.schemas.common import Schema, Timestamp, timestamp


class TagCreate(Schema):
    name: str


class TagRead(Schema):
    id: int
    name: str
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, tag: Tag) -> TagRead:
        assert tag.id is not None
        return cls(tag.id, tag.name, timestamp(tag.created_at), timestamp(tag.updated_at))


class TagList(Schema):
    tags: list[TagRead]
    total: int
