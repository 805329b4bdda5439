"""Test doubles for the TtsGateway port that wrap a real gateway (fakes, not mocks)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from application.ports import TtsGateway
from domain.audio import LocaleVoices, SynthesizedAudio
from domain.errors import TransientTtsError


class CountingGateway(TtsGateway):
    """Delegates to a real gateway, counts syntheses, and can fail the first N tries transiently."""

    def __init__(self, inner: TtsGateway, *, transient_failures: int = 0, delay: float = 0.0):
        self.inner = inner
        self.name = inner.name
        self.calls: list[tuple[str, str, str]] = []
        self.successes = 0
        self._failures_left = transient_failures
        self._delay = delay

    def locales(self) -> Sequence[LocaleVoices]:
        return self.inner.locales()

    def is_available(self) -> bool:
        return self.inner.is_available()

    async def synthesize(self, text: str, locale: str, voice: str) -> SynthesizedAudio:
        self.calls.append((text, locale, voice))
        if self._delay:
            await asyncio.sleep(self._delay)
        if self._failures_left > 0:
            self._failures_left -= 1
            raise TransientTtsError("flaky network")
        audio = await self.inner.synthesize(text, locale, voice)
        self.successes += 1
        return audio


class RenamedGateway(CountingGateway):
    """The same engine under another provider name (for failover and provider-change tests)."""

    def __init__(self, inner: TtsGateway, name: str, **kwargs: object) -> None:
        super().__init__(inner, **kwargs)  # type: ignore[arg-type]
        self.name = name
