"""Ports: what the use cases need from the world. Adapters implement these Protocols."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from domain.attempts import Attempt
from domain.audio import AudioBlob, LocaleVoices, SynthesizedAudio
from domain.items import Item, ItemText
from domain.listing import ItemFilter, ItemSort
from domain.pages import Page, PageRequest
from domain.stats import AttemptAggregate, PracticeLogEntry, TimeWindow
from domain.tags import Tag


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class ItemRepository(Protocol):
    async def add_many(self, items: Sequence[Item]) -> builtins.list[Item]:
        """Insert items in order; returns them with ids assigned."""
        ...

    async def get(self, item_id: int) -> Item | None:
        """One item with `practiced` filled in."""
        ...

    async def text(self, item_id: int) -> ItemText | None:
        """Only the item's text and locale: one primary-key read, none of the joins of `get`."""
        ...

    async def update(self, item: Item) -> None:
        """Write every mutable field (tags, difficulty, TTS state, updated_at)."""
        ...

    async def update_tts_if_pending(self, item: Item) -> bool:
        """Write the TTS fields (status, error, audio key, provider, voice, updated_at) only if
        the stored item is still pending at `item.tts_generation`: an atomic claim, so a job
        that became stale, ran twice or raced another worker changes nothing. False then."""
        ...

    async def delete(self, item_id: int) -> Item | None:
        """Remove the item with its tags and attempts; returns what was removed."""
        ...

    async def list(self, where: ItemFilter, sort: ItemSort, page: PageRequest) -> Page[Item]: ...

    async def pending(self) -> builtins.list[tuple[int, int]]:
        """(id, TTS generation) of every item still waiting for audio, by ascending id (restart
        recovery: the jobs to queue, and no more read than those)."""
        ...


class ItemLookup(Protocol):
    """Committed items read outside any unit of work: the hot paths of GET, scoring and the
    item list.

    Never sees a transaction's uncommitted writes; use cases that read and then write go
    through `UnitOfWork.items` instead.
    """

    async def get(self, item_id: int) -> Item | None: ...

    async def text(self, item_id: int) -> ItemText | None:
        """Only the text and locale, all that scoring needs: none of the joins of `get`."""
        ...

    async def list(self, where: ItemFilter, sort: ItemSort, page: PageRequest) -> Page[Item]:
        """As `ItemRepository.list`."""
        ...

    def close(self) -> None:
        """Release what the lookup holds (at shutdown); a later call reopens it."""
        ...


class AttemptStore(Protocol):
    """Where the attempt writer commits its batches: one transaction per call."""

    async def add_many(self, attempts: Sequence[Attempt]) -> builtins.list[Attempt]:
        """As `AttemptRepository.add_many`, committed when this returns."""
        ...

    def close(self) -> None:
        """Release what the store holds (at shutdown); a later call reopens it."""
        ...


class TagRepository(Protocol):
    async def add(self, tag: Tag) -> Tag:
        """Insert; raises TagAlreadyExistsError on a case-insensitive duplicate."""
        ...

    async def list(self, limit: int, offset: int) -> tuple[builtins.list[Tag], int]:
        """Tags by casefolded name then id, and the number of all tags."""
        ...

    async def delete(self, tag_id: int) -> bool: ...


class AttemptRepository(Protocol):
    async def add(self, attempt: Attempt) -> Attempt: ...

    async def add_many(self, attempts: Sequence[Attempt]) -> builtins.list[Attempt]:
        """Store attempts in order (ids ascending) and count them in the statistics.

        Raises ItemNotFoundError, storing none, when the item of any of them does not exist.
        """
        ...

    async def get(self, attempt_id: int) -> Attempt | None: ...

    async def list(
        self, item_id: int | None, window: TimeWindow, page: PageRequest
    ) -> Page[Attempt]:
        """Newest first, ties broken by id descending."""
        ...


class StatsRepository(Protocol):
    """Read model: aggregates computed where the data lives."""

    async def summary(self, window: TimeWindow) -> tuple[AttemptAggregate, int]:
        """Aggregate of attempts in the window and the number of distinct items."""
        ...

    async def practice_log(self, window: TimeWindow, page: PageRequest) -> Page[PracticeLogEntry]:
        """One entry per practised item, last practised first, then item id descending."""
        ...

    async def item(self, item_id: int) -> AttemptAggregate: ...

    async def daily(
        self, first_day: date, last_day: date, item_id: int | None
    ) -> dict[date, AttemptAggregate]:
        """Aggregates per UTC date of created_at, for days with attempts in [first, last]."""
        ...


class AudioBlobRepository(Protocol):
    """Metadata of stored audio files, keyed by audio key."""

    async def get(self, key: str) -> AudioBlob | None: ...

    async def put(self, blob: AudioBlob) -> None:
        """Insert or replace the metadata of a key."""
        ...

    async def delete(self, key: str) -> None: ...

    async def is_referenced(self, key: str) -> bool:
        """True while some item's audio_key is this key."""
        ...

    async def stored_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of these keys have stored audio (a claim is no stored audio); for sweeps."""
        ...

    async def lock(self, key: str) -> bool:
        """Whether audio is stored under the key, keeping its metadata locked until the
        transaction ends: a release of the audio and a job linking an item to it serialise here,
        so each sees what the other committed (the release: a new reference; the job: no audio)."""
        ...

    # Synthesis claims: at most one process synthesises a key at a time (API §9.2 "Dedup").
    # A claim is a lease kept in the database, so it holds across processes and hosts; a holder
    # that dies stops renewing it, and the lease lapses. Claims never look like stored audio:
    # `get`, `is_referenced` and the item joins do not see them.

    async def claim(self, key: str, owner: str, now: datetime, stale_before: datetime) -> bool:
        """Take the synthesis claim of a key for `owner`, atomically: True when nobody held it
        or the holder's lease was last renewed before `stale_before` (taken over)."""
        ...

    async def renew_claim(self, key: str, owner: str, now: datetime) -> bool:
        """Extend `owner`'s lease to `now`; False when the claim is no longer theirs."""
        ...

    async def release_claim(self, key: str, owner: str) -> None:
        """Drop `owner`'s claim; a claim held by someone else (or none) is left alone."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without `commit()` rolls back."""

    items: ItemRepository
    tags: TagRepository
    attempts: AttemptRepository
    stats: StatsRepository
    audio: AudioBlobRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class Database(Protocol):
    async def ping(self) -> None:
        """Raises when the database cannot answer `SELECT 1`."""
        ...


@dataclass(frozen=True, slots=True)
class SynthesisJob:
    """Make audio for one generation of an item; stale generations are no-ops."""

    item_id: int
    generation: int
    forced: bool = False

    @property
    def job_id(self) -> str:
        return f"tts:{self.item_id}:{self.generation}"


class JobQueue(Protocol):
    backend: str  # "memory", "redis" or "postgresql"

    async def enqueue(self, jobs: Sequence[SynthesisJob]) -> None:
        """Queue jobs; called only after the commit that made them necessary."""
        ...

    async def pending(self) -> int:
        """Jobs waiting or running (0 when unknown)."""
        ...

    async def is_healthy(self) -> bool: ...


class TtsGateway(Protocol):
    name: str  # "local", "azure", "google", "fake"

    def locales(self) -> Sequence[LocaleVoices]:
        """Every locale the engine can speak, canonical case, stable order."""
        ...

    def is_available(self) -> bool: ...

    async def synthesize(self, text: str, locale: str, voice: str) -> SynthesizedAudio:
        """Speak normalised text; raises TransientTtsError or PermanentTtsError."""
        ...


class AudioStore(Protocol):
    """Audio files by key. Writes are atomic: readers see the old bytes or the new ones."""

    async def save(self, key: str, wav: bytes) -> None:
        """Write a key's audio whole, or raise OSError (nothing readable left behind)."""
        ...

    async def locate(self, key: str) -> Path | None:
        """The file of a key, or None when it is not stored."""
        ...

    async def delete(self, key: str) -> None:
        """Remove a key's file; a missing file is not an error."""
        ...

    def is_healthy(self) -> bool:
        """The directory exists and is writable (no file written)."""
        ...

    async def keys_written_before(self, moment: datetime) -> list[str]:
        """Keys of the files last modified before `moment` (nothing but real keys; a file that
        vanishes during the scan is left out)."""
        ...

    async def remove_temp_files_before(self, moment: datetime) -> int:
        """Remove what interrupted writes left behind, if last modified before `moment`; returns
        how many files went."""
        ...
