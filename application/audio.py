"""Use cases around an item's audio: serving it, regenerating it, what can be spoken, and
sweeping away files that crashes left behind."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from application.ports import (
    AudioStore,
    Clock,
    JobQueue,
    SynthesisJob,
    UnitOfWork,
    UnitOfWorkFactory,
)
from application.synthesis import end_claim, try_claim
from application.voices import VoiceCatalogue
from domain.audio import AudioBlob, LocaleVoices
from domain.errors import (
    AudioFileMissingError,
    AudioNotReadyError,
    InvalidInputError,
    ItemNotFoundError,
)
from domain.items import Item, TtsStatus

log = logging.getLogger(__name__)

# Files younger than this are never swept. Defence in depth only: the key's claim is what keeps a
# sweep off a file being written; this also spares a write's temp file, which has no key to claim.
ORPHAN_GRACE = timedelta(hours=1)
SWEEP_BATCH = 500  # keys looked up per unit of work


@dataclass(frozen=True, slots=True)
class AudioFile:
    item: Item
    blob: AudioBlob
    path: Path


@dataclass(frozen=True, slots=True)
class ProviderLocales:
    provider: str
    available: bool
    locales: Sequence[LocaleVoices]


async def release_audio(uow: UnitOfWork, key: str | None) -> str | None:
    """Drop metadata of a key nobody references any more; returns the key whose file to unlink.

    Called inside the transaction that removed the reference; after its commit, unlink with
    `unlink_released`.
    """
    if key is None:
        return None
    # Locked before looking for references: a job linking a new item to this audio has either
    # committed (a reference we see) or waits for us and then finds the audio gone.
    await uow.audio.lock(key)
    if await uow.audio.is_referenced(key):
        return None
    await uow.audio.delete(key)
    return key


async def unlink_released(
    uow: UnitOfWorkFactory, store: AudioStore, clock: Clock, key: str
) -> bool:
    """Unlink the file of a key `release_audio` dropped, once its transaction committed; True
    when we unlinked it.

    Only under the key's synthesis claim: a job making the key again writes its file before
    recording it, and must not lose it to us. The claim is tried once, not waited for (a
    synthesis can take minutes): its holder unlinks the file on release if the key is still not
    stored then (`end_claim`).
    """
    owner = uuid.uuid4().hex
    async with uow() as work:
        taken = await try_claim(work, key, owner, clock.now())
        await work.commit()
    return taken and await end_claim(uow, store, key, owner)


async def sweep_orphan_audio(
    uow: UnitOfWorkFactory, store: AudioStore, clock: Clock, *, grace: timedelta = ORPHAN_GRACE
) -> int:
    """Remove files older than `grace` that no audio metadata records, and old temp files;
    returns how many went.

    Left behind when a process died between writing a file and recording it, or was stopped
    holding the claim of a key whose file a delete had left to it; and temp files of writes a
    crash interrupted. Each audio file goes the way released ones do (`unlink_released`): under
    its key's claim, after re-checking under the metadata lock, so a job writing that key right
    now keeps its file; a key whose claim is held is skipped, its holder deals with it. Safe in
    several processes at once.
    """
    before = clock.now() - grace
    keys = await store.keys_written_before(before)
    orphans = 0
    for start in range(0, len(keys), SWEEP_BATCH):
        batch = keys[start : start + SWEEP_BATCH]
        async with uow() as work:
            stored = await work.audio.stored_keys(batch)
        for key in batch:
            if key not in stored and await unlink_released(uow, store, clock, key):
                orphans += 1
    temp_files = await store.remove_temp_files_before(before)
    log.info(
        "orphan_audio_sweep checked=%d orphans_removed=%d temp_files_removed=%d",
        len(keys),
        orphans,
        temp_files,
    )
    return orphans + temp_files


class AudioService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        queue: JobQueue,
        voices: VoiceCatalogue,
        store: AudioStore,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._queue = queue
        self._voices = voices
        self._store = store
        self._clock = clock

    async def file(self, item_id: int) -> AudioFile:
        """The stored file of a ready item (API §3.10 checks 2–4, in order)."""
        async with self._uow() as uow:
            item = await uow.items.get(item_id)
            if item is None:
                raise ItemNotFoundError()
            if item.tts_status is not TtsStatus.READY or item.audio_key is None:
                raise AudioNotReadyError(item.tts_status.value)
            blob = await uow.audio.get(item.audio_key)
        path = await self._store.locate(item.audio_key) if blob is not None else None
        if blob is None or path is None:
            log.error(
                "audio of ready item %d is missing from storage (key %s)", item_id, item.audio_key
            )
            raise AudioFileMissingError()
        return AudioFile(item, blob, path)

    async def refresh(self, item_id: int, voice: str | None) -> Item:
        """Back to pending on the configured provider with a forced job (API §3.11)."""
        primary = self._voices.primary
        async with self._uow() as uow:
            item = await uow.items.get(item_id)
            if item is None:
                raise ItemNotFoundError()
            entry = self._voices.resolve_on(primary, item.locale)
            if entry is None:
                raise self._voices.unsupported(item.locale)
            if voice is not None and not entry.offers(voice):
                available = ", ".join(v.id for v in entry.voices)
                raise InvalidInputError.field(
                    "voice",
                    f"Voice '{voice}' is not available for locale '{item.locale}' "
                    f"(TTS provider '{primary.name}'). Available: {available}",
                )
            if voice is None:
                keep = item.tts_provider == primary.name and entry.offers(item.tts_voice)
                voice = item.tts_voice if keep else entry.default_voice
            released = item.audio_key
            item.audio_key = None
            item.tts_status = TtsStatus.PENDING
            item.tts_error = None
            item.tts_provider = primary.name
            item.tts_voice = voice
            item.tts_generation += 1
            item.updated_at = self._clock.now()
            item.audio_duration_ms = None
            await uow.items.update(item)
            unlink = await release_audio(uow, released)
            await uow.commit()
        if unlink:
            await unlink_released(self._uow, self._store, self._clock, unlink)
        assert item.id is not None
        await self._queue.enqueue([SynthesisJob(item.id, item.tts_generation, forced=True)])
        return item

    async def sweep_orphans(self) -> int:
        """Remove audio files crashes left behind (`sweep_orphan_audio`); run at start-up."""
        return await sweep_orphan_audio(self._uow, self._store, self._clock)

    async def locales(self) -> ProviderLocales:
        primary = self._voices.primary
        return ProviderLocales(
            provider=primary.name,
            available=await asyncio.to_thread(primary.is_available),
            locales=self._voices.listing(primary),
        )
