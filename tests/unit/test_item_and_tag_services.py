"""ItemService and TagService over the in-memory adapters: state, not calls."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.audio.filesystem import FilesystemAudioStore
from adapters.memory import MemoryStore, MemoryUnitOfWorkFactory
from adapters.tts.fake import FakeTtsGateway
from application.items import ItemDraft, ItemService
from application.ports import SynthesisJob
from application.tags import TagService
from application.voices import VoiceCatalogue
from domain.errors import InvalidInputError, ItemNotFoundError, TagAlreadyExistsError
from domain.listing import ItemFilter, ItemSort
from domain.pages import PageRequest
from tests.support.queues import RecordingQueue

NOW = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return NOW


@pytest.fixture
def uow() -> MemoryUnitOfWorkFactory:
    return MemoryUnitOfWorkFactory(MemoryStore())


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
def items(uow: MemoryUnitOfWorkFactory, queue: RecordingQueue, tmp_path: Path) -> ItemService:
    return ItemService(
        uow=uow,
        queue=queue,
        voices=VoiceCatalogue(gateways=[FakeTtsGateway()], supported=["fi", "en"]),
        store=FilesystemAudioStore(root=tmp_path),
        clock=FixedClock(),
    )


async def test_create_records_voice_and_queues_after_commit(
    items: ItemService, queue: RecordingQueue
) -> None:
    item = await items.create(ItemDraft(locale="FI-fi", text="Hei", tags=[" a ", "A"]))
    assert (item.locale, item.tags, item.difficulty) == ("fi-FI", ["a"], 1)
    assert (item.tts_provider, item.tts_voice) == ("fake", "fake-a")
    assert queue.jobs == [SynthesisJob(item.id or 0, 1)]


async def test_bulk_is_all_or_nothing_and_queues_nothing_on_error(
    items: ItemService, queue: RecordingQueue
) -> None:
    drafts = [ItemDraft(locale="fi", text="ok"), ItemDraft(locale="sv", text="nej")]
    with pytest.raises(InvalidInputError) as error:
        await items.create_many(drafts)
    assert error.value.problems[0].key == "items[1].locale"
    assert "Supported locales: en, en-GB, en-US, fi, fi-FI" in error.value.problems[0].message
    page = await items.list(ItemFilter(), ItemSort.CREATED_DESC, PageRequest())
    assert page.total == 0 and queue.jobs == []


async def test_updates_return_previous_values(items: ItemService) -> None:
    item = await items.create(ItemDraft(locale="en", text="Thanks", tags=["x"], difficulty=2))
    assert item.id is not None
    previous, updated = await items.replace_tags(item.id, ["y", "Y"])
    assert (previous, updated.tags) == (["x"], ["y"])
    old, changed = await items.set_difficulty(item.id, 4)
    assert (old, changed.difficulty) == (2, 4)
    with pytest.raises(ItemNotFoundError):
        await items.set_difficulty(999, 3)


async def test_requeue_pending_queues_every_pending_item_in_id_order(
    items: ItemService, queue: RecordingQueue
) -> None:
    first = await items.create(ItemDraft(locale="fi", text="yksi"))
    second = await items.create(ItemDraft(locale="fi", text="kaksi"))
    queue.jobs.clear()
    assert await items.requeue_pending() == 2
    assert [job.item_id for job in queue.jobs] == [first.id, second.id]


async def test_tags_are_unique_casefolded_and_deletable(uow: MemoryUnitOfWorkFactory) -> None:
    tags = TagService(uow=uow, clock=FixedClock())
    verbs = await tags.create("  Verbs ")
    with pytest.raises(TagAlreadyExistsError, match="Tag with name 'VERBS' already exists"):
        await tags.create("VERBS")
    assert (await tags.list(10, 0))[1] == 1
    await tags.delete(verbs.id or 0)
    assert (await tags.list(10, 0)) == ([], 0)
