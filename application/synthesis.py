"""The body of a TTS job: make or reuse an item's audio, then mark it ready or failed (API §9).

At most one synthesis per audio key runs at a time, across every process sharing the database:
jobs of one process queue on an asyncio lock per key (cheap), and the lock holder then takes the
key's claim in the database (`AudioBlobRepository.claim`), a lease it renews while it works. A
job that finds the claim taken polls until it is free and then re-checks whether the audio now
exists, so two items with one key, a job delivered twice or two workers racing make one file.

The claim also guards the key's file against deletes: a job writes the file before it records
it, and only under that key's claim (after a failover, the claim of the key that spoke), so only
a claim holder may unlink a file (`end_claim`; `unlink_released` for deletes).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from application.ports import (
    AudioStore,
    Clock,
    SynthesisJob,
    TtsGateway,
    UnitOfWork,
    UnitOfWorkFactory,
)
from application.voices import VoiceCatalogue
from domain.audio import AudioBlob, SynthesizedAudio, audio_key, tts_text
from domain.errors import InvalidInputError, PermanentTtsError, TransientTtsError
from domain.items import Item, TtsStatus

log = logging.getLogger("last_whisper.tts")

MAX_ERROR_LENGTH = 500
_T = TypeVar("_T")
MAX_RETRY_DELAY_SECONDS = 60.0
TRY_TIMEOUT_SECONDS = 60.0
# A claim whose lease was not renewed for this long belongs to a process that died (SIGKILL,
# lost host): another job takes it over. Renewals come several times per lease, so a slow
# database round trip does not make a live holder look dead.
CLAIM_LEASE_SECONDS = 15.0
CLAIM_RENEW_SECONDS = 3.0
# Waiting for another process's synthesis: poll soon (fake and local engines take milliseconds),
# then back off so hundreds of waiters do not hammer the database.
CLAIM_POLL_FIRST_SECONDS = 0.02
CLAIM_POLL_MAX_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 3
    base_seconds: float = 2.0

    def delay(self, retry: int) -> float:
        """Delay before retry k (1-based): base × 2^(k−1), capped at 60 s, plus ≤ 10 % jitter."""
        delay = min(self.base_seconds * 2.0 ** (retry - 1), MAX_RETRY_DELAY_SECONDS)
        return delay * (1 + random.random() / 10)

    def longest_synthesis_seconds(self, providers: int) -> float:
        """An upper bound of one synthesis: every try times out, after the longest delays, on
        every provider."""
        delays = sum(
            min(self.base_seconds * 2.0 ** (k - 1), MAX_RETRY_DELAY_SECONDS) * 1.1
            for k in range(1, self.max_retries + 1)
        )
        return max(providers, 1) * ((self.max_retries + 1) * TRY_TIMEOUT_SECONDS + delays)

    def longest_job_seconds(self, providers: int) -> float:
        """An upper bound of one job, for queues that abandon jobs running longer: its own
        synthesis after waiting for another job's synthesis of the same key."""
        return 2 * self.longest_synthesis_seconds(providers)


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


@dataclass(slots=True)
class _Claim:
    """This job's hold on synthesising a key; `stored` says whether the audio existed then."""

    key: str
    owner: str
    stored: bool = False
    released: bool = False


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
        if stored:  # linking to existing audio needs no claim
            outcome = await self._reuse(item, key)
            if outcome is not None:
                return outcome
            # Released since we looked (its last item was deleted): make it again.
        async with self._key_locks.hold(key), self._claimed(key) as claim:
            # Checked under the claim, not only before: another job (here or in another
            # process) may have made the audio between our load and our claim.
            if claim.stored and not job.forced:
                outcome = await self._reuse(item, key, claim)
                if outcome is not None:
                    return outcome
            result = await self._synthesize(item)
            if isinstance(result, _Failure):
                item.tts_error = result.message[:MAX_ERROR_LENGTH]
                failed = await self._settle(item, TtsStatus.FAILED, claim=claim)
                return "failed" if failed else "skipped"
            provider, audio = result
            spoken = audio_key(provider, audio.voice, item.locale, item.text)
            if spoken == key:  # the item's own provider and voice spoke
                return await self._store_new(item, audio, claim)
        # Another provider or voice spoke (failover): record it. The audio belongs to that key,
        # and only its claim may write the file. Taken after ours is released: holding both
        # could deadlock with a job failing over the other way.
        item.tts_provider, item.tts_voice = provider, audio.voice
        async with self._key_locks.hold(spoken), self._claimed(spoken) as claim:
            if claim.stored and not job.forced:
                outcome = await self._reuse(item, spoken, claim)
                if outcome is not None:
                    return outcome
            return await self._store_new(item, audio, claim)

    async def _store_new(self, item: Item, audio: SynthesizedAudio, claim: _Claim) -> str:
        """Store new audio under the claimed key and mark the item ready with it; failed when the
        file cannot be written (a full disk must not leave it pending until a restart)."""
        failure = await self._save_with_retries(claim.key, audio.wav)
        if failure is not None:
            item.tts_error = failure.message[:MAX_ERROR_LENGTH]
            failed = await self._settle(item, TtsStatus.FAILED, claim=claim)
            return "failed" if failed else "skipped"
        item.audio_key = claim.key
        blob = AudioBlob(
            key=claim.key,
            sha256=await asyncio.to_thread(_sha256, audio.wav),
            size_bytes=len(audio.wav),
            sample_rate=audio.sample_rate,
            duration_ms=audio.duration_ms,
            written_at=self._clock.now(),
        )
        ready = await self._settle(item, TtsStatus.READY, blob, claim)
        return "synthesized" if ready else "skipped"

    async def _reuse(self, item: Item, key: str, claim: _Claim | None = None) -> str | None:
        """Link the item to the stored audio of its key; None when that audio was released since
        we saw it (nothing written then)."""
        item.audio_key = key
        ready = await self._settle(item, TtsStatus.READY, claim=claim)
        if ready is None:
            return None
        return "reused" if ready else "skipped"

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

    @asynccontextmanager
    async def _claimed(self, key: str) -> AsyncIterator[_Claim]:
        """Hold the key's claim in the database, waiting while another process holds it."""
        claim = _Claim(key, uuid.uuid4().hex)
        delay = CLAIM_POLL_FIRST_SECONDS
        while not await self._take(claim):
            await asyncio.sleep(delay)  # real time, unlike retry delays: another process works
            delay = min(delay * 2, CLAIM_POLL_MAX_SECONDS)
        keeper = asyncio.create_task(self._keep(claim), name=f"claim-{key[:12]}")
        cancelled = False
        try:
            yield claim
        except asyncio.CancelledError:
            # Shutting down: no more database work from this job. A transaction the
            # cancellation interrupted may still hold locks (SQLite: the database's write
            # lock), so a release could only wait for them; the lease lapses instead.
            cancelled = True
            raise
        finally:
            keeper.cancel()
            if not (claim.released or cancelled):
                await self._release(claim)

    async def _take(self, claim: _Claim) -> bool:
        async with self._uow() as uow:
            if not await try_claim(uow, claim.key, claim.owner, self._clock.now()):
                return False
            blob = await uow.audio.get(claim.key)
            await uow.commit()
        claim.stored = blob is not None and await self._store.locate(claim.key) is not None
        return True

    async def _keep(self, claim: _Claim) -> None:
        """Renew the lease until cancelled: a live holder is not taken over. Only for as long as
        a synthesis can take, though: a holder stuck beyond that must not block the key."""
        longest = self._retry.longest_synthesis_seconds(len(self._voices.gateways))
        deadline = time.monotonic() + longest + CLAIM_LEASE_SECONDS
        while time.monotonic() < deadline:
            await asyncio.sleep(CLAIM_RENEW_SECONDS)
            try:
                async with self._uow() as uow:
                    kept = await uow.audio.renew_claim(claim.key, claim.owner, self._clock.now())
                    await uow.commit()
            except Exception:
                log.warning("could not renew the claim on audio key %s", claim.key, exc_info=True)
                continue
            if not kept:
                # Only after a lease went unrenewed for CLAIM_LEASE_SECONDS: our result is still
                # stored (harmlessly, atomically), but the key may get synthesised twice.
                log.warning("the claim on audio key %s lapsed and was taken over", claim.key)
                return
        log.warning("synthesis of audio key %s is overdue: its claim is left to lapse", claim.key)

    async def _release(self, claim: _Claim) -> None:
        try:
            await end_claim(self._uow, self._store, claim.key, claim.owner)
        except Exception:
            # The lease lapses on its own; waiting jobs take the claim over then.
            log.warning("could not release the claim on audio key %s", claim.key, exc_info=True)

    async def _settle(
        self,
        item: Item,
        status: TtsStatus,
        blob: AudioBlob | None = None,
        claim: _Claim | None = None,
    ) -> bool | None:
        """Record the outcome if the item is still pending at this generation (atomic claim).

        Linking to stored audio (ready without a new blob) re-checks that the audio is still
        stored, locked until the commit: a delete of the key's last item may have released it
        since we looked. None then, and nothing is written.

        A stale job keeps a new file only if some item references its key (API §9.4). The key's
        synthesis claim is released in the same transaction when the key's audio stays stored:
        whoever takes it next sees the audio. Otherwise `_claimed` releases it after us.
        """
        item.tts_status = status
        item.updated_at = self._clock.now()
        if status is not TtsStatus.READY:
            item.audio_key = None
        else:
            item.tts_error = None
        stored = orphan = None
        async with self._uow() as uow:
            # The item's row before the key's metadata: the order releases lock them in.
            settled = await uow.items.update_tts_if_pending(item)
            if blob is not None:
                await uow.audio.put(blob)
                if settled or await uow.audio.is_referenced(blob.key):
                    stored = blob.key
                else:
                    await uow.audio.delete(blob.key)
                    orphan = blob.key
            elif settled and item.audio_key is not None:
                if not await uow.audio.lock(item.audio_key):
                    return None  # rolled back
                stored = item.audio_key
            # An orphan's file is unlinked after the commit, still under the claim (released by
            # `_claimed` then): a job taking the claim earlier could lose its new file to us.
            release = claim if claim is not None and claim.key == stored else None
            if release is not None:
                await uow.audio.release_claim(release.key, release.owner)
            await uow.commit()
        if release is not None:
            release.released = True
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

        async def speak() -> SynthesizedAudio:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.
            async with asyncio.timeout(TRY_TIMEOUT_SECONDS):
                return await gateway.synthesize(text, locale_entry.locale, voice)

        try:
            return await self._with_backoff(speak, _tts_reason, gateway.name)
        except PermanentTtsError as exc:
            return _Failure(f"{gateway.name}: {exc.message}")

    async def _save_with_retries(self, key: str, wav: bytes) -> _Failure | None:
        """Write the audio, retried like a transient TTS failure (the speech is not made again)."""
        saved = await self._with_backoff(
            lambda: self._store.save(key, wav), _storage_reason, "audio storage"
        )
        return saved if isinstance(saved, _Failure) else None

    async def _with_backoff(
        self,
        run: Callable[[], Awaitable[_T]],
        transient: Callable[[Exception], str | None],
        source: str,
    ) -> _T | _Failure:
        """`run` until it succeeds, tried again after the policy's delays while `transient`
        names its error (other errors propagate); once the retries are spent, the failure
        `Gave up after <n> attempts: <source>: <reason>`."""
        tries = 0
        while True:
            tries += 1
            try:
                return await run()
            except Exception as exc:
                reason = transient(exc)
                if reason is None:
                    raise
                log.warning("%s failed (try %d): %s", source, tries, reason)
                if tries > self._retry.max_retries:
                    return _Failure(f"Gave up after {tries} attempts: {source}: {reason}")
                await self._sleep(self._retry.delay(tries))


def _tts_reason(exc: Exception) -> str | None:
    if isinstance(exc, TransientTtsError):
        return exc.message
    return "timed out" if isinstance(exc, TimeoutError) else None


def _storage_reason(exc: Exception) -> str | None:
    # The OS's reason only: the exception's text would carry the file's path.
    return (exc.strerror or type(exc).__name__) if isinstance(exc, OSError) else None


async def try_claim(uow: UnitOfWork, key: str, owner: str, now: datetime) -> bool:
    """Take a key's synthesis claim if it is free or its holder's lease lapsed."""
    return await uow.audio.claim(key, owner, now, now - timedelta(seconds=CLAIM_LEASE_SECONDS))


async def end_claim(uow: UnitOfWorkFactory, store: AudioStore, key: str, owner: str) -> bool:
    """Release `owner`'s claim on a key, unlinking the key's file first if no audio is stored
    under it: a delete that released the key while the claim was held left the file to us.
    True when no audio was stored, so the file went."""
    async with uow() as work:
        # Locked: a release of the key's audio waits for this commit, then finds the claim free.
        stored = await work.audio.lock(key)
        if stored:
            await work.audio.release_claim(key, owner)
            await work.commit()
    if stored:
        return False
    await store.delete(key)  # nobody records the key meanwhile: we hold its claim
    async with uow() as work:
        await work.audio.release_claim(key, owner)
        await work.commit()
    return True


def _still_wanted(item: Item | None, job: SynthesisJob) -> bool:
    return (
        item is not None
        and item.tts_generation == job.generation
        and item.tts_status is TtsStatus.PENDING
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
