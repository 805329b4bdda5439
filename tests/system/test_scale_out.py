"""Scale-out end to end: 2 API processes and 2 TTS workers on one Postgres and one Redis.

Everything runs as real processes on 127.0.0.1, exactly as `last-whisper serve` / `worker` run in
production. Syntheses are counted by the database itself: a trigger (installed by this test, not
by the migrations) logs every committed write of stored audio, so the count cannot be fooled by a
process that died before logging anything.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis
import yaml
from sqlalchemy.engine import make_url

from adapters.persistence import migrate
from tests.conftest import PostgresServer, run_outside_loop
from tests.system.cluster import (
    WorkerProcess,
    drop_redis_queue,
    libpq_url,
    redis_server_url,
    unique_queue_name,
    with_queue_name,
)
from tests.system.server import ServerProcess

AUDIT = """
CREATE TABLE synthesis_audit (key text NOT NULL, logged_at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION audit_synthesis() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.size_bytes > 0 THEN  -- stored audio, not a synthesis claim
    INSERT INTO synthesis_audit (key) VALUES (NEW.key);
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER audit_synthesis AFTER INSERT OR UPDATE ON audio_blobs
  FOR EACH ROW EXECUTE FUNCTION audit_synthesis();
"""
TOTAL = 200
FIRST = 160  # created before the workers start
SHARED = 50  # items whose text another item has too: 10 texts, 5 items each


def texts() -> list[str]:
    unique = [f"Sentence {n} is spoken by whichever worker gets it." for n in range(TOTAL - SHARED)]
    shared = [f"Everybody says sentence {n % 10} together." for n in range(SHARED)]
    mixed = []  # shared texts spread over every request and both APIs
    for n in range(TOTAL):
        mixed.append(shared.pop() if n % 4 == 0 and shared else unique.pop())
    return mixed


def create(url: str, batch: list[str]) -> list[int]:
    body = {"items": [{"locale": "en", "text": text} for text in batch]}
    response = httpx.post(f"{url}/v1/items/bulk", json=body, timeout=30)
    assert response.status_code == 202, response.text
    return [item["id"] for item in response.json()["created_items"]]


def count(url: str, status: str) -> int:
    listing = httpx.get(f"{url}/v1/items", params={"tts_status": status, "per_page": 1}).json()
    return int(listing["total"])


def health(url: str) -> dict[str, object]:
    checks: dict[str, object] = httpx.get(f"{url}/health", timeout=5).json()["checks"]
    return checks


def active_jobs_of(redis_url: str, queue: str, pid: int) -> list[str]:
    """Keys of the SAQ jobs that the worker with this pid has running (its id carries the pid)."""
    client = redis.Redis.from_url(redis_url)
    try:
        ids = client.lrange(f"saq:{queue}:active", 0, -1)
        records = [json.loads(r) for r in client.mget(ids) if r] if ids else []
    finally:
        client.close()
    return [
        r["key"]
        for r in records
        if r.get("status") == "active" and f"-{pid}-" in str(r.get("worker_id"))
    ]


def kill_mid_job(worker: WorkerProcess, redis_url: str, queue: str) -> list[str]:
    """SIGKILL the worker at a moment it has jobs running; returns their keys.

    Frozen with SIGSTOP first, so what Redis says it is running is still true at the kill.
    """
    assert worker.process is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        worker.process.send_signal(signal.SIGSTOP)
        running = active_jobs_of(redis_url, queue, worker.process.pid)
        if running:
            worker.kill()
            return running
        worker.process.send_signal(signal.SIGCONT)
        time.sleep(0.005)
    raise AssertionError("the worker never had a job running")


def wait_for_jobs(worker: WorkerProcess, jobs: int) -> None:
    deadline = time.monotonic() + 20
    while worker.output().count("tts_job ") < jobs:
        assert time.monotonic() < deadline, "the worker ran no jobs"
        time.sleep(0.01)


def wait_drained(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (pending := health(url)["queue_pending"]) != 0:
        assert time.monotonic() < deadline, f"{pending} jobs still queued or running"
        time.sleep(0.2)


def start_together(processes: Sequence[ServerProcess | WorkerProcess]) -> None:
    with ThreadPoolExecutor(max_workers=len(processes)) as pool:
        for started in [pool.submit(process.start) for process in processes]:
            started.result()


def wait_all_ready(url: str, timeout: float) -> float:
    started = time.monotonic()
    while (ready := count(url, "ready")) < TOTAL:
        assert count(url, "failed") == 0
        assert time.monotonic() - started < timeout, f"only {ready}/{TOTAL} ready"
        time.sleep(0.1)
    return time.monotonic() - started


def test_two_apis_and_two_workers_make_every_audio_once(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    redis_url = redis_server_url()
    queue = unique_queue_name("lw-e2e")
    database = postgres_server.create_database()
    processes: list[ServerProcess | WorkerProcess] = []
    try:
        migrate.upgrade(database)  # before any process starts: no two `serve`s racing to do it
        run_outside_loop(postgres_server.execute(AUDIT, database=make_url(database).database))
        env = {
            "DATABASE_URL": database,
            "QUEUE_URL": with_queue_name(redis_url, queue),
            "AUDIO_DIR": str(tmp_path / "audio"),  # shared by every process, like a volume
            "TTS_PROVIDER": "fake",
            "TTS_SUBMISSION_WORKERS": "2",
            "ENVIRONMENT": "production",
        }
        apis = [ServerProcess(tmp_path / f"api{n}", env) for n in (1, 2)]
        processes += apis
        start_together(apis)
        all_texts = texts()
        ids: list[int] = []

        # No workers yet: the APIs queue jobs and synthesise nothing themselves. Most of the
        # work is queued up front, so the workers race over it and one is killed mid-run.
        for first in range(0, FIRST, 40):
            ids += create(apis[first // 40 % 2].url, all_texts[first : first + 40])
        time.sleep(0.5)
        assert count(apis[0].url, "pending") == FIRST
        for api in apis:
            checks = health(api.url)
            assert checks["queue_backend"] == "redis" and checks["task_manager"] == "healthy"
            assert checks["queue_pending"] == FIRST

        workers = [WorkerProcess(tmp_path / f"worker{n}", env, f"worker{n}") for n in (1, 2)]
        processes += workers
        start_together(workers)
        for first in range(FIRST, TOTAL, 20):  # enqueued while the workers run
            ids += create(apis[first // 20 % 2].url, all_texts[first : first + 20])
        assert len(set(ids)) == TOTAL

        wait_for_jobs(workers[1], 20)  # it took part: now kill it while it has jobs running
        interrupted = kill_mid_job(workers[1], redis_url, queue)
        # The survivor gets the killed worker's jobs from SAQ's sweep, and any synthesis claim
        # it held when its lease lapses: both within ~20 s.
        wait_all_ready(apis[1].url, timeout=60)
        wait_drained(apis[0].url, timeout=40)  # an interrupted job may outlive its item's audio
        workers[0].terminate()  # graceful stop (SIGTERM) of the survivor, checked at the end

        with httpx.Client(timeout=10) as http:
            for item_id in ids:
                served = [http.get(f"{api.url}/v1/items/{item_id}/audio") for api in apis]
                assert [r.status_code for r in served] == [200, 200], item_id
                assert served[0].content == served[1].content
                assert served[0].headers["etag"] == served[1].headers["etag"]
        distinct = len(set(all_texts))
        assert distinct == TOTAL - SHARED + 10

        audited = run_outside_loop(_audit(database))
        assert len(audited) == distinct, "one synthesis per audio key"
        assert len(set(audited)) == distinct
        assert len(list((tmp_path / "audio").glob("*/*.wav"))) == distinct
        for api in apis:
            assert health(api.url)["queue_pending"] == 0

        assert workers[0].wait(timeout=20) == 0
        survivor = workers[0].output()
        assert "worker stopped" in survivor
        for key in interrupted:  # SAQ swept the killed worker's jobs and ran them again
            assert f"Retrying Job<function: synthesize, queue: {queue}, key: {key}," in survivor
        assert "tts_job" not in "".join(api.log.read_text() for api in apis)
    finally:
        for process in processes:
            if isinstance(process, WorkerProcess):
                process.terminate()
        for process in processes:
            process.stop()
        drop_redis_queue(redis_url, queue)
        postgres_server.drop_database(database)


async def _audit(database: str) -> list[str]:
    connection = await asyncpg.connect(libpq_url(database), timeout=5)
    try:
        rows = await connection.fetch("SELECT key FROM synthesis_audit ORDER BY logged_at")
    finally:
        await connection.close()
    return [row["key"] for row in rows]


# ---------------------------------------------------------------------------- the deployment

ROOT = Path(__file__).resolve().parents[2]


def test_compose_file_describes_the_scale_out_deployment() -> None:
    """What docs/deploy.md promises about docker-compose.yml, read with a YAML parser."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "api", "worker"}
    app = {name: services[name] for name in ("migrate", "api", "worker")}
    assert {s["command"][1] for s in app.values()} == {"migrate", "serve", "worker"}
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert "ports" not in services["worker"] and services["worker"]["healthcheck"]["disable"]
    for service in app.values():  # one configuration and one audio volume for every process
        assert service["environment"]["QUEUE_URL"] == "redis://redis:6379/0"
        assert service["environment"]["DATABASE_URL"].startswith("postgresql://")
        assert "audio:/data/audio" in service["volumes"]
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"]


def test_dockerfile_is_multi_stage_unprivileged_and_health_checked() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+ AS (\w+)$", dockerfile, flags=re.MULTILINE)
    assert stages == ["build", "runtime"]
    runtime = dockerfile.split("AS runtime", 1)[1]
    assert re.search(r"^USER app$", runtime, flags=re.MULTILINE)
    assert "HEALTHCHECK" in runtime and "/health" in runtime
    assert 'CMD ["last-whisper", "serve"]' in runtime  # serve migrates, then starts uvicorn
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".git", ".venv", "keys", "data", "audio", "tests"} <= set(ignored)


def test_docker_compose_validates_the_file() -> None:
    """`docker compose config` when the Compose plugin is installed (the engine is not needed)."""
    try:
        subprocess.run(["docker", "compose", "version"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("the docker compose plugin is not installed")
    checked = subprocess.run(
        ["docker", "compose", "--file", str(ROOT / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        env=os.environ | {"POSTGRES_PASSWORD": "validation-only"},
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
