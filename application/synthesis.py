"""The body of a TTS job: make or reuse an item's audio, then mark it ready or failed (API §9)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from application.ports import AudioStore, Clock, SynthesisJob, TtsGateway, UnitOfWorkFactory
from application.voices import VoiceCatalogue
from domain.audio import AudioBlob, SynthesizedAudio, audio_key, tts_text
from domain.errors import InvalidInputError, PermanentTtsError, TransientTtsError
from domain.items import Item, TtsStatus

log = logging.getLogger("last_whisper.tts")

MAX_ERROR_LENGTH = 500
MAX_RETRY_DELAY_SECONDS = 60.0
TRY_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 3
    base_seconds: float = 2.0

    def delay(self, retry: int) -> float:
        """Delay before retry k (1-based): base × 2^(k−1), capped at 60 s, plus ≤ 10 % jitter."""
        delay = min(self.base_seconds * 2.0 ** (retry - 1), MAX_RETRY_DELAY_SECONDS)
        return delay * (1 + random.random() / 10)


class KeyedLocks:
    """One asyncio.Lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[bool]:
        """Hold the key's lock; yields True when another holder had to be waited for."""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        waited = lock.locked()
        try:
            async with lock:
                yield waited
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


@dataclass(frozen=True, slots=True)
class _Failure:
    message: str


class SynthesisService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        voices: VoiceCatalogue,
        store: AudioStore,
        clock: Clock,
        retry: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._uow = uow
        self._voices = voices
        self._store = store
        self._clock = clock
        self._retry = retry
        self._sleep = sleep
        self._key_locks = KeyedLocks()

    async def run(self, job: SynthesisJob) -> str:
        """Idempotent: a job for a deleted, re-generated or settled item does nothing.

        Returns the outcome: synthesized, reused, failed or skipped (for metrics)."""
        started = time.perf_counter()
        outcome = await self._run(job)
        log.info(
            "tts_job item_id=%d generation=%d outcome=%s duration_ms=%.1f",
            job.item_id,
            job.generation,
            outcome,
            (time.perf_counter() - started) * 1000,
        )
        return outcome

    async def _run(self, job: SynthesisJob) -> str:
        item, stored = await self._load(job)
        if item is None:
            return "skipped"
        if item.tts_status is TtsStatus.FAILED:
            return "failed"
        key = audio_key(item.tts_provider, item.tts_voice, item.locale, item.text)
        async with self._key_locks.hold(key) as waited:  # one synthesis per key at a time
            if waited and not job.forced:
                stored = await self._is_stored(key)  # the job we waited for may have made it
            if stored:
                item.audio_key = key
                return "reused" if await self._settle(item, TtsStatus.READY) else "skipped"
            result = await self._synthesize(item)
            if isinstance(result, _Failure):
                item.tts_error = result.message[:MAX_ERROR_LENGTH]
                return "failed" if await self._settle(item, TtsStatus.FAILED) else "skipped"
            item.tts_provider, audio = result
            item.tts_voice = audio.voice  # the fallback may have spoken: record what did
            item.audio_key = audio_key(item.tts_provider, item.tts_voice, item.locale, item.text)
            await self._store.save(item.audio_key, audio.wav)
            blob = AudioBlob(
                key=item.audio_key,
                sha256=await asyncio.to_thread(_sha256, audio.wav),
                size_bytes=len(audio.wav),
                sample_rate=audio.sample_rate,
                duration_ms=audio.duration_ms,
                written_at=self._clock.now(),
            )
            ready = await self._settle(item, TtsStatus.READY, blob)
            return "synthesized" if ready else "skipped"

    async def _load(self, job: SynthesisJob) -> tuple[Item | None, bool]:
        """The item if the job is still wanted (provider re-resolved), and whether audio exists."""
        async with self._uow() as uow:
            item = await uow.items.get(job.item_id)
            if not _still_wanted(item, job):
                return None, False
            assert item is not None
            if self._voices.gateway(item.tts_provider) is None:
                # Recorded for a provider no longer configured: re-resolve (API §9.4).
                try:
                    choice = self._voices.choose(item.locale)
                    item.tts_provider, item.tts_voice = choice.provider, choice.voice
                except InvalidInputError:
                    provider = self._voices.primary.name
                    item.tts_status = TtsStatus.FAILED
                    item.tts_error = f"{provider}: locale '{item.locale}' is not supported"
                item.updated_at = self._clock.now()
                if not await uow.items.update_tts_if_pending(item):
                    return None, False
                await uow.commit()
                if item.tts_status is TtsStatus.FAILED:
                    return item, False
            if job.forced:
                return item, False
            key = audio_key(item.tts_provider, item.tts_voice, item.locale, item.text)
            blob = await uow.audio.get(key)
        return item, blob is not None and await self._store.locate(key) is not None

    async def _is_stored(self, key: str) -> bool:
        async with self._uow() as uow:
            blob = await uow.audio.get(key)
        return blob is not None and await self._store.locate(key) is not None

    async def _settle(self, item: Item, status: TtsStatus, blob: AudioBlob | None = None) -> bool:
        """Record the outcome if the item is still pending at this generation (atomic claim).

        A stale job keeps a new file only if some item references its key (API §9.4).
        """
        item.tts_status = status
        item.updated_at = self._clock.now()
        if status is not TtsStatus.READY:
            item.audio_key = None
        else:
            item.tts_error = None
        orphan = None
        async with self._uow() as uow:
            if blob is not None:
                await uow.audio.put(blob)
            settled = await uow.items.update_tts_if_pending(item)
            if not settled and blob is not None and not await uow.audio.is_referenced(blob.key):
                await uow.audio.delete(blob.key)
                orphan = blob.key
            await uow.commit()
        if orphan is not None:
            await self._store.delete(orphan)
        return settled

    async def _synthesize(self, item: Item) -> tuple[str, SynthesizedAudio] | _Failure:
        """Try the item's provider, then any other configured one once (failover)."""
        order = [self._voices.gateway(item.tts_provider)] + [
            g for g in self._voices.gateways if g.name != item.tts_provider
        ]
        errors: list[str] = []
        for gateway in order:
            if gateway is None:
                continue
            voice = item.tts_voice
            if gateway.name != item.tts_provider:
                entry = self._voices.resolve_on(gateway, item.locale)
                if entry is None:
                    continue
                voice = entry.default_voice
            outcome = await self._with_retries(gateway, item, voice)
            if not isinstance(outcome, _Failure):
                return gateway.name, outcome
            errors.append(outcome.message)
        return _Failure("; ".join(errors) or "no TTS provider can speak this locale")

    async def _with_retries(
        self, gateway: TtsGateway, item: Item, voice: str
    ) -> SynthesizedAudio | _Failure:
        text = tts_text(item.text)
        locale_entry = self._voices.resolve_on(gateway, item.locale)
        if locale_entry is None:
            return _Failure(f"{gateway.name}: locale '{item.locale}' is not supported")
        tries = 0
        while True:
            tries += 1
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.
                async with asyncio.timeout(TRY_TIMEOUT_SECONDS):
                    return await gateway.synthesize(text, locale_entry.locale, voice)
            except PermanentTtsError as exc:
                return _Failure(f"{gateway.name}: {exc.message}")
            except (TransientTtsError, TimeoutError) as exc:
                message = exc.message if isinstance(exc, TransientTtsError) else "timed out"
                if tries > self._retry.max_retries:
                    return _Failure(f"Gave up after {tries} attempts: {gateway.name}: {message}")
                await self._sleep(self._retry.delay(tries))


def _still_wanted(item: Item | None, job: SynthesisJob) -> bool:
    return (
        item is not None
        and item.tts_generation == job.generation
        and item.tts_status is TtsStatus.PENDING
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
