"""The deterministic tone provider used by tests (API §9.3 "Fake provider", normative)."""

from __future__ import annotations

import asyncio
import functools
import math
from array import array
from collections.abc import Sequence

from adapters.tts.wav import WAV_HEADER_SIZE, pcm16_wav
from application.ports import TtsGateway
from domain.audio import LocaleVoices, SynthesizedAudio, Voice
from domain.errors import PermanentTtsError, TransientTtsError

SAMPLE_RATE = 16_000
MAX_DURATION_MS = 30_000
AMPLITUDE = 8000
FAIL_PERMANENT = "#fail-permanent"
FAIL_TRANSIENT = "#fail-transient"

_LOCALES = ("de", "en", "en-GB", "en-US", "es", "fi", "fi-FI", "fr", "ja", "sv", "zh", "zh-CN")
_VOICES = (Voice("fake-a", "Fake A (440 Hz)"), Voice("fake-b", "Fake B (660 Hz)"))
_FREQUENCIES = {"fake-a": 440, "fake-b": 660}


def duration_ms_for(text: str) -> int:
    """min(200 + 40 × code points, 30 000)."""
    return min(200 + 40 * len(text), MAX_DURATION_MS)


@functools.cache
def _full_wav(frequency: int) -> bytes:
    """The 30 s maximum tone as a WAV. sample[n] does not depend on the duration, so every shorter
    output is a prefix of these samples: computed once per voice (~0.1 s), then sliced."""
    samples = array(
        "h",
        # Written exactly as the spec formula (same float operation order); round() ties to even.
        (
            round(AMPLITUDE * math.sin(2 * math.pi * frequency * n / SAMPLE_RATE))
            for n in range(SAMPLE_RATE // 1000 * MAX_DURATION_MS)
        ),
    )
    return pcm16_wav(samples, SAMPLE_RATE)


def tone_wav(voice: str, duration_ms: int) -> bytes:
    """The fake provider's WAV for a voice and a duration (0 < duration_ms <= 30 000)."""
    full = _full_wav(_FREQUENCIES[voice])
    samples = SAMPLE_RATE // 1000 * duration_ms
    return pcm16_wav(full[WAV_HEADER_SIZE : WAV_HEADER_SIZE + 2 * samples], SAMPLE_RATE)


class FakeTtsGateway(TtsGateway):
    """Speaks a sine tone whose length follows the text; text hooks trigger failures."""

    name = "fake"

    def __init__(self, available: bool = True) -> None:
        self._available = available
        self._locales = tuple(LocaleVoices(loc, "fake-a", _VOICES) for loc in _LOCALES)

    def locales(self) -> Sequence[LocaleVoices]:
        return self._locales

    def is_available(self) -> bool:
        return self._available

    async def synthesize(self, text: str, locale: str, voice: str) -> SynthesizedAudio:
        if not self._available:
            raise TransientTtsError("engine unavailable")
        if voice not in _FREQUENCIES:
            raise PermanentTtsError(f"unknown voice '{voice}'")
        if FAIL_PERMANENT in text:
            raise PermanentTtsError("permanent failure requested")
        if FAIL_TRANSIENT in text:
            raise TransientTtsError("transient failure requested")
        duration_ms = duration_ms_for(text)
        # The first call per voice computes 480 000 sines: keep it off the event loop.
        wav = await asyncio.to_thread(tone_wav, voice, duration_ms)
        return SynthesizedAudio(
            wav=wav, sample_rate=SAMPLE_RATE, duration_ms=duration_ms, voice=voice
        )
