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


def test_each_routed_request_is_counted_once_under_its_route_and_status(
    client: TestClient[Any],
) -> None:
    """Exactly one count and one timing per request, under the route template (never the raw
    path); unknown paths and /metrics itself make no series."""
    route = "/v1/items/{item_id}"
    series = {
        ("GET", "404"): lambda: client.get("/v1/items/987654"),
        ("GET", "422"): lambda: client.get("/v1/items/not-a-number"),
        ("DELETE", "404"): lambda: client.delete("/v1/items/987654"),
    }

    def counts(text: str) -> list[float]:
        return [
            sample(text, name, path=route, method=method, status_code=status)
            for method, status in series
            for name in (
                "last_whisper_requests_total",
                "last_whisper_request_duration_seconds_count",
            )
        ]

    before = counts(client.get("/metrics").text)
    for send in series.values():
        send()
        send()
    client.get("/no/such/route")
    text = client.get("/metrics").text
    assert [a - b for a, b in zip(counts(text), before, strict=True)] == [2.0] * 6
    assert "987654" not in text and "not-a-number" not in text
    assert 'path="/no/such/route"' not in text and 'path="/metrics"' not in text
    timed = sample(
        text,
        "last_whisper_request_duration_seconds_bucket",
        path=route,
        status_code="422",
        le="10.0",
    )
    assert timed >= 2  # each took a measured time, under 10 s
