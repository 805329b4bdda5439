"""The start-up sweep of orphaned audio files, over in-memory adapters and the real filesystem
store: which files go, which stay, and that a key's claim keeps the sweep off its file."""

from __future__ import annotations

import hashlib
import logging
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from adapters.tts.fake import FakeTtsGateway
from application.audio import sweep_orphan_audio
from application.synthesis import try_claim
from tests.unit.test_synthesis import FixedClock, World

NOW = FixedClock().now()
OLD = NOW - timedelta(hours=2)


def written_at(path: Path, moment: datetime) -> Path:
    os.utime(path, (moment.timestamp(), moment.timestamp()))
    return path


async def orphan(world: World, name: str, moment: datetime = OLD) -> str:
    """A file on disk that no metadata records, as a crash after the write leaves it."""
    key = hashlib.sha256(name.encode()).hexdigest()
    await world.store.save(key, b"RIFF")
    written_at(world.store.path_for(key), moment)
    return key


async def claim(world: World, key: str, owner: str, now: datetime) -> None:
    async with world.uow() as uow:
        assert await try_claim(uow, key, owner, now)
        await uow.commit()


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path, [FakeTtsGateway()])


async def test_old_orphans_go_and_recorded_audio_stays(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    created = await world.create()
    await world.run_queued()
    recorded = (await world.item(created.id)).audio_key
    assert recorded is not None
    written_at(world.store.path_for(recorded), OLD)
    lost = await orphan(world, "lost")

    with caplog.at_level(logging.INFO):
        assert await world.audio.sweep_orphans() == 1
    assert await world.store.locate(lost) is None
    assert await world.store.locate(recorded) is not None
    assert created.id is not None
    assert (await world.audio.file(created.id)).blob.key == recorded
    assert "orphan_audio_sweep checked=2 orphans_removed=1 temp_files_removed=0" in caplog.text
    await claim(world, lost, "next job", NOW)  # the sweep released the claim it took


async def test_fresh_orphans_are_left_for_a_later_sweep(world: World) -> None:
    young = await orphan(world, "young", NOW - timedelta(minutes=59))
    assert await world.audio.sweep_orphans() == 0
    assert await world.store.locate(young) is not None
    swept = await sweep_orphan_audio(
        world.uow, world.store, FixedClock(), grace=timedelta(minutes=30)
    )
    assert swept == 1
    assert await world.store.locate(young) is None


async def test_an_orphan_whose_claim_is_held_is_left_to_its_holder(world: World) -> None:
    # A job holding the claim may have written the file and be about to record it.
    key = await orphan(world, "being recorded")
    await claim(world, key, "live job", NOW - timedelta(seconds=5))
    assert await world.audio.sweep_orphans() == 0
    assert await world.store.locate(key) is not None
    async with world.uow() as uow:  # still the holder's: the sweep neither took nor dropped it
        assert await uow.audio.renew_claim(key, "live job", NOW)


async def test_an_orphan_of_a_killed_claim_holder_goes_once_its_lease_lapsed(
    world: World,
) -> None:
    key = await orphan(world, "killed mid-job")
    await claim(world, key, "killed job", NOW - timedelta(minutes=5))
    assert await world.audio.sweep_orphans() == 1
    assert await world.store.locate(key) is None


async def test_every_batch_of_keys_is_swept(world: World) -> None:
    orphans = [await orphan(world, f"orphan {n}") for n in range(600)]  # two batches
    assert await world.audio.sweep_orphans() == len(orphans)
    assert await world.store.keys_written_before(NOW + timedelta(days=1)) == []


async def test_old_temp_files_go_and_fresh_ones_stay(world: World) -> None:
    assert await world.audio.sweep_orphans() == 0  # no audio directory yet: nothing to do
    shard = world.store.root / "ab"
    shard.mkdir(parents=True)
    old, fresh = shard / ".interrupted.tmp", shard / ".in_progress.tmp"
    for path in (old, fresh):
        path.write_bytes(b"RIFF")
    written_at(old, OLD)
    written_at(fresh, NOW - timedelta(minutes=59))
    assert await world.audio.sweep_orphans() == 1
    assert [path.name for path in shard.iterdir()] == [fresh.name]
