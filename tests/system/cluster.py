"""Helpers for scale-out tests: the machine's Redis, SAQ queue names, and worker processes.

API processes are `tests.system.server.ServerProcess`; `WorkerProcess` is its twin for
`last-whisper worker`. Everything binds or connects to 127.0.0.1 only and is stopped by its owner.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path
from types import TracebackType

import pytest
import redis
from sqlalchemy.engine import make_url

from tests.system.server import CLI

DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/0"
READY_LINE = "worker started"


# ------------------------------------------------------------------------------------- Redis


def redis_server_url() -> str:
    """TEST_REDIS_URL if it answers; skips otherwise, except in CI, where that is a failure."""
    url = os.environ.get("TEST_REDIS_URL", DEFAULT_TEST_REDIS_URL)
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis not reachable at {url}: {exc!r}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    finally:
        client.close()
    return url


def unique_queue_name(prefix: str = "lw-test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def with_queue_name(url: str, name: str) -> str:
    """A QUEUE_URL whose SAQ queue is `name` (SaqJobQueue reads the `queue` parameter)."""
    return f"{url}{'&' if '?' in url else '?'}queue={name}"


def drop_redis_queue(url: str, name: str) -> None:
    """Delete every key SAQ wrote for queue `name`: its lists and sets, then its job records."""
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        for pattern in (f"saq:{name}:*", f"saq:job:{name}:*"):
            keys = list(client.scan_iter(match=pattern, count=500))
            for first in range(0, len(keys), 500):
                client.delete(*keys[first : first + 500])
    finally:
        client.close()


# ---------------------------------------------------------------------------------- Postgres


def libpq_url(sqlalchemy_url: str) -> str:
    """The same database as a plain postgresql:// URL, as QUEUE_URL takes it (psycopg)."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


# ----------------------------------------------------------------------------------- workers


class WorkerProcess:
    """`last-whisper worker` in `workdir`; ready once it logged that it started; stops itself."""

    def __init__(self, workdir: Path, env: dict[str, str], name: str = "worker") -> None:
        self.workdir = workdir
        self.log = workdir / f"{name}.log"
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.upper().startswith(("TTS_", "DATABASE_", "QUEUE_", "AUDIO_"))
        }
        self.env = base | env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> WorkerProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(CLI), "worker"], cwd=self.workdir, env=self.env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.output()[-3000:]}")
            if READY_LINE in self.output():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"worker not started within {timeout} s:\n{self.output()[-3000:]}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks; its running jobs are left to SAQ's sweep."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def terminate(self) -> None:
        """SIGTERM without waiting: stop several workers at once, then `wait` for each."""
        if self.process and self.process.poll() is None:
            self.process.terminate()

    def wait(self, timeout: float = 20.0) -> int | None:
        """The exit code after a graceful stop; killed (and None) if it takes too long."""
        if self.process is None:
            return None
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def stop(self) -> int | None:
        self.terminate()
        return self.wait()

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
