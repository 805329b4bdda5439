"""Prometheus metrics that are not about HTTP requests (those come from Litestar's plugin)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

TTS_JOBS = Counter("last_whisper_tts_jobs", "TTS jobs finished, by outcome", ["outcome"])
TTS_JOB_SECONDS = Histogram(
    "last_whisper_tts_job_seconds",
    "Wall time of one TTS job, retries and backoff included",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
QUEUE_DEPTH = Gauge("last_whisper_queue_depth", "TTS jobs waiting or running in the queue")


def record_job(outcome: str, seconds: float) -> None:
    TTS_JOBS.labels(outcome=outcome).inc()
    TTS_JOB_SECONDS.observe(seconds)
