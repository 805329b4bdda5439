"""Audio files on the local filesystem, content-addressed (API §9.2).

Paths are derived only from audio keys (64 hex digits we computed), never from user input.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from pathlib import Path

from application.ports import AudioStore

_KEY = re.compile(r"^[0-9a-f]{64}$")


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
