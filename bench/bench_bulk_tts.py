"""Bulk import throughput with the local espeak-ng engine (issue goal: 1,000 items ready ≤ 15 s).

Starts `last-whisper serve` on a fresh SQLite database in a temporary directory, posts 10 bulk
requests of 100 distinct sentences, and waits until every item is ready.

    .venv/bin/python bench/bench_bulk_tts.py [items] [workers]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.system.server import ServerProcess

WORDS = [
    "morning", "coffee", "river", "station", "window",
    "garden", "teacher", "market", "winter", "music",
]  # fmt: skip


def sentence(n: int) -> str:
    picked = [WORDS[(n * 7 + k * 3) % len(WORDS)] for k in range(8)]
    return f"Sentence {n}: the {' '.join(picked)}."


def main(total: int = 1000, workers: int = 2) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        env = {"TTS_SUBMISSION_WORKERS": str(workers), "LOG_LEVEL": "warning"}
        with ServerProcess(Path(workdir), env) as server, httpx.Client(timeout=60) as http:
            started = time.perf_counter()
            for first in range(0, total, 100):
                batch = [
                    {"locale": "en-US", "text": sentence(n)} for n in range(first, first + 100)
                ]
                assert (
                    http.post(f"{server.url}/v1/items/bulk", json={"items": batch}).status_code
                    == 202
                )
            accepted = time.perf_counter() - started
            while True:
                listing = http.get(f"{server.url}/v1/items?tts_status=ready&per_page=1").json()
                if listing["total"] == total:
                    break
                failed = http.get(f"{server.url}/v1/items?tts_status=failed&per_page=1").json()
                assert failed["total"] == 0, "some items failed"
                time.sleep(0.05)
            ready = time.perf_counter() - started
    print(f"items: {total}, TTS workers: {workers}")
    print(f"accepted (10 bulk requests): {accepted:.2f} s")
    print(f"all ready: {ready:.2f} s  ->  {total / ready:.0f} items/s  (goal: <= 15 s)")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
