"""The orphan sweep through every persistence adapter (memory, SQLite, Postgres) and the real
filesystem store: recorded audio stays, orphans go, a held claim keeps its file."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from adapters.audio.filesystem import FilesystemAudioStore
from adapters.clock import SystemClock
from application.audio import sweep_orphan_audio
from application.ports import UnitOfWorkFactory
from application.synthesis import try_claim
from tests.contract.test_repositories import (  # the persistence contract's own fixtures
    database_url,
    make_blob,
    uow_factory,
)

__all__ = ["database_url", "uow_factory"]  # fixtures, used by name

RECORDED, ORPHAN, CLAIMED = "ab" * 32, "cd" * 32, "ef" * 32


async def test_the_sweep_removes_only_unrecorded_unclaimed_files(
    uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    clock = SystemClock()
    store = FilesystemAudioStore(root=tmp_path / "audio")
    two_hours_ago = (clock.now() - timedelta(hours=2)).timestamp()
    for key in (RECORDED, ORPHAN, CLAIMED):
        await store.save(key, b"RIFF")
        os.utime(store.path_for(key), (two_hours_ago, two_hours_ago))
    async with uow_factory() as uow:
        await uow.audio.put(make_blob(RECORDED))
        assert await try_claim(uow, CLAIMED, "live job", clock.now())
        await uow.commit()

    assert await sweep_orphan_audio(uow_factory, store, clock) == 1
    assert await store.locate(ORPHAN) is None
    assert await store.locate(RECORDED) is not None
    assert await store.locate(CLAIMED) is not None
    async with uow_factory() as uow:
        assert await uow.audio.get(RECORDED) == make_blob(RECORDED)
        assert await try_claim(uow, ORPHAN, "next job", clock.now())  # released by the sweep
        assert not await try_claim(uow, CLAIMED, "next job", clock.now())  # still the holder's
