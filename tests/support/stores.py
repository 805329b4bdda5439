"""An AudioStore that can stop a job at a chosen point (a subclass of the real one, not a mock)."""

from __future__ import annotations

import asyncio
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
