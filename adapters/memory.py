"""In-memory adapters: real implementations of the persistence ports, state in one process.

They pass the same contract suite as the SQL adapters. Units of work are serialised by a lock and
work on a copy of the state that is published on commit, so a rollback is dropping the copy.
Stored entities are never mutated in place: writes store fresh copies, reads hand out copies.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any, Self

from application.ports import (
    AttemptRepository,
    AudioBlobRepository,
    Database,
    ItemRepository,
    StatsRepository,
    TagRepository,
    UnitOfWork,
    UnitOfWorkFactory,
)
from domain.attempts import Attempt
from domain.audio import AudioBlob
from domain.errors import ItemNotFoundError, TagAlreadyExistsError
from domain.items import Item, ItemText, TtsStatus, fold
from domain.listing import ItemFilter, ItemSort
from domain.pages import Page, PageRequest
from domain.stats import AttemptAggregate, PracticeLogEntry, TimeWindow, aggregate_of
from domain.tags import Tag


@dataclass(slots=True)
class _State:
    items: dict[int, Item] = field(default_factory=dict)
    attempts: dict[int, Attempt] = field(default_factory=dict)
    tags: dict[int, Tag] = field(default_factory=dict)
    audio_blobs: dict[str, AudioBlob] = field(default_factory=dict)
    # Counters only grow, so ids are never reused (API §1.5).
    last_item_id: int = 0
    last_attempt_id: int = 0
    last_tag_id: int = 0

    def copy(self) -> _State:
        # Shallow copies suffice because stored entities are replaced, never mutated.
        return _State(
            items=dict(self.items),
            attempts=dict(self.attempts),
            tags=dict(self.tags),
            audio_blobs=dict(self.audio_blobs),
            last_item_id=self.last_item_id,
            last_attempt_id=self.last_attempt_id,
            last_tag_id=self.last_tag_id,
        )


class MemoryStore:
    """The committed state shared by every unit of work of one process (or one test)."""

    def __init__(self) -> None:
        self.state = _State()
        self.lock = asyncio.Lock()
        self.owner: asyncio.Task[Any] | None = None


def _copy_item(item: Item) -> Item:
    return replace(item, tags=list(item.tags))


def _utc(moment: datetime) -> datetime:
    """Store what SQL stores: the same instant in UTC; naive values are refused like there."""
    if moment.tzinfo is None:
        raise TypeError("tzinfo is required")
    return moment.astimezone(UTC)


def _tag_key(name: str) -> str:
    return name.strip().casefold()


class MemoryItemRepository(ItemRepository):
    def __init__(self, state: _State) -> None:
        self._state = state

    async def add_many(self, items: Sequence[Item]) -> list[Item]:
        added: list[Item] = []
        for item in items:
            self._state.last_item_id += 1
            item_id = self._state.last_item_id
            stored = replace(
                item,
                id=item_id,
                tags=list(item.tags),
                created_at=_utc(item.created_at),
                updated_at=_utc(item.updated_at),
                practiced=False,
                audio_duration_ms=None,
            )
            self._state.items[item_id] = stored
            added.append(_copy_item(stored))
        return added

    async def get(self, item_id: int) -> Item | None:
        stored = self._state.items.get(item_id)
        return None if stored is None else self._read(stored, self._practiced_ids())

    async def text(self, item_id: int) -> ItemText | None:
        stored = self._state.items.get(item_id)
        return None if stored is None else ItemText(stored.text, stored.locale)

    async def update(self, item: Item) -> None:
        if item.id is None:
            raise ValueError("cannot update an item that was never added")
        stored = self._state.items.get(item.id)
        if stored is None:  # deleted meanwhile: stays deleted, as in SQL
            return
        self._state.items[item.id] = replace(
            stored,
            difficulty=item.difficulty,
            tags=list(item.tags),
            tts_status=item.tts_status,
            tts_error=item.tts_error,
            audio_key=item.audio_key,
            tts_provider=item.tts_provider,
            tts_voice=item.tts_voice,
            tts_generation=item.tts_generation,
            updated_at=_utc(item.updated_at),
        )

    async def update_tts_if_pending(self, item: Item) -> bool:
        if item.id is None:
            raise ValueError("cannot update an item that was never added")
        stored = self._state.items.get(item.id)
        if (
            stored is None
            or stored.tts_generation != item.tts_generation
            or stored.tts_status is not TtsStatus.PENDING
        ):
            return False
        self._state.items[item.id] = replace(
            stored,
            tts_status=item.tts_status,
            tts_error=item.tts_error,
            audio_key=item.audio_key,
            tts_provider=item.tts_provider,
            tts_voice=item.tts_voice,
            updated_at=_utc(item.updated_at),
        )
        return True

    async def delete(self, item_id: int) -> Item | None:
        removed = await self.get(item_id)
        if removed is None:
            return None
        del self._state.items[item_id]
        attempts = self._state.attempts
        for attempt_id in [key for key, a in attempts.items() if a.item_id == item_id]:
            del attempts[attempt_id]
        return removed

    async def pending(self) -> list[tuple[int, int]]:
        items = self._state.items.values()
        return sorted(
            (i.id or 0, i.tts_generation) for i in items if i.tts_status is TtsStatus.PENDING
        )

    def _practiced_ids(self) -> set[int]:
        return {attempt.item_id for attempt in self._state.attempts.values()}

    def _read(self, stored: Item, practiced: set[int]) -> Item:
        blob = self._state.audio_blobs.get(stored.audio_key) if stored.audio_key else None
        return replace(
            stored,
            tags=list(stored.tags),
            practiced=stored.id in practiced,
            audio_duration_ms=None if blob is None else blob.duration_ms,
        )

    async def list(self, where: ItemFilter, sort: ItemSort, page: PageRequest) -> Page[Item]:
        practiced = self._practiced_ids()
        matches = [i for i in self._state.items.values() if _matches(i, where, practiced)]
        key, descending = _SORT_KEYS[sort]
        matches.sort(key=key, reverse=descending)
        rows = matches[page.offset : page.offset + page.per_page]
        return Page(rows=[self._read(i, practiced) for i in rows], total=len(matches), request=page)


_SORT_KEYS: dict[ItemSort, tuple[Callable[[Item], Any], bool]] = {
    ItemSort.CREATED_DESC: (lambda i: (i.created_at, i.id), True),
    ItemSort.CREATED_ASC: (lambda i: (i.created_at, i.id), False),
    ItemSort.DIFFICULTY_ASC: (lambda i: (i.difficulty, i.id), False),
    ItemSort.DIFFICULTY_DESC: (lambda i: (i.difficulty, i.id), True),
}


def _matches(item: Item, where: ItemFilter, practiced: set[int]) -> bool:
    folded_tags = {tag.casefold() for tag in item.tags}
    return (
        (not where.locale or item.locale == where.locale)
        and all(tag in folded_tags for tag in where.tags if tag)
        and (where.difficulty_min is None or item.difficulty >= where.difficulty_min)
        and (where.difficulty_max is None or item.difficulty <= where.difficulty_max)
        and (where.practiced is None or (item.id in practiced) is where.practiced)
        and (not where.q or where.q in fold(item.text))
        and (where.tts_status is None or item.tts_status is where.tts_status)
    )


class MemoryTagRepository(TagRepository):
    def __init__(self, state: _State) -> None:
        self._state = state

    async def add(self, tag: Tag) -> Tag:
        key = _tag_key(tag.name)
        if any(_tag_key(existing.name) == key for existing in self._state.tags.values()):
            raise TagAlreadyExistsError(tag.name)
        self._state.last_tag_id += 1
        stored = replace(tag, id=self._state.last_tag_id, created_at=_utc(tag.created_at))
        self._state.tags[self._state.last_tag_id] = stored
        return replace(stored)

    async def list(self, limit: int, offset: int) -> tuple[list[Tag], int]:
        ordered = sorted(self._state.tags.values(), key=lambda t: (_tag_key(t.name), t.id))
        return [replace(t) for t in ordered[offset : offset + limit]], len(ordered)

    async def delete(self, tag_id: int) -> bool:
        return self._state.tags.pop(tag_id, None) is not None


class MemoryAttemptRepository(AttemptRepository):
    def __init__(self, state: _State) -> None:
        self._state = state

    async def add(self, attempt: Attempt) -> Attempt:
        (stored,) = await self.add_many([attempt])
        return stored

    async def add_many(self, attempts: Sequence[Attempt]) -> list[Attempt]:
        # All or nothing, as the SQL foreign key makes it.
        if any(a.item_id not in self._state.items for a in attempts):
            raise ItemNotFoundError()
        stored = []
        for attempt in attempts:
            self._state.last_attempt_id += 1
            added = replace(
                attempt, id=self._state.last_attempt_id, created_at=_utc(attempt.created_at)
            )
            self._state.attempts[self._state.last_attempt_id] = added
            stored.append(replace(added))
        return stored

    async def get(self, attempt_id: int) -> Attempt | None:
        stored = self._state.attempts.get(attempt_id)
        return None if stored is None else replace(stored)

    async def list(
        self, item_id: int | None, window: TimeWindow, page: PageRequest
    ) -> Page[Attempt]:
        matches = [
            a
            for a in self._state.attempts.values()
            if (item_id is None or a.item_id == item_id) and window.contains(a.created_at)
        ]
        matches.sort(key=lambda a: (a.created_at, a.id), reverse=True)
        rows = matches[page.offset : page.offset + page.per_page]
        return Page(rows=[replace(a) for a in rows], total=len(matches), request=page)


def _aggregate(attempts: Iterable[Attempt]) -> AttemptAggregate:
    return aggregate_of(sorted(attempts, key=lambda a: a.id or 0))  # summed as SQL would


class MemoryStatsRepository(StatsRepository):
    def __init__(self, state: _State) -> None:
        self._state = state

    async def summary(self, window: TimeWindow) -> tuple[AttemptAggregate, int]:
        inside = self._in_window(window)
        return _aggregate(inside), len({a.item_id for a in inside})

    async def practice_log(self, window: TimeWindow, page: PageRequest) -> Page[PracticeLogEntry]:
        by_item: dict[int, list[Attempt]] = defaultdict(list)
        for attempt in self._in_window(window):
            by_item[attempt.item_id].append(attempt)
        aggregates = {item_id: _aggregate(attempts) for item_id, attempts in by_item.items()}
        ordered = sorted(aggregates, key=lambda i: (aggregates[i].last_at, i), reverse=True)
        entries = []
        for item_id in ordered[page.offset : page.offset + page.per_page]:
            item = self._state.items[item_id]
            entries.append(
                PracticeLogEntry(
                    item_id=item_id,
                    text=item.text,
                    locale=item.locale,
                    tags=list(item.tags),
                    difficulty=item.difficulty,
                    aggregate=aggregates[item_id],
                )
            )
        return Page(rows=entries, total=len(ordered), request=page)

    async def item(self, item_id: int) -> AttemptAggregate:
        return _aggregate(a for a in self._state.attempts.values() if a.item_id == item_id)

    async def daily(
        self, first_day: date, last_day: date, item_id: int | None
    ) -> dict[date, AttemptAggregate]:
        by_day: dict[date, list[Attempt]] = defaultdict(list)
        for attempt in self._state.attempts.values():
            day = attempt.created_at.astimezone(UTC).date()
            if first_day <= day <= last_day and item_id in (None, attempt.item_id):
                by_day[day].append(attempt)
        return {day: _aggregate(attempts) for day, attempts in by_day.items()}

    def _in_window(self, window: TimeWindow) -> list[Attempt]:
        return [a for a in self._state.attempts.values() if window.contains(a.created_at)]


class MemoryAudioBlobRepository(AudioBlobRepository):
    def __init__(self, state: _State) -> None:
        self._state = state

    async def get(self, key: str) -> AudioBlob | None:
        return self._state.audio_blobs.get(key)  # frozen: safe to share

    async def put(self, blob: AudioBlob) -> None:
        self._state.audio_blobs[blob.key] = replace(blob, written_at=_utc(blob.written_at))

    async def delete(self, key: str) -> None:
        self._state.audio_blobs.pop(key, None)

    async def is_referenced(self, key: str) -> bool:
        return any(item.audio_key == key for item in self._state.items.values())

    async def stored_keys(self, keys: Sequence[str]) -> set[str]:
        # Claims live under their own keys (`_claim_key`), as `get` relies on too.
        return {key for key in keys if key in self._state.audio_blobs}

    async def lock(self, key: str) -> bool:
        # Units of work run one at a time: holding ours is the lock.
        return key in self._state.audio_blobs

    # Claims live beside the blobs under their own key, as in SQL: a zero-size row whose sha256
    # is the owner and whose written_at is the lease's last renewal.

    async def claim(self, key: str, owner: str, now: datetime, stale_before: datetime) -> bool:
        held = self._state.audio_blobs.get(_claim_key(key))
        if held is not None and held.written_at >= _utc(stale_before):
            return False
        self._state.audio_blobs[_claim_key(key)] = AudioBlob(
            key=_claim_key(key),
            sha256=owner,
            size_bytes=0,
            sample_rate=0,
            duration_ms=0,
            written_at=_utc(now),
        )
        return True

    async def renew_claim(self, key: str, owner: str, now: datetime) -> bool:
        held = self._state.audio_blobs.get(_claim_key(key))
        if held is None or held.sha256 != owner:
            return False
        self._state.audio_blobs[_claim_key(key)] = replace(held, written_at=_utc(now))
        return True

    async def release_claim(self, key: str, owner: str) -> None:
        held = self._state.audio_blobs.get(_claim_key(key))
        if held is not None and held.sha256 == owner:
            del self._state.audio_blobs[_claim_key(key)]


def _claim_key(key: str) -> str:
    return f"claim:{key}"


class MemoryUnitOfWork(UnitOfWork):
    items: MemoryItemRepository
    tags: MemoryTagRepository
    attempts: MemoryAttemptRepository
    stats: MemoryStatsRepository
    audio: MemoryAudioBlobRepository

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._state: _State | None = None

    async def __aenter__(self) -> Self:
        if self._state is not None:
            raise RuntimeError("a unit of work is entered once; ask the factory for another")
        task = asyncio.current_task()
        if task is not None and self._store.owner is task:
            # Waiting for our own lock would hang forever; SQL would not deadlock here.
            raise RuntimeError("nested units of work in one task are not supported")
        await self._store.lock.acquire()
        self._store.owner = task
        state = self._store.state.copy()
        self._state = state
        self.items = MemoryItemRepository(state)
        self.tags = MemoryTagRepository(state)
        self.attempts = MemoryAttemptRepository(state)
        self.stats = MemoryStatsRepository(state)
        self.audio = MemoryAudioBlobRepository(state)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._state = None  # drops whatever was not committed
        self._store.owner = None
        self._store.lock.release()

    async def commit(self) -> None:
        if self._state is None:
            raise RuntimeError("use the unit of work in `async with`")
        # Publish a copy: writes made after commit() stay in the working state and are dropped
        # unless committed again.
        self._store.state = self._state.copy()


class MemoryUnitOfWorkFactory(UnitOfWorkFactory):
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    def __call__(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self._store)


class MemoryDatabase(Database):
    """Always reachable unless a test says otherwise."""

    def __init__(self, healthy: bool = True) -> None:
        self.healthy = healthy

    async def ping(self) -> None:
        if not self.healthy:
            raise ConnectionError("memory database marked unhealthy")
