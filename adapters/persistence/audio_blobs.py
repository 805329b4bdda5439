"""Audio file metadata in SQL (API §9.2), in the same transaction as the items that use it.

The table also holds synthesis claims (see `AudioBlobRepository.claim`): a claim on key K is a row
under the derived key `claim_key(K)` with `size_bytes = 0` (no WAV is empty), the owner's token in
`sha256` and the lease's last renewal in `written_at`. Keeping the claim under its own key means a
forced re-synthesis can hold a claim while the stored row of K keeps serving the old audio, and no
reader of K ever sees a claim. The primary key makes taking a claim one atomic statement.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.records import AudioBlobRecord, ItemRecord
from application.ports import AudioBlobRepository
from domain.audio import AudioBlob

CLAIM_SIZE = 0  # size_bytes of a claim row: a stored WAV has at least its 44-byte header
# Keys per IN (...) list: well under every bound-parameter limit (Postgres 32 767, SQLite 999
# before 3.32).
STORED_KEYS_CHUNK = 500


def claim_key(key: str) -> str:
    """Where the claim of an audio key lives: 64 hex digits like every key, never an audio key
    (that would take a SHA-256 preimage)."""
    return hashlib.sha256(f"synthesis-claim\n{key}".encode()).hexdigest()


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

    def _insert(self) -> Any:
        # Both dialects spell an atomic upsert INSERT … ON CONFLICT; the constructs differ.
        dialect = self._session.get_bind().dialect.name
        return postgresql.insert if dialect == "postgresql" else sqlite.insert

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
        # the way SELECT-then-INSERT would.
        values = _values(blob)
        statement = self._insert()(AudioBlobRecord).values(values)
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

    async def stored_keys(self, keys: Sequence[str]) -> set[str]:
        stored: set[str] = set()
        for start in range(0, len(keys), STORED_KEYS_CHUNK):
            chunk = keys[start : start + STORED_KEYS_CHUNK]
            rows = await self._session.scalars(
                select(AudioBlobRecord.key).where(
                    AudioBlobRecord.key.in_(chunk),
                    # A claim's own key is 64 hex digits too: never count it as audio.
                    AudioBlobRecord.size_bytes != CLAIM_SIZE,
                )
            )
            stored.update(rows)
        return stored

    async def lock(self, key: str) -> bool:
        statement: Any
        if self._session.get_bind().dialect.name == "postgresql":
            # The row's lock: a concurrent locker waits, then re-reads the row (gone if deleted).
            statement = select(AudioBlobRecord.key).where(AudioBlobRecord.key == key)
            statement = statement.with_for_update()
        else:
            # SQLite locks the database, and only for a write (FOR UPDATE does not exist there):
            # a write that changes nothing.
            statement = (
                update(AudioBlobRecord)
                .where(AudioBlobRecord.key == key)
                .values(key=AudioBlobRecord.key)
                .returning(AudioBlobRecord.key)
                .execution_options(synchronize_session=False)
            )
        return (await self._session.scalar(statement)) is not None

    async def claim(self, key: str, owner: str, now: datetime, stale_before: datetime) -> bool:
        # Insert the claim, or take over a lapsed one, in one statement. Under concurrency the
        # row lock serialises contenders and the WHERE is re-checked on the latest row, so
        # exactly one of them gets a row back.
        statement = self._insert()(AudioBlobRecord).values(
            key=claim_key(key),
            sha256=owner,
            size_bytes=CLAIM_SIZE,
            sample_rate=0,
            duration_ms=0,
            written_at=now,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[AudioBlobRecord.key],
            set_={"sha256": statement.excluded.sha256, "written_at": statement.excluded.written_at},
            where=(AudioBlobRecord.size_bytes == CLAIM_SIZE)
            & (AudioBlobRecord.written_at < stale_before),
        ).returning(AudioBlobRecord.key)
        return (await self._session.scalar(statement)) is not None

    async def renew_claim(self, key: str, owner: str, now: datetime) -> bool:
        renewed = await self._session.scalar(
            update(AudioBlobRecord)
            .where(*self._owned(key, owner))
            .values(written_at=now)
            .returning(AudioBlobRecord.key)
            .execution_options(synchronize_session=False)
        )
        return renewed is not None

    async def release_claim(self, key: str, owner: str) -> None:
        await self._session.execute(
            delete(AudioBlobRecord)
            .where(*self._owned(key, owner))
            .execution_options(synchronize_session=False)
        )

    @staticmethod
    def _owned(key: str, owner: str) -> tuple[Any, ...]:
        return (
            AudioBlobRecord.key == claim_key(key),
            AudioBlobRecord.size_bytes == CLAIM_SIZE,
            AudioBlobRecord.sha256 == owner,
        )
