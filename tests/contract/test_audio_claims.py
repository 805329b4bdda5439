"""Exactly-once audio across processes: the claim contract, then SynthesisService racing itself.

The claim operations of AudioBlobRepository behave the same on memory, SQLite and Postgres. The
race tests run two SynthesisService instances, each with its own engine (a separate "process"),
on one database and one audio directory, and count what the TTS engine was asked to do.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from adapters.audio.filesystem import FilesystemAudioStore
from adapters.clock import SystemClock
from adapters.persistence.engine import create_engine
from adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from adapters.tts.fake import FakeTtsGateway
from application.ports import SynthesisJob, TtsGateway, UnitOfWorkFactory
from application.synthesis import RetryPolicy, SynthesisService
from application.voices import VoiceCatalogue
from domain.audio import AudioBlob, SynthesizedAudio, audio_key
from domain.items import Item, TtsStatus
from tests.contract.test_repositories import (  # the persistence contract's own fixtures
    add_items,
    database_url,
    make_blob,
    make_item,
    uow_factory,
)
from tests.support.gateways import CountingGateway

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
    """The fake engine taking a while, so racing jobs really overlap; records overlaps."""

    def __init__(self, overlaps: Overlaps, seconds: float = 0.2) -> None:
        super().__init__(FakeTtsGateway())
        self._overlaps = overlaps
        self._seconds = seconds

    async def synthesize(self, text: str, locale: str, voice: str) -> SynthesizedAudio:
        self._overlaps.now += 1
        self._overlaps.most = max(self._overlaps.most, self._overlaps.now)
        try:
            await asyncio.sleep(self._seconds)
            return await super().synthesize(text, locale, voice)
        finally:
            self._overlaps.now -= 1


class Process:
    """What one worker process has: its own engine, service and engine instance."""

    def __init__(self, url: str, audio_dir: Path, overlaps: Overlaps) -> None:
        self.engine = create_engine(url)
        self.uow = SqlUnitOfWorkFactory(self.engine)
        self.gateway = SlowGateway(overlaps)
        gateways: Sequence[TtsGateway] = [self.gateway]
        self.synthesis = SynthesisService(
            uow=self.uow,
            voices=VoiceCatalogue(gateways=gateways, supported=[]),
            store=FilesystemAudioStore(root=audio_dir),
            clock=SystemClock(),
            retry=RetryPolicy(max_retries=0, base_seconds=0.0),
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
