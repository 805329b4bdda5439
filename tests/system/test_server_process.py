"""The service as users run it: a separate process, the default configuration, real espeak-ng."""

from __future__ import annotations

import socket
import sqlite3
import time
from pathlib import Path

import httpx

from adapters.tts.wav import inspect_wav
from tests.system.server import ServerProcess


def wait_all_ready(url: str, ids: list[int], timeout: float) -> float:
    """Seconds until every item is ready (fails on `failed` or timeout)."""
    started = time.monotonic()
    waiting = set(ids)
    while waiting and time.monotonic() - started < timeout:
        for item_id in list(waiting):
            status = httpx.get(f"{url}/v1/items/{item_id}/tts-status").json()
            assert status["tts_status"] != "failed", status
            if status["tts_status"] == "ready":
                waiting.discard(item_id)
        time.sleep(0.02)
    assert not waiting, f"{len(waiting)} items not ready after {timeout} s"
    return time.monotonic() - started


def test_default_configuration_speaks_finnish_and_english(tmp_path: Path) -> None:
    """No DATABASE_URL, AUDIO_DIR or TTS_PROVIDER: SQLite under data/, espeak-ng, audio/."""
    with ServerProcess(tmp_path) as server:
        created = {
            locale: httpx.post(f"{server.url}/v1/items", json={"locale": locale, "text": text})
            for locale, text in [
                ("fi-FI", "Hyvää huomenta, mitä kuuluu tänään?"),
                ("en-US", "Good morning, how are you doing today?"),
            ]
        }
        assert all(r.status_code == 202 for r in created.values())
        ids = [r.json()["id"] for r in created.values()]
        elapsed = wait_all_ready(server.url, ids, timeout=10)
        assert elapsed < 2.0, f"audio took {elapsed:.2f} s"
        for item_id in ids:
            status = httpx.get(f"{server.url}/v1/items/{item_id}/tts-status").json()
            assert status["provider"] == "local"
            audio = httpx.get(f"{server.url}/v1/items/{item_id}/audio")
            assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
            info = inspect_wav(audio.content)
            assert (info.sample_rate, info.channels, info.sample_width) == (22_050, 1, 2)
            assert 1_000 <= info.duration_ms <= 6_000, info  # six words at dictation speed
            assert 0.02 <= info.rms <= 0.9, info  # audible speech, not silence or clipping
            assert abs(status["duration_seconds"] * 1000 - info.duration_ms) <= 1
    assert (tmp_path / "data" / "dictation.db").is_file()
    assert list((tmp_path / "audio").glob("*/*.wav"))


def test_sigkill_after_bulk_create_loses_nothing(tmp_path: Path) -> None:
    env = {"TTS_SUBMISSION_WORKERS": "1"}
    server = ServerProcess(tmp_path, env).start()
    try:
        entries = [
            {"locale": "en-US", "text": f"Sentence number {n} is spoken after a restart."}
            for n in range(100)
        ]
        response = httpx.post(f"{server.url}/v1/items/bulk", json={"items": entries}, timeout=30)
        assert response.status_code == 202
    finally:
        server.kill()
    ids = [item["id"] for item in response.json()["created_items"]]
    with sqlite3.connect(tmp_path / "data" / "dictation.db") as db:
        (pending,) = db.execute(
            "SELECT count(*) FROM items WHERE tts_status = 'pending'"
        ).fetchone()
    assert pending > 0, "the kill came too late to test recovery"

    with ServerProcess(tmp_path, env) as restarted:
        wait_all_ready(restarted.url, ids, timeout=60)
        listing = httpx.get(f"{restarted.url}/v1/items?tts_status=ready&per_page=100").json()
        assert listing["total"] == 100
        sample = httpx.get(f"{restarted.url}/v1/items/{ids[-1]}/audio")
        assert inspect_wav(sample.content).duration_ms > 500


def exchange(connection: socket.socket, request: bytes) -> bytes:
    """Send one HTTP/1.1 request on an open connection; the response's status line and headers."""
    connection.sendall(request)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(4096)
        if not chunk:
            raise ConnectionError(f"closed by the server after {received!r}")
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += connection.recv(4096)
    return head


def test_an_idle_connection_outlives_the_usual_client_keep_alive(tmp_path: Path) -> None:
    """The server must not be the first to close an idle connection: a request crossing its close
    is reset unread (uvicorn closes after 5 s by default, when httpx and proxies still reuse)."""
    request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with (
        ServerProcess(tmp_path, {"TTS_PROVIDER": "fake"}) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection,
    ):
        assert exchange(connection, request).startswith(b"HTTP/1.1 200")
        time.sleep(6.5)
        assert exchange(connection, request).startswith(b"HTTP/1.1 200")
