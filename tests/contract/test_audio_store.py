"""The filesystem audio store: atomic writes, lookups, deletes, keys as the only paths, and the
scans a sweep of orphaned files relies on."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.audio.filesystem import FilesystemAudioStore

KEY = hashlib.sha256(b"key").hexdigest()
NOW = datetime.now(UTC)
HOUR_AGO = NOW - timedelta(hours=1)


def written_at(path: Path, moment: datetime) -> Path:
    os.utime(path, (moment.timestamp(), moment.timestamp()), follow_symlinks=False)
    return path


def present(*paths: Path) -> list[Path]:
    return [path for path in paths if path.exists()]


def key_of(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


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


async def test_keys_written_before_a_moment_are_listed_by_modification_time(
    store: FilesystemAudioStore,
) -> None:
    old, fresh, older = key_of("old"), key_of("fresh"), key_of("older")
    for key in (old, fresh, older):
        await store.save(key, b"RIFF")
    written_at(store.path_for(old), NOW - timedelta(minutes=61))
    written_at(store.path_for(older), NOW - timedelta(days=30))
    written_at(store.path_for(fresh), NOW - timedelta(minutes=59))

    assert sorted(await store.keys_written_before(HOUR_AGO)) == sorted([old, older])
    assert await store.keys_written_before(NOW - timedelta(days=31)) == []
    everything = await store.keys_written_before(NOW + timedelta(minutes=1))
    assert sorted(everything) == sorted([old, fresh, older])


async def test_only_files_of_the_two_level_layout_are_keys(
    store: FilesystemAudioStore, tmp_path: Path
) -> None:
    await store.save(KEY, b"RIFF")
    shard = store.path_for(KEY).parent
    other = key_of("other")
    outside = tmp_path / "outside"
    (outside / other[:2]).mkdir(parents=True)
    (outside / other[:2] / f"{other}.wav").write_bytes(b"RIFF")
    (shard / "deeper").mkdir()
    strays = [
        shard / f".{KEY}.tmp",  # a write in progress
        shard / f"{KEY.upper()}.wav",
        shard / f"{KEY}.wav.bak",
        shard / f"{KEY}.mp3",
        shard / f"{other}.wav",  # filed under the wrong shard
        shard / "deeper" / f"{KEY}.wav",
        store.root / f"{KEY}.wav",
        store.root / "not-a-shard" / f"{other}.wav",
    ]
    for path in strays:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"RIFF")
    linked = shard / f"{KEY[:2]}{'0' * 62}.wav"  # a key of the right shard, but a symlink
    linked.symlink_to(outside / other[:2] / f"{other}.wav")
    (store.root / other[:2]).symlink_to(outside / other[:2])  # a shard that is a symlink
    for path in [*strays, linked, outside / other[:2] / f"{other}.wav", store.path_for(KEY)]:
        written_at(path, NOW - timedelta(hours=2))

    assert await store.keys_written_before(HOUR_AGO) == [KEY]


async def test_scans_of_a_root_that_does_not_exist_find_nothing(tmp_path: Path) -> None:
    store = FilesystemAudioStore(root=tmp_path / "never-created")
    assert await store.keys_written_before(NOW) == []
    assert await store.remove_temp_files_before(NOW) == 0


async def test_only_old_temp_files_are_removed(store: FilesystemAudioStore) -> None:
    await store.save(KEY, b"RIFF")
    shard = store.path_for(KEY).parent
    # Named the way the store's own writes name them.
    old_temps = [Path(tempfile.mkstemp(dir=shard, prefix=".", suffix=".tmp")[1]) for _ in "ab"]
    fresh_temp = Path(tempfile.mkstemp(dir=shard, prefix=".", suffix=".tmp")[1])
    kept = [
        store.path_for(KEY),
        shard / "notes.tmp",
        shard / ".notes.txt",
        store.root / ".outside-a-shard.tmp",
    ]
    for path in kept[1:]:
        path.write_bytes(b"")
    for path in [*old_temps, *kept]:
        written_at(path, NOW - timedelta(hours=2))
    written_at(fresh_temp, NOW - timedelta(minutes=59))

    assert await store.remove_temp_files_before(HOUR_AGO) == 2
    assert present(*old_temps, fresh_temp, *kept) == [fresh_temp, *kept]
    assert await store.remove_temp_files_before(HOUR_AGO) == 0


FILE_SIZE_LIMITED_SAVE = """
import asyncio, resource, signal, sys
from pathlib import Path
from adapters.audio.filesystem import FilesystemAudioStore
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
store = FilesystemAudioStore(root=Path(sys.argv[1]))
try:
    asyncio.run(store.save(sys.argv[2], b"RIFF" + bytes(100_000)))
except OSError as exc:
    print(type(exc).__name__, exc.strerror)
"""


def test_a_write_that_fails_midway_raises_oserror_and_leaves_nothing(tmp_path: Path) -> None:
    """The port's promise to the synthesis job (which retries, then fails the item): a write
    the disk refuses partway (here a file size limit) raises OSError, with no file or temp file
    left behind."""
    root = tmp_path / "audio"
    FilesystemAudioStore(root=root).ensure_root()
    done = subprocess.run(
        [sys.executable, "-c", FILE_SIZE_LIMITED_SAVE, str(root), KEY],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    )
    assert done.stdout.strip() == "OSError File too large"
    assert [p for p in root.rglob("*") if p.is_file()] == []
