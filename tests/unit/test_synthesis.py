"""The TTS job body over in-memory adapters and the real fake engine: state, not calls."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.audio.filesystem import FilesystemAudioStore
from adapters.memory import MemoryStore, MemoryUnitOfWorkFactory
from adapters.tts.fake import FakeTtsGateway
from application.audio import AudioService
from application.items import ItemDraft, ItemService
from application.ports import TtsGateway
from application.synthesis import RetryPolicy, SynthesisService, try_claim
from application.voices import VoiceCatalogue
from domain.audio import audio_key
from domain.items import Item, TtsStatus
from tests.support.gateways import CountingGateway, RenamedGateway
from tests.support.queues import RecordingQueue
from tests.support.stores import FullDiskStore, PausingStore


class FixedClock:
    def now(self) -> datetime:
        return datetime(2026, 11, 24, 13, 0, tzinfo=UTC)


class World:
    def __init__(
        self,
        tmp_path: Path,
        gateways: list[TtsGateway],
        retries: int = 2,
        database: MemoryStore | None = None,
        store: FilesystemAudioStore | None = None,
    ) -> None:
        self.database = database or MemoryStore()
        self.uow = MemoryUnitOfWorkFactory(self.database)
        self.queue = RecordingQueue()
        self.voices = VoiceCatalogue(gateways=gateways, supported=[])
        self.store = store or PausingStore(tmp_path / "audio")
        self.delays: list[float] = []
        clock = FixedClock()

        async def sleep(seconds: float) -> None:
            self.delays.append(seconds)

        self.synthesis = SynthesisService(
            uow=self.uow,
            voices=self.voices,
            store=self.store,
            clock=clock,
            retry=RetryPolicy(max_retries=retries, base_seconds=2.0),
            sleep=sleep,
        )
        self.items = ItemService(
            uow=self.uow, queue=self.queue, voices=self.voices, store=self.store, clock=clock
        )
        self.audio = AudioService(
            uow=self.uow, queue=self.queue, voices=self.voices, store=self.store, clock=clock
        )

    async def create(self, text: str = "Hyvää huomenta!", locale: str = "fi") -> Item:
        return await self.items.create(ItemDraft(locale=locale, text=text))

    async def run_queued(self) -> None:
        jobs, self.queue.jobs = self.queue.jobs, []
        for job in jobs:
            await self.synthesis.run(job)

    async def item(self, item_id: int | None) -> Item:
        assert item_id is not None
        return await self.items.get(item_id)


@pytest.fixture
def fake() -> CountingGateway:
    return CountingGateway(FakeTtsGateway())


@pytest.fixture
def world(tmp_path: Path, fake: CountingGateway) -> World:
    return World(tmp_path, [fake])


async def test_job_makes_audio_and_marks_ready(world: World) -> None:
    created = await world.create()
    await world.run_queued()
    item = await world.item(created.id)
    assert item.tts_status is TtsStatus.READY and item.tts_error is None
    assert item.audio_key == audio_key("fake", "fake-a", "fi", "Hyvää huomenta!")
    assert item.audio_duration_ms == 800
    assert await world.store.locate(item.audio_key) is not None


async def test_running_a_job_twice_is_harmless(world: World, fake: CountingGateway) -> None:
    created = await world.create()
    job = world.queue.jobs[0]
    await world.synthesis.run(job)
    await world.synthesis.run(job)
    assert fake.successes == 1
    assert (await world.item(created.id)).tts_status is TtsStatus.READY


async def test_jobs_for_deleted_or_regenerated_items_do_nothing(
    world: World, fake: CountingGateway
) -> None:
    deleted = await world.create()
    assert deleted.id is not None
    await world.items.delete(deleted.id)
    refreshed = await world.create(text="Kiitos")
    assert refreshed.id is not None
    await world.audio.refresh(refreshed.id, None)  # generation 2; the generation-1 job is stale
    stale = world.queue.jobs[:2]
    for job in stale:
        await world.synthesis.run(job)
    assert fake.calls == []
    await world.synthesis.run(world.queue.jobs[2])
    assert (await world.item(refreshed.id)).tts_status is TtsStatus.READY


async def test_same_key_is_synthesised_once_even_concurrently(
    tmp_path: Path,
) -> None:
    slow = CountingGateway(FakeTtsGateway(), delay=0.05)
    world = World(tmp_path, [slow])
    first, second = await world.create(), await world.create(text=" Hyvää  huomenta! ")
    await asyncio.gather(*(world.synthesis.run(job) for job in world.queue.jobs))
    assert slow.successes == 1
    a, b = await world.item(first.id), await world.item(second.id)
    assert a.audio_key == b.audio_key and a.tts_status is b.tts_status is TtsStatus.READY


async def test_transient_failures_back_off_exponentially(tmp_path: Path) -> None:
    flaky = CountingGateway(FakeTtsGateway(), transient_failures=2)
    world = World(tmp_path, [flaky], retries=2)
    created = await world.create()
    await world.run_queued()
    assert (await world.item(created.id)).tts_status is TtsStatus.READY
    assert len(flaky.calls) == 3
    assert 2.0 <= world.delays[0] <= 2.2 and 4.0 <= world.delays[1] <= 4.4


async def test_retries_exhausted_and_permanent_failures(world: World) -> None:
    transient = await world.create(text="x #fail-transient")
    permanent = await world.create(text="y #fail-permanent")
    await world.run_queued()
    failed = await world.item(transient.id)
    assert failed.tts_status is TtsStatus.FAILED
    assert failed.tts_error == "Gave up after 3 attempts: fake: transient failure requested"
    assert (await world.item(permanent.id)).tts_error == "fake: permanent failure requested"
    assert len(world.delays) == 2  # no backoff for the permanent failure


async def test_audio_that_cannot_be_written_is_retried_then_fails_the_item(
    tmp_path: Path, fake: CountingGateway
) -> None:
    """A full disk must not leave the item pending until the next restart: the write is
    retried with the backoff of transient failures, then the item fails with the reason (and no
    path). A refresh once there is room makes the audio."""
    store = FullDiskStore(tmp_path / "audio", failures=1)
    world = World(tmp_path, [fake], store=store)
    recovered = await world.create(text="Kiitos")
    await world.run_queued()
    item = await world.item(recovered.id)
    assert item.tts_status is TtsStatus.READY and store.saves == 2
    assert item.audio_key is not None and await world.store.locate(item.audio_key) is not None
    assert len(world.delays) == 1 and 2.0 <= world.delays[0] <= 2.2
    assert len(fake.calls) == 1  # spoken once: only the write is tried again

    store.failures = 3
    full = await world.create(text="Hyvää yötä")
    await world.run_queued()
    failed = await world.item(full.id)
    assert failed.tts_status is TtsStatus.FAILED and failed.audio_key is None
    assert failed.tts_error == "Gave up after 3 attempts: audio storage: No space left on device"
    key = audio_key("fake", "fake-a", "fi", "Hyvää yötä")
    assert await world.store.locate(key) is None

    assert full.id is not None
    await world.audio.refresh(full.id, None)
    await world.run_queued()
    assert (await world.item(full.id)).tts_status is TtsStatus.READY


async def test_failover_uses_the_second_provider_and_records_it(tmp_path: Path) -> None:
    primary = CountingGateway(FakeTtsGateway(available=False))
    backup = RenamedGateway(FakeTtsGateway(), "local")
    world = World(tmp_path, [primary, backup], retries=1)
    created = await world.create()
    await world.run_queued()
    item = await world.item(created.id)
    assert item.tts_status is TtsStatus.READY
    assert (item.tts_provider, item.tts_voice) == ("local", "fake-a")
    assert item.audio_key == audio_key("local", "fake-a", "fi", "Hyvää huomenta!")


async def test_failover_writes_its_file_under_the_failover_keys_claim(tmp_path: Path) -> None:
    # The claim guards a key's file against deletes (`end_claim` unlinks files of unstored
    # keys), so a file written without its key's claim could vanish before it is recorded.
    backup = RenamedGateway(FakeTtsGateway(), "local")
    world = World(tmp_path, [CountingGateway(FakeTtsGateway(available=False)), backup], retries=0)
    created = await world.create()
    primary_key = audio_key("fake", "fake-a", "fi", "Hyvää huomenta!")
    spoken_key = audio_key("local", "fake-a", "fi", "Hyvää huomenta!")
    world.store.arm("save")
    job = asyncio.create_task(world.synthesis.run(world.queue.jobs[0]))
    await world.store.paused()
    now = FixedClock().now()
    async with world.uow() as uow:
        assert not await try_claim(uow, spoken_key, "another job", now)
        assert await try_claim(uow, primary_key, "another job", now)  # ours was released
        await uow.audio.release_claim(primary_key, "another job")
        await uow.commit()
    world.store.resume()
    assert await job == "synthesized"
    item = await world.item(created.id)
    assert (item.tts_status, item.audio_key) == (TtsStatus.READY, spoken_key)
    assert await world.store.locate(spoken_key) is not None
    async with world.uow() as uow:  # and the claim was released with the settle
        assert await try_claim(uow, spoken_key, "another job", now)


async def test_failover_links_to_audio_already_stored_under_the_failover_key(
    tmp_path: Path,
) -> None:
    backup = RenamedGateway(FakeTtsGateway(), "local")
    world = World(tmp_path, [CountingGateway(FakeTtsGateway(available=False)), backup], retries=0)
    first = await world.create()
    await world.run_queued()
    stored = await world.item(first.id)
    second = await world.create(text=" Hyvää  huomenta! ")
    assert await world.synthesis.run(world.queue.jobs[0]) == "reused"
    item = await world.item(second.id)
    assert (item.tts_status, item.tts_provider, item.audio_key) == (
        TtsStatus.READY,
        "local",
        stored.audio_key,
    )


async def test_failover_failure_names_both_providers(tmp_path: Path) -> None:
    first = CountingGateway(FakeTtsGateway())
    second = RenamedGateway(FakeTtsGateway(), "local")
    world = World(tmp_path, [first, second], retries=0)
    created = await world.create(text="z #fail-permanent")
    await world.run_queued()
    assert (await world.item(created.id)).tts_error == (
        "fake: permanent failure requested; local: permanent failure requested"
    )


async def test_job_recorded_for_another_provider_re_resolves(tmp_path: Path) -> None:
    old = World(tmp_path, [RenamedGateway(FakeTtsGateway(), "azure")])
    created = await old.create(locale="fi-FI")
    assert created.tts_provider == "azure"
    fresh = World(tmp_path, [CountingGateway(FakeTtsGateway())])
    fresh.uow = old.uow  # same database, provider changed in the configuration
    fresh.synthesis._uow = old.uow
    fresh.items = ItemService(
        uow=old.uow, queue=fresh.queue, voices=fresh.voices, store=fresh.store, clock=FixedClock()
    )
    await fresh.synthesis.run(old.queue.jobs[0])
    item = await fresh.item(created.id)
    assert (item.tts_status, item.tts_provider, item.tts_voice) == (
        TtsStatus.READY,
        "fake",
        "fake-a",
    )


async def test_error_text_is_capped_at_500_characters(tmp_path: Path) -> None:
    first = CountingGateway(FakeTtsGateway())
    names = [RenamedGateway(FakeTtsGateway(), f"p{n}" * 40) for n in range(5)]
    world = World(tmp_path, [first, *names], retries=0)
    created = await world.create(text="w #fail-permanent")
    await world.run_queued()
    error = (await world.item(created.id)).tts_error
    assert error is not None and len(error) == 500


async def test_delete_releases_audio_only_when_unshared(world: World) -> None:
    first, second = await world.create(), await world.create()
    await world.run_queued()
    key = (await world.item(first.id)).audio_key
    assert key is not None
    assert first.id is not None and second.id is not None
    await world.items.delete(first.id)
    assert await world.store.locate(key) is not None
    await world.items.delete(second.id)
    assert await world.store.locate(key) is None
    async with world.uow() as uow:
        assert await uow.audio.get(key) is None


async def test_a_delete_queued_behind_a_jobs_look_leaves_the_item_its_audio(
    world: World, fake: CountingGateway
) -> None:
    first = await world.create()
    await world.run_queued()
    second = await world.create()
    assert first.id is not None and second.id is not None
    [job] = world.queue.jobs
    world.store.arm("locate")
    running = asyncio.create_task(world.synthesis.run(job))
    await world.store.paused()  # the job has seen the audio stored, inside its unit of work
    deleting = asyncio.create_task(world.items.delete(first.id))
    await asyncio.sleep(0)  # the delete (of the key's last item) now waits for that unit of work
    world.store.resume()
    outcome, _ = await asyncio.gather(running, deleting)

    served = await world.audio.file(second.id)  # raises when the file is missing
    assert served.item.tts_status is TtsStatus.READY and served.path.is_file()
    assert outcome == "synthesized"  # made again, not linked to the released audio
    assert fake.successes == 2
