"""Throughput of the local espeak-ng gateway in one process (not a test).

    .venv/bin/python bench/bench_tts_local.py [count]

Synthesizes `count` (default 200) short sentences in four languages through
`EspeakTtsGateway.synthesize`, first one at a time, then 8 at once (the process-wide lock
serialises them, so this shows the lock's overhead rather than a speed-up), and prints
syntheses per second and real-time factor for each.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.tts.espeak import EspeakTtsGateway
from domain.audio import SynthesizedAudio, resolve_locale, tts_text

SENTENCES = [
    ("en-US", "The quick brown fox jumps over the lazy dog."),
    ("fi-FI", "Hyvää huomenta, mitä sinulle kuuluu tänään?"),
    ("de", "Heute ist ein schöner Tag für einen Spaziergang."),
    ("zh-CN", "今天天气很好，我们去公园散步吧。"),
]


async def run(count: int, concurrency: int) -> tuple[float, float]:
    """(syntheses per second, seconds of audio per second of work)."""
    gateway = EspeakTtsGateway()
    jobs = []
    for i in range(count):
        locale, text = SENTENCES[i % len(SENTENCES)]
        entry = resolve_locale(gateway.locales(), locale)
        assert entry is not None, locale
        jobs.append((tts_text(f"{text} {i}"), entry.locale, entry.default_voice))

    semaphore = asyncio.Semaphore(concurrency)

    async def one(text: str, locale: str, voice: str) -> SynthesizedAudio:
        async with semaphore:
            return await gateway.synthesize(text, locale, voice)

    await one(*jobs[0])  # warm-up: library load, first voice load
    started = time.perf_counter()
    results = await asyncio.gather(*(one(*job) for job in jobs))
    elapsed = time.perf_counter() - started
    audio_seconds = sum(r.duration_ms for r in results) / 1000
    return count / elapsed, audio_seconds / elapsed


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    for concurrency in (1, 8):
        rate, realtime = asyncio.run(run(count, concurrency))
        print(
            f"local espeak-ng, {count} sentences, concurrency {concurrency}: "
            f"{rate:.0f} syntheses/s ({realtime:.0f}x real time)"
        )


if __name__ == "__main__":
    main()
