"""The tables as revisions 0001–0003 left them, for tests that insert data before a later
revision runs (only the columns those tests write). The records describe head, not these."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.items import Item, fold

ITEMS = sa.table(
    "items",
    sa.column("locale", sa.String),
    sa.column("text", sa.Text),
    sa.column("search_text", sa.Text),
    sa.column("difficulty", sa.Integer),
    sa.column("tts_status", sa.String),
    sa.column("tts_provider", sa.String),
    sa.column("tts_voice", sa.String),
    sa.column("tts_generation", sa.Integer),
    sa.column("created_at", DateTimeUTC),
    sa.column("updated_at", DateTimeUTC),
)
ITEM_TAGS = sa.table(
    "item_tags",
    sa.column("item_id", sa.Integer),
    sa.column("position", sa.Integer),
    sa.column("name", sa.String),
    sa.column("name_folded", sa.Text),
)
ATTEMPTS = sa.table(
    "attempts",
    sa.column("item_id", sa.Integer),
    sa.column("text", sa.Text),
    sa.column("percentage", sa.Integer),
    sa.column("wer", sa.Double),
    sa.column("words_ref", sa.Integer),
    sa.column("words_correct", sa.Integer),
    sa.column("substitutions", sa.Integer),
    sa.column("deletions", sa.Integer),
    sa.column("insertions", sa.Integer),
    sa.column("alignment", sa.JSON),
    sa.column("duration_ms", sa.Integer),
    sa.column("created_at", DateTimeUTC),
)


async def insert_items(connection: AsyncConnection, items: Sequence[Item]) -> None:
    """Items (ids 1, 2, … in order, into an empty table) with their tags, in stored order."""
    await connection.execute(
        ITEMS.insert(),
        [
            {
                "locale": item.locale,
                "text": item.text,
                "search_text": fold(item.text),
                "difficulty": item.difficulty,
                "tts_status": item.tts_status.value,
                "tts_provider": item.tts_provider,
                "tts_voice": item.tts_voice,
                "tts_generation": item.tts_generation,
                "created_at": item.created_at,
                "updated_at": item.updated_at,
            }
            for item in items
        ],
    )
    tags = [
        {"item_id": item_id, "position": position, "name": name, "name_folded": name.casefold()}
        for item_id, item in enumerate(items, start=1)
        for position, name in enumerate(item.tags)
    ]
    if tags:
        await connection.execute(ITEM_TAGS.insert(), tags)
