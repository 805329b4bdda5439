"""The filesystem audio store: atomic writes, lookups, deletes, and keys as the only paths."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from adapters.audio.filesystem import FilesystemAudioStore

KEY = hashlib.sha256(b"key").hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> FilesystemAudioStore:
    store = FilesystemAudioStore(root=tmp_path / "audio")
    store.ensure_root()
    return store


async def test_save_locate_delete(store: FilesystemAudioStore) -> None:
    assert await store.locate(KEY) is None
    await store.save(KEY, b"RIFF first")
    path = await store.locate(KEY)
    assert path == store.root / KEY[:2] / f"{KEY}.wav"
    assert path.read_bytes() == b"RIFF first"
    await store.save(KEY, b"RIFF second")  # replaced atomically, no temp files left
    assert path.read_bytes() == b"RIFF second"
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    await store.delete(KEY)
    assert await store.locate(KEY) is None
    await store.delete(KEY)  # deleting a missing key is not an error


async def test_readers_see_whole_files_during_concurrent_replacement(
    store: FilesystemAudioStore,
) -> None:
    versions = [bytes([n]) * 200_000 for n in range(8)]
    await store.save(KEY, versions[0])
    path = store.path_for(KEY)

    async def read_many() -> set[bytes]:
        seen = set()
        for _ in range(40):
            seen.add(await asyncio.to_thread(path.read_bytes))
        return seen

    writes = asyncio.gather(*(store.save(KEY, v) for v in versions[1:]))
    seen, _ = await asyncio.gather(read_many(), writes)
    assert seen <= set(versions)


@pytest.mark.parametrize("key", ["../../etc/passwd", "ABC", KEY.upper(), KEY + "0", ""])
async def test_only_real_keys_map_to_paths(store: FilesystemAudioStore, key: str) -> None:
    with pytest.raises(ValueError, match="audio keys"):
        await store.locate(key)


def test_health_needs_a_writable_directory(tmp_path: Path) -> None:
    store = FilesystemAudioStore(root=tmp_path / "missing")
    assert not store.is_healthy()
    store.ensure_root()
    assert store.is_healthy()
