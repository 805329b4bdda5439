"""Preset tags: a catalogue of names, unique case-insensitively (API §7.2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.errors import InvalidInputError

MAX_TAG_NAME_LENGTH = 50


@dataclass(slots=True)
class Tag:
    name: str
    created_at: datetime
    id: int | None = None

    @property
    def updated_at(self) -> datetime:
        # Tags cannot be renamed, so they are never updated.
        return self.created_at


def normalise_tag_name(raw: str) -> str:
    name = raw.strip()
    if not name:
        raise InvalidInputError.field("name", "Tag name cannot be empty")
    if len(name) > MAX_TAG_NAME_LENGTH:
        raise InvalidInputError.field("name", "Tag name cannot exceed 50 characters")
    return name
