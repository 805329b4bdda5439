"""Local stand-ins for cloud services, speaking their real wire protocols on 127.0.0.1 only.

Each fake runs in a daemon thread, records what it received, can be scripted to fail, and shuts
itself down after a bounded lifetime even when a test forgets to stop it. Both answer with a sine
tone whose length follows the text, so tests can check durations.
"""

from __future__ import annotations

import functools
import io
import math
import sys
import wave
from array import array

MS_PER_CHARACTER = 40  # like the fake provider: longer text, longer audio
MIN_DURATION_MS = 200
MAX_DURATION_MS = 20_000
FREQUENCY_HZ = 440
AMPLITUDE = 8000


@functools.cache
def _full_tone(sample_rate: int) -> bytes:
    """MAX_DURATION_MS of little-endian PCM16; shorter tones are prefixes (computed once)."""
    samples = array(
        "h",
        (
            round(AMPLITUDE * math.sin(2 * math.pi * FREQUENCY_HZ * n / sample_rate))
            for n in range(sample_rate * MAX_DURATION_MS // 1000)
        ),
    )
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def tone_pcm(duration_ms: int, sample_rate: int) -> bytes:
    return _full_tone(sample_rate)[: 2 * (sample_rate * duration_ms // 1000)]


def tone_wav(duration_ms: int, sample_rate: int) -> bytes:
    """A mono 16-bit sine WAV written by the stdlib (not by the code under test)."""
    pcm = tone_pcm(duration_ms, sample_rate)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(sample_rate)
        writer.writeframes(pcm)
    return buffer.getvalue()


def duration_for(text: str) -> int:
    return min(max(MIN_DURATION_MS, MS_PER_CHARACTER * len(text)), MAX_DURATION_MS)
