"""TTS throughput: the in-process default against SAQ workers on Postgres + Redis, in one run.

Each configuration gets fresh storage, starts its processes, then receives the same items (10
bulk requests of `items / 10` distinct sentences) and is timed from the first request until every
item is ready. Ratios compare configurations measured moments apart on the same machine; absolute
numbers depend on the cores the load generator, Postgres and Redis share with the service.

    .venv/bin/python bench/bench_scale_out.py [items] [provider]

items defaults to 1000, provider to `local` (espeak-ng, CPU-bound: one synthesis at a time per
process, so parallelism comes from processes). Needs TEST_POSTGRES_URL / TEST_REDIS_URL (or the
defaults on 127.0.0.1).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from adapters.persistence import migrate
from tests.conftest import DEFAULT_TEST_POSTGRES_URL, PostgresServer
from tests.system.cluster import (
    DEFAULT_TEST_REDIS_URL,
    WorkerProcess,
    drop_redis_queue,
    unique_queue_name,
    with_queue_name,
)
from tests.system.server import ServerProcess

WORDS = [
    "morning", "coffee", "river", "station", "window",
    "garden", "teacher", "market", "winter", "music",
]  # fmt: skip


@dataclass(frozen=True)
class Setup:
    name: str
    database: str  # "sqlite" (the default file) or "postgres"
    workers: int  # 0: the in-process queue (QUEUE_URL empty)


SETUPS = [
    Setup("in-process queue, SQLite (the default)", "sqlite", 0),
    Setup("in-process queue, Postgres", "postgres", 0),
    Setup("SAQ on Redis, Postgres, 1 worker", "postgres", 1),
    Setup("SAQ on Redis, Postgres, 2 workers", "postgres", 2),
]


def sentence(n: int) -> str:
    picked = [WORDS[(n * 7 + k * 3) % len(WORDS)] for k in range(8)]
    return f"Sentence {n}: the {' '.join(picked)}."


@contextmanager
def running(setup: Setup, workdir: Path, provider: str) -> Iterator[str]:
    """The processes of one setup; yields the API's URL."""
    postgres = PostgresServer(os.environ.get("TEST_POSTGRES_URL", DEFAULT_TEST_POSTGRES_URL))
    redis_url = os.environ.get("TEST_REDIS_URL", DEFAULT_TEST_REDIS_URL)
    env = {
        "TTS_PROVIDER": provider,
        "TTS_SUBMISSION_WORKERS": "2",  # the default: concurrent jobs per process
        "ENVIRONMENT": "production",  # LOG_LEVEL stays the default (info) everywhere
        "AUDIO_DIR": str(workdir / "audio"),
    }
    with ExitStack() as stack:
        if setup.database == "postgres":
            database = postgres.create_database()
            stack.callback(postgres.drop_database, database)
            migrate.upgrade(database)
            env["DATABASE_URL"] = database
        if setup.workers:
            queue = unique_queue_name("lw-bench")
            stack.callback(drop_redis_queue, redis_url, queue)
            env["QUEUE_URL"] = with_queue_name(redis_url, queue)
        api = stack.enter_context(ServerProcess(workdir / "api", env))
        for n in range(setup.workers):
            stack.enter_context(WorkerProcess(workdir / f"worker{n}", env, f"worker{n}"))
        yield api.url


def measure(url: str, total: int) -> float:
    """Seconds from the first bulk request until every item is ready."""
    batch = max(total // 10, 1)
    with httpx.Client(timeout=60) as http:
        started = time.perf_counter()
        for first in range(0, total, batch):
            items = [
                {"locale": "en-US", "text": sentence(n)}
                for n in range(first, min(first + batch, total))
            ]
            response = http.post(f"{url}/v1/items/bulk", json={"items": items})
            assert response.status_code == 202, response.text
        while True:
            ready = http.get(f"{url}/v1/items", params={"tts_status": "ready", "per_page": 1})
            if ready.json()["total"] == total:
                return time.perf_counter() - started
            failed = http.get(f"{url}/v1/items", params={"tts_status": "failed", "per_page": 1})
            assert failed.json()["total"] == 0, "some items failed"
            time.sleep(0.05)


def main(total: int = 1000, provider: str = "local") -> None:
    results: list[tuple[Setup, float]] = []
    for setup in SETUPS:
        with (
            tempfile.TemporaryDirectory() as workdir,
            running(setup, Path(workdir), provider) as url,
        ):
            seconds = measure(url, total)
        results.append((setup, seconds))
        print(f"  {setup.name}: {seconds:.2f} s", file=sys.stderr)
    baseline = total / results[0][1]
    print(f"\nTTS throughput, {total} distinct items, provider {provider!r}, one run\n")
    print("| configuration | all ready (s) | items/s | × in-process default |")
    print("|---|---|---|---|")
    for setup, seconds in results:
        rate = total / seconds
        print(f"| {setup.name} | {seconds:.2f} | {rate:.0f} | {rate / baseline:.2f} |")


if __name__ == "__main__":
    arguments = sys.argv[1:3]
    main(int(arguments[0]) if arguments else 1000, *arguments[1:])
