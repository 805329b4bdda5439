"""Exactly-once audio across processes: the claim contract, then SynthesisService racing itself.

The claim operations of AudioBlobRepository behave the same on memory, SQLite and Postgres. The
race tests run two SynthesisService instances, each with its own engine (a separate "process"),
on one database and one audio directory, and count what the TTS engine was asked to do. The last
ones race jobs against deletes of the items that share their audio.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from adapters.clock import SystemClock
from adapters.persistence.engine import create_engine
from adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from adapters.tts.fake import FakeTtsGateway
from application.audio import AudioService
from application.items import ItemService
from application.ports import SynthesisJob, TtsGateway, UnitOfWorkFactory
from application.synthesis import RetryPolicy, SynthesisService
from application.voices import VoiceCatalogue
from domain.audio import AudioBlob, SynthesizedAudio, audio_key
from domain.errors import PermanentTtsError
from domain.items import Item, TtsStatus
from tests.contract.test_repositories import (  # the persistence contract's own fixtures
    add_items,
    database_url,
    make_blob,
    make_item,
    uow_factory,
)
from tests.support.gateways import CountingGateway
from tests.support.queues import RecordingQueue
from tests.support.stores import PausingStore

__all__ = ["database_url", "uow_factory"]  # fixtures, used by name

T0 = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
LEASE = timedelta(seconds=15)
KEY = "ab" * 32


async def claim(factory: UnitOfWorkFactory, owner: str, now: datetime, key: str = KEY) -> bool:
    async with factory() as uow:
        taken = await uow.audio.claim(key, owner, now, now - LEASE)
        await uow.commit()
    return taken


async def renew(factory: UnitOfWorkFactory, owner: str, now: datetime) -> bool:
    async with factory() as uow:
        renewed = await uow.audio.renew_claim(KEY, owner, now)
        await uow.commit()
    return renewed


async def release(factory: UnitOfWorkFactory, owner: str) -> None:
    async with factory() as uow:
        await uow.audio.release_claim(KEY, owner)
        await uow.commit()


# ------------------------------------------------------------------------- the claim contract


async def test_a_claim_is_exclusive_until_its_owner_releases_it(
    uow_factory: UnitOfWorkFactory,
) -> None:
    assert await claim(uow_factory, "a", T0) is True
    assert await claim(uow_factory, "b", T0 + timedelta(seconds=1)) is False
    assert await claim(uow_factory, "a", T0 + timedelta(seconds=1)) is False  # not re-entrant
    assert await claim(uow_factory, "b", T0, key="cd" * 32) is True  # other keys are free

    await release(uow_factory, "b")  # not b's: nothing happens
    assert await claim(uow_factory, "c", T0 + timedelta(seconds=2)) is False
    await release(uow_factory, "a")
    assert await claim(uow_factory, "c", T0 + timedelta(seconds=2)) is True


async def test_a_lapsed_claim_is_taken_over_and_its_old_owner_loses_it(
    uow_factory: UnitOfWorkFactory,
) -> None:
    assert await claim(uow_factory, "dead", T0)
    assert await renew(uow_factory, "dead", T0 + timedelta(seconds=10)) is True
    # 20 s after the renewal at T0+10 the lease (15 s) has lapsed; at 24 s it had not.
    assert await claim(uow_factory, "b", T0 + timedelta(seconds=24)) is False
    assert await claim(uow_factory, "b", T0 + timedelta(seconds=30)) is True

    assert await renew(uow_factory, "dead", T0 + timedelta(seconds=31)) is False
    await release(uow_factory, "dead")  # a late release from the old owner changes nothing
    assert await claim(uow_factory, "c", T0 + timedelta(seconds=32)) is False
    assert await renew(uow_factory, "b", T0 + timedelta(seconds=32)) is True


async def test_claims_are_invisible_to_readers_of_the_key(uow_factory: UnitOfWorkFactory) -> None:
    stored = make_blob(KEY)
    async with uow_factory() as uow:
        await uow.audio.put(stored)
        await uow.commit()
    # A forced re-synthesis claims a key whose audio keeps serving meanwhile.
    assert await claim(uow_factory, "forced", T0)
    assert await claim(uow_factory, "other", T0, key="cd" * 32)
    async with uow_factory() as uow:
        assert await uow.audio.get(KEY) == stored
        assert await uow.audio.get("cd" * 32) is None
        assert await uow.audio.is_referenced("cd" * 32) is False
        await uow.audio.delete(KEY)  # releasing the audio leaves the claim alone
        await uow.commit()
    assert await claim(uow_factory, "late", T0) is False


async def test_an_uncommitted_claim_holds_nothing(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.audio.claim(KEY, "rolled-back", T0, T0 - LEASE)
    assert await claim(uow_factory, "b", T0) is True


async def test_lock_says_whether_audio_is_stored_and_changes_nothing(
    uow_factory: UnitOfWorkFactory,
) -> None:
    stored = make_blob(KEY)
    async with uow_factory() as uow:
        assert await uow.audio.lock(KEY) is False
        await uow.audio.put(stored)
        assert await uow.audio.lock(KEY) is True  # the transaction's own write
        await uow.commit()
    assert await claim(uow_factory, "holder", T0, key="cd" * 32)
    async with uow_factory() as uow:
        assert await uow.audio.lock(KEY) is True
        assert await uow.audio.lock("cd" * 32) is False  # a claim is no stored audio
        assert await uow.audio.get(KEY) == stored
        await uow.audio.delete(KEY)
        assert await uow.audio.lock(KEY) is False
        await uow.commit()


# ------------------------------------------------------------- several processes, one database


@pytest.fixture(params=["sqlite", "postgres"])
def shared_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database that several engines (processes) open."""
    fixture = "migrated_sqlite_url" if request.param == "sqlite" else "migrated_postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


class Overlaps:
    """Counts syntheses running at once, across every gateway that shares it."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0


class SlowGateway(CountingGateway):
    """The fake engine taking a while, so racing jobs really overlap; records overlaps. While
    `failing`, it refuses every text (permanently)."""

    def __init__(self, overlaps: Overlaps, seconds: float = 0.2) -> None:
        super().__init__(FakeTtsGateway())
        self._overlaps = overlaps
        self._seconds = seconds
        self.failing = False

    async def synthesize(self, text: str, locale: str, voice: str) -> SynthesizedAudio:
        self._overlaps.now += 1
        self._overlaps.most = max(self._overlaps.most, self._overlaps.now)
        try:
            await asyncio.sleep(self._seconds)
            if self.failing:
                raise PermanentTtsError("refused for the test")
            return await super().synthesize(text, locale, voice)
        finally:
            self._overlaps.now -= 1


class WatchedClock(SystemClock):
    """The system clock; `asked` is set once something asks it the time."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()

    def now(self) -> datetime:
        self.asked.set()
        return super().now()


class Process:
    """What one process has: its own engine, services and engine instance. Its store can stop
    a job of the process at a chosen point (`PausingStore.arm`)."""

    def __init__(self, url: str, audio_dir: Path, overlaps: Overlaps) -> None:
        self.engine = create_engine(url)
        self.uow = SqlUnitOfWorkFactory(self.engine)
        self.gateway = SlowGateway(overlaps)
        self.store = PausingStore(audio_dir)
        self.clock = WatchedClock()
        gateways: Sequence[TtsGateway] = [self.gateway]
        voices = VoiceCatalogue(gateways=gateways, supported=[])
        self.synthesis = SynthesisService(
            uow=self.uow,
            voices=voices,
            store=self.store,
            clock=self.clock,
            retry=RetryPolicy(max_retries=0, base_seconds=0.0),
        )
        self.queue = RecordingQueue()
        self.items = ItemService(
            uow=self.uow, queue=self.queue, voices=voices, store=self.store, clock=self.clock
        )
        self.audio = AudioService(
            uow=self.uow, queue=self.queue, voices=voices, store=self.store, clock=self.clock
        )


class Cluster:
    def __init__(self, url: str, audio_dir: Path) -> None:
        self.audio_dir = audio_dir
        self.overlaps = Overlaps()
        self.processes = [Process(url, audio_dir, self.overlaps) for _ in range(2)]
        self.uow = self.processes[0].uow

    @property
    def syntheses(self) -> int:
        return sum(p.gateway.successes for p in self.processes)

    def files(self) -> list[Path]:
        return sorted(self.audio_dir.glob("*/*.wav"))

    async def items(self, *texts: str) -> list[Item]:
        now = datetime.now(UTC)
        added = await add_items(
            self.uow, *(replace(make_item(t), created_at=now, updated_at=now) for t in texts)
        )
        return added

    async def get(self, item_id: int | None) -> Item:
        assert item_id is not None
        async with self.uow() as uow:
            item = await uow.items.get(item_id)
        assert item is not None
        return item

    async def close(self) -> None:
        for process in self.processes:
            await process.engine.dispose()


@pytest_asyncio.fixture
async def cluster(shared_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    cluster = Cluster(shared_url, tmp_path / "audio")
    try:
        yield cluster
    finally:
        await cluster.close()


def job(item: Item, *, forced: bool = False) -> SynthesisJob:
    assert item.id is not None
    return SynthesisJob(item.id, item.tts_generation, forced=forced)


async def test_two_processes_with_one_key_make_one_synthesis(cluster: Cluster) -> None:
    first, second = await cluster.items("Hyvää huomenta!", "Hyvää   huomenta!")  # one key
    [a, b] = cluster.processes
    await asyncio.gather(a.synthesis.run(job(first)), b.synthesis.run(job(second)))

    assert cluster.syntheses == 1
    settled = [await cluster.get(first.id), await cluster.get(second.id)]
    assert {i.tts_status for i in settled} == {TtsStatus.READY}
    assert {i.audio_key for i in settled} == {audio_key("fake", "fake-a", "fi", "Hyvää huomenta!")}
    assert len(cluster.files()) == 1


async def test_a_job_delivered_twice_to_two_processes_synthesises_once(cluster: Cluster) -> None:
    [item] = await cluster.items("Kiitos paljon")
    [a, b] = cluster.processes
    await asyncio.gather(*(p.synthesis.run(job(item)) for p in (a, b, a, b)))
    assert cluster.syntheses == 1
    assert (await cluster.get(item.id)).tts_status is TtsStatus.READY
    assert len(cluster.files()) == 1


async def test_many_items_over_few_keys_make_one_synthesis_per_key(cluster: Cluster) -> None:
    texts = [f"Lause numero {n % 4}" for n in range(12)]  # 4 keys, 3 items each
    items = await cluster.items(*texts)
    [a, b] = cluster.processes
    await asyncio.gather(
        *((a if n % 2 else b).synthesis.run(job(item)) for n, item in enumerate(items))
    )
    assert cluster.syntheses == 4
    assert {(await cluster.get(i.id)).tts_status for i in items} == {TtsStatus.READY}
    assert len(cluster.files()) == 4


async def test_forced_jobs_on_one_key_resynthesise_one_at_a_time(cluster: Cluster) -> None:
    first, second = await cluster.items("Näkemiin", "Näkemiin")
    [a, b] = cluster.processes
    await asyncio.gather(a.synthesis.run(job(first)), b.synthesis.run(job(second)))
    assert cluster.syntheses == 1
    # Both refreshed (what AudioService.refresh records), then forced jobs race.
    refreshed = []
    for item in (await cluster.get(first.id), await cluster.get(second.id)):
        item = replace(item, tts_status=TtsStatus.PENDING, audio_key=None)
        item.tts_generation += 1
        async with cluster.uow() as uow:
            await uow.items.update(item)
            await uow.commit()
        refreshed.append(item)
    await asyncio.gather(
        a.synthesis.run(job(refreshed[0], forced=True)),
        b.synthesis.run(job(refreshed[1], forced=True)),
    )
    assert cluster.syntheses == 3  # forced: each re-synthesises …
    assert cluster.overlaps.most == 1  # … but never two at once
    assert {(await cluster.get(i.id)).tts_status for i in refreshed} == {TtsStatus.READY}
    assert len(cluster.files()) == 1


async def test_a_dead_processs_claim_is_taken_over(cluster: Cluster) -> None:
    [item] = await cluster.items("Hyvää yötä")
    key = audio_key("fake", "fake-a", "fi", "Hyvää yötä")
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)  # last renewed long ago: SIGKILLed
    async with cluster.uow() as uow:
        assert await uow.audio.claim(key, "killed-worker", an_hour_ago, an_hour_ago - LEASE)
        await uow.commit()
    await asyncio.wait_for(cluster.processes[0].synthesis.run(job(item)), timeout=10)
    assert cluster.syntheses == 1
    assert (await cluster.get(item.id)).tts_status is TtsStatus.READY
    async with cluster.uow() as uow:
        blob = await uow.audio.get(key)
        # the claim went with the synthesis: the key is free again
        assert await uow.audio.claim(key, "next", datetime.now(UTC), an_hour_ago)
    assert isinstance(blob, AudioBlob) and blob.size_bytes > 44


async def test_concurrent_claims_from_many_connections_have_one_winner(shared_url: str) -> None:
    engines = [create_engine(shared_url) for _ in range(6)]
    try:
        now = datetime.now(UTC)
        results = await asyncio.gather(
            *(claim(SqlUnitOfWorkFactory(e), f"owner-{n}", now) for n, e in enumerate(engines))
        )
        assert sorted(results) == [False] * 5 + [True]
    finally:
        for engine in engines:
            await engine.dispose()


# ------------------------------------------------ deletes racing jobs that share their audio


async def sees_reference_after_lock(factory: UnitOfWorkFactory, key: str) -> bool:
    async with factory() as uow:
        await uow.audio.lock(key)
        return await uow.audio.is_referenced(key)


async def sees_audio_after_lock(factory: UnitOfWorkFactory, key: str) -> bool:
    async with factory() as uow:
        return await uow.audio.lock(key)


async def test_a_lock_makes_another_connection_wait_and_see_the_outcome(cluster: Cluster) -> None:
    [a, b] = cluster.processes
    [item] = await cluster.items("Yksi")
    linked, released = "ab" * 32, "cd" * 32
    async with a.uow() as uow:
        for key in (linked, released):
            await uow.audio.put(make_blob(key))
        await uow.commit()

    # A job links an item to stored audio: a release of that audio waits, then sees the link.
    async with a.uow() as uow:
        ready = replace(item, tts_status=TtsStatus.READY, audio_key=linked)
        assert await uow.items.update_tts_if_pending(ready)
        assert await uow.audio.lock(linked)
        releasing = asyncio.create_task(sees_reference_after_lock(b.uow, linked))
        await asyncio.sleep(0.2)
        assert not releasing.done()
        await uow.commit()
    assert await asyncio.wait_for(releasing, timeout=10) is True

    # A release drops audio: a job about to link to it waits, then finds it gone.
    async with b.uow() as uow:
        assert await uow.audio.lock(released)
        await uow.audio.delete(released)
        linking = asyncio.create_task(sees_audio_after_lock(a.uow, released))
        await asyncio.sleep(0.2)
        assert not linking.done()
        await uow.commit()
    assert await asyncio.wait_for(linking, timeout=10) is False


def id_of(item: Item) -> int:
    assert item.id is not None
    return item.id


async def assert_ready_with_its_file(process: Process, item: Item) -> None:
    served = await process.audio.file(id_of(item))  # raises when the file is missing
    assert served.item.tts_status is TtsStatus.READY and served.path.is_file()


async def test_a_delete_between_a_jobs_look_and_its_link_leaves_the_item_its_audio(
    cluster: Cluster,
) -> None:
    [worker, api] = cluster.processes
    [first] = await cluster.items("Hyvää päivää")
    assert await worker.synthesis.run(job(first)) == "synthesized"
    [second] = await cluster.items("Hyvää  päivää")  # the same audio key
    worker.store.arm("locate")
    running = asyncio.create_task(worker.synthesis.run(job(second)))
    await worker.store.paused()  # the job has seen the audio stored, and not linked it yet
    await api.items.delete(id_of(first))  # the key's last item: its audio is released
    worker.store.resume()
    outcome = await asyncio.wait_for(running, timeout=10)

    await assert_ready_with_its_file(api, second)
    assert outcome == "synthesized"  # made again, not linked to the released audio
    assert cluster.syntheses == 2
    assert len(cluster.files()) == 1


async def test_a_delete_while_a_job_holds_the_claim_to_reuse_the_audio(cluster: Cluster) -> None:
    [a, b] = cluster.processes
    first, second = await cluster.items("Hyvää iltaa", "Hyvää iltaa")
    a.store.arm("save")
    making = asyncio.create_task(a.synthesis.run(job(first)))
    await a.store.paused()  # a wrote the file and holds the key's claim
    b.store.arm("locate")
    reusing = asyncio.create_task(b.synthesis.run(job(second)))
    await asyncio.wait_for(b.clock.asked.wait(), timeout=10)  # b found no audio, wants the claim
    a.store.resume()
    assert await asyncio.wait_for(making, timeout=10) == "synthesized"
    await b.store.paused()  # b took the claim and has seen a's audio stored
    await a.items.delete(id_of(first))  # the key's last item: its audio is released
    b.store.resume()
    outcome = await asyncio.wait_for(reusing, timeout=10)

    await assert_ready_with_its_file(a, second)
    assert outcome == "synthesized"
    assert len(cluster.files()) == 1


async def forced_job_after_refresh(cluster: Cluster, text: str) -> tuple[Item, Item, SynthesisJob]:
    """Two items sharing one stored audio; the first refreshed (its reference released)."""
    [a, _] = cluster.processes
    first, second = await cluster.items(text, text)
    assert [await a.synthesis.run(job(i)) for i in (first, second)] == ["synthesized", "reused"]
    await a.audio.refresh(id_of(first), None)
    [forced] = a.queue.jobs
    return first, second, forced


async def test_a_delete_during_a_synthesis_of_its_key_keeps_the_new_file(
    cluster: Cluster,
) -> None:
    [a, b] = cluster.processes
    first, second, forced = await forced_job_after_refresh(cluster, "Näkemiin")
    a.store.arm("save")
    making = asyncio.create_task(a.synthesis.run(forced))
    await a.store.paused()  # the new file is written, not yet recorded
    await b.items.delete(id_of(second))  # the key's last item: its audio is released
    a.store.resume()
    outcome = await asyncio.wait_for(making, timeout=10)

    await assert_ready_with_its_file(b, first)
    assert outcome == "synthesized"


async def test_a_file_released_while_its_key_is_claimed_is_unlinked_by_the_claim_holder(
    cluster: Cluster,
) -> None:
    [a, b] = cluster.processes
    first, second, forced = await forced_job_after_refresh(cluster, "Hei hei")
    key = audio_key("fake", "fake-a", "fi", "Hei hei")
    a.gateway.failing = True
    a.store.arm("locate")
    making = asyncio.create_task(a.synthesis.run(forced))
    await a.store.paused()  # the forced job holds the key's claim
    await b.items.delete(id_of(second))  # the key's last item: its audio is released
    a.store.resume()
    assert await asyncio.wait_for(making, timeout=10) == "failed"

    assert (await cluster.get(first.id)).tts_status is TtsStatus.FAILED
    assert cluster.files() == []  # not leaked
    async with cluster.uow() as uow:
        assert await uow.audio.get(key) is None
    assert await claim(cluster.uow, "next", datetime.now(UTC), key=key)  # and the key is free
