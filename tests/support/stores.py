"""AudioStores that stop a job at a chosen point or fail to write (subclasses of the real one,
not mocks)."""

from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path

from adapters.audio.filesystem import FilesystemAudioStore


class PausingStore(FilesystemAudioStore):
    """The filesystem store. Once armed, the next `locate` or `save` does its work and then waits
    for `resume()`: the job calling it is caught between looking at (or writing) a file and
    acting on it, while the test lets something else happen."""

    def __init__(self, root: Path) -> None:
        super().__init__(root=root)
        self._armed: str | None = None
        self._paused = asyncio.Event()
        self._resumed = asyncio.Event()

    def arm(self, operation: str) -> None:
        assert operation in ("locate", "save")
        self._armed = operation
        self._paused, self._resumed = asyncio.Event(), asyncio.Event()

    async def paused(self) -> None:
        """Returns once a call has been caught."""
        await asyncio.wait_for(self._paused.wait(), timeout=10)

    def resume(self) -> None:
        self._resumed.set()

    async def locate(self, key: str) -> Path | None:
        path = await super().locate(key)
        await self._pause_after("locate")
        return path

    async def save(self, key: str, wav: bytes) -> None:
        await super().save(key, wav)
        await self._pause_after("save")

    async def _pause_after(self, operation: str) -> None:
        if self._armed == operation:
            self._armed = None
            self._paused.set()
            await self._resumed.wait()


class FullDiskStore(FilesystemAudioStore):
    """The filesystem store on a disk that is full for the next `failures` saves."""

    def __init__(self, root: Path, failures: int) -> None:
        super().__init__(root=root)
        self.failures = failures
        self.saves = 0

    async def save(self, key: str, wav: bytes) -> None:
        self.saves += 1
        if self.failures > 0:
            self.failures -= 1
            path = self.path_for(key)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        await super().save(key, wav)
