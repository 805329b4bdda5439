"""`GET /metrics`: Prometheus text with request, latency, TTS job and queue metrics."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import TestClient

from tests.http.conftest import create_item, wait_until_settled


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in Prometheus text format (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        match = re.match(r"^(\w+)(\{.*\})?\s+(\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(3))
    return 0.0


def test_metrics_count_requests_by_route_and_tts_jobs(client: TestClient[Any]) -> None:
    before = client.get("/metrics").text
    item = create_item(client)
    wait_until_settled(client, item["id"])
    client.get(f"/v1/items/{item['id']}")
    client.get("/v1/items/999999")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    route = "/v1/items/{item_id}"
    ok = sample(text, "last_whisper_requests_total", path=route, status_code="200", method="GET")
    missing = sample(text, "last_whisper_requests_total", path=route, status_code="404")
    assert ok - sample(before, "last_whisper_requests_total", path=route, status_code="200") >= 1
    assert missing >= 1
    for status in ("200", "404"):
        count = "last_whisper_request_duration_seconds_count"
        assert sample(text, count, path=route, status_code=status) >= 1
    done = sample(text, "last_whisper_tts_jobs_total", outcome="synthesized")
    assert done - sample(before, "last_whisper_tts_jobs_total", outcome="synthesized") >= 1
    assert sample(text, "last_whisper_tts_job_seconds_count") >= 1
    assert "last_whisper_queue_depth 0.0" in text
