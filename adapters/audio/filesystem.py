"""Audio files on the local filesystem, content-addressed (API §9.2).

Paths are derived only from audio keys (64 hex digits we computed), never from user input. The
layout is ROOT/<key[0:2]>/<key>.wav; scans look at exactly that, and at the `.<random>.tmp`
files of writes in progress (or interrupted) beside them, and at nothing else.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from application.ports import AudioStore

_KEY = re.compile(r"^[0-9a-f]{64}$")
_SHARD = re.compile(r"^[0-9a-f]{2}$")
_AUDIO_FILE = re.compile(r"^([0-9a-f]{64})\.wav$")
_TEMP_FILE = re.compile(r"^\.[0-9a-z_]+\.tmp$")  # the names `_write_atomically` writes to


class FilesystemAudioStore(AudioStore):
    def __init__(self, *, root: Path) -> None:
        self.root = root

    def path_for(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError("audio keys are 64 lowercase hex digits")
        return self.root / key[:2] / f"{key}.wav"

    def ensure_root(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def is_healthy(self) -> bool:
        return self.root.is_dir() and os.access(self.root, os.W_OK | os.X_OK)

    async def save(self, key: str, wav: bytes) -> None:
        await asyncio.to_thread(self._write_atomically, self.path_for(key), wav)

    async def locate(self, key: str) -> Path | None:
        path = self.path_for(key)
        return path if await asyncio.to_thread(path.is_file) else None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path_for(key).unlink, missing_ok=True)

    async def keys_written_before(self, moment: datetime) -> list[str]:
        return await asyncio.to_thread(self._keys_written_before, moment.timestamp())

    async def remove_temp_files_before(self, moment: datetime) -> int:
        return await asyncio.to_thread(self._remove_temp_files_before, moment.timestamp())

    def _keys_written_before(self, cutoff: float) -> list[str]:
        keys = []
        for shard, entry in self._shard_entries():
            match = _AUDIO_FILE.match(entry.name)
            # A key filed under another shard is not where `path_for` looks: not ours.
            if match and match[1][:2] == shard and _modified_before(entry, cutoff):
                keys.append(match[1])
        return keys

    def _remove_temp_files_before(self, cutoff: float) -> int:
        removed = 0
        for _, entry in self._shard_entries():
            if _TEMP_FILE.match(entry.name) and _modified_before(entry, cutoff):
                try:
                    os.unlink(entry.path)
                except FileNotFoundError:
                    continue  # another process's sweep got there first
                removed += 1
        return removed

    def _shard_entries(self) -> Iterator[tuple[str, os.DirEntry[str]]]:
        """Every entry of every shard directory with the shard's name; no symlink is followed,
        nothing deeper is visited, and a root or shard that does not exist (yet, or any more)
        is simply empty."""
        try:
            with os.scandir(self.root) as entries:
                shards = [
                    entry.name
                    for entry in entries
                    if _SHARD.match(entry.name) and entry.is_dir(follow_symlinks=False)
                ]
        except FileNotFoundError:
            return
        for shard in shards:
            try:
                with os.scandir(self.root / shard) as entries:
                    for entry in entries:
                        yield shard, entry
            except (FileNotFoundError, NotADirectoryError):
                continue

    @staticmethod
    def _write_atomically(path: Path, data: bytes) -> None:
        """Temp file in the same directory, fsync, rename: readers never see a partial file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as temp:
                temp.write(data)
                temp.flush()
                os.fsync(temp.fileno())
            os.replace(temp_name, path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise


def _modified_before(entry: os.DirEntry[str], cutoff: float) -> bool:
    """A regular file (not a symlink) last modified before the cutoff; False once it is gone."""
    try:
        return (
            entry.is_file(follow_symlinks=False)
            and entry.stat(follow_symlinks=False).st_mtime < cutoff
        )
    except FileNotFoundError:
        return False
