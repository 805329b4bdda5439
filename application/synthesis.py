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
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
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

    async def run(self, job: SynthesisJob) -> None:
        """Idempotent: a job for a deleted, re-generated or settled item does nothing."""
        started = time.perf_counter()
        outcome = await self._run(job)
        log.info(
            "tts_job item_id=%d generation=%d outcome=%s duration_ms=%.1f",
            job.item_id,
            job.generation,
            outcome,
            (time.perf_counter() - started) * 1000,
        )

    async def _run(self, job: SynthesisJob) -> str:
        item = await self._current(job)
        if item is not None:
            item = await self._follow_configured_provider(item, job)
        if item is None:
            return "skipped"
        key = audio_key(item.tts_provider, item.tts_voice, item.locale, item.text)
        async with self._key_locks.hold(key):  # one synthesis per key; waiters reuse the result
            if not job.forced and await self._is_stored(key):
                return await self._link(job, key)
            result = await self._synthesize(item)
            if isinstance(result, _Failure):
                return await self._fail(job, result.message)
            gateway_name, audio = result
            if gateway_name != item.tts_provider or audio.voice != item.tts_voice:
                # The fallback spoke: the item records what produced its audio.
                item.tts_provider, item.tts_voice = gateway_name, audio.voice
                key = audio_key(item.tts_provider, item.tts_voice, item.locale, item.text)
            return await self._store_and_link(job, key, item, audio)

    async def _current(self, job: SynthesisJob) -> Item | None:
        async with self._uow() as uow:
            item = await uow.items.get(job.item_id)
        if item is None or item.tts_generation != job.generation:
            return None
        if item.tts_status is not TtsStatus.PENDING:
            return None
        return item

    async def _follow_configured_provider(self, item: Item, job: SynthesisJob) -> Item | None:
        """A job recorded for another provider re-resolves locale and voice first (API §9.4)."""
        if self._voices.gateway(item.tts_provider) is not None:
            return item
        try:
            choice = self._voices.choose(item.locale)
        except InvalidInputError:
            provider = self._voices.primary.name
            await self._fail(job, f"{provider}: locale '{item.locale}' is not supported")
            return None
        async with self._uow() as uow:
            fresh = await uow.items.get(job.item_id)
            if fresh is None or fresh.tts_generation != job.generation:
                return None
            fresh.tts_provider, fresh.tts_voice = choice.provider, choice.voice
            fresh.updated_at = self._clock.now()
            await uow.items.update(fresh)
            await uow.commit()
        return fresh

    async def _is_stored(self, key: str) -> bool:
        async with self._uow() as uow:
            blob = await uow.audio.get(key)
        return blob is not None and await self._store.locate(key) is not None

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

    async def _store_and_link(
        self, job: SynthesisJob, key: str, item: Item, audio: SynthesizedAudio
    ) -> str:
        await self._store.save(key, audio.wav)
        blob = AudioBlob(
            key=key,
            sha256=await asyncio.to_thread(_sha256, audio.wav),
            size_bytes=len(audio.wav),
            sample_rate=audio.sample_rate,
            duration_ms=audio.duration_ms,
            written_at=self._clock.now(),
        )
        async with self._uow() as uow:
            fresh = await uow.items.get(job.item_id)
            await uow.audio.put(blob)
            if not _still_wanted(fresh, job):
                # Stale meanwhile: keep the file only if some item references the key.
                if not await uow.audio.is_referenced(key):
                    await uow.audio.delete(key)
                    await uow.commit()
                    await self._store.delete(key)
                    return "stale"
                await uow.commit()
                return "stale"
            assert fresh is not None
            fresh.tts_provider, fresh.tts_voice = item.tts_provider, item.tts_voice
            self._mark_ready(fresh, key)
            await uow.items.update(fresh)
            await uow.commit()
        return "synthesized"

    async def _link(self, job: SynthesisJob, key: str) -> str:
        async with self._uow() as uow:
            fresh = await uow.items.get(job.item_id)
            if not _still_wanted(fresh, job):
                return "stale"
            assert fresh is not None
            self._mark_ready(fresh, key)
            await uow.items.update(fresh)
            await uow.commit()
        return "reused"

    async def _fail(self, job: SynthesisJob, message: str) -> str:
        async with self._uow() as uow:
            fresh = await uow.items.get(job.item_id)
            if not _still_wanted(fresh, job):
                return "stale"
            assert fresh is not None
            fresh.tts_status = TtsStatus.FAILED
            fresh.tts_error = message[:MAX_ERROR_LENGTH]
            fresh.updated_at = self._clock.now()
            await uow.items.update(fresh)
            await uow.commit()
        return "failed"

    def _mark_ready(self, item: Item, key: str) -> None:
        item.audio_key = key
        item.tts_status = TtsStatus.READY
        item.tts_error = None
        item.updated_at = self._clock.now()


def _still_wanted(item: Item | None, job: SynthesisJob) -> bool:
    return (
        item is not None
        and item.tts_generation == job.generation
        and item.tts_status is TtsStatus.PENDING
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
