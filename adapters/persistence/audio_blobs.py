"""Audio file metadata in SQL (API §9.2), in the same transaction as the items that use it."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.records import AudioBlobRecord, ItemRecord
from application.ports import AudioBlobRepository
from domain.audio import AudioBlob


def _values(blob: AudioBlob) -> dict[str, Any]:
    return {
        "key": blob.key,
        "sha256": blob.sha256,
        "size_bytes": blob.size_bytes,
        "sample_rate": blob.sample_rate,
        "duration_ms": blob.duration_ms,
        "written_at": blob.written_at,
    }


class SqlAudioBlobRepository(AudioBlobRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, key: str) -> AudioBlob | None:
        record = await self._session.scalar(
            select(AudioBlobRecord)
            .where(AudioBlobRecord.key == key)
            .execution_options(populate_existing=True)
        )
        if record is None:
            return None
        return AudioBlob(
            key=record.key,
            sha256=record.sha256,
            size_bytes=record.size_bytes,
            sample_rate=record.sample_rate,
            duration_ms=record.duration_ms,
            written_at=record.written_at.astimezone(UTC),
        )

    async def put(self, blob: AudioBlob) -> None:
        # One atomic upsert: two processes finishing the same key cannot trip over each other
        # the way SELECT-then-INSERT would. Both dialects spell it ON CONFLICT … DO UPDATE.
        values = _values(blob)
        dialect = self._session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(AudioBlobRecord).values(values)
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[AudioBlobRecord.key],
                set_={name: statement.excluded[name] for name in values if name != "key"},
            )
        )

    async def delete(self, key: str) -> None:
        await self._session.execute(
            delete(AudioBlobRecord)
            .where(AudioBlobRecord.key == key)
            .execution_options(synchronize_session=False)
        )

    async def is_referenced(self, key: str) -> bool:
        referenced = await self._session.scalar(select(exists().where(ItemRecord.audio_key == key)))
        return bool(referenced)
