"""The health body (API §3.1, §10)."""

from __future__ import annotations

from entrypoints.http.schemas.common import Schema


class HealthChecks(Schema):
    database: str
    audio_directory: str
    tts_service: str
    task_manager: str
    queue_backend: str
    queue_pending: int
    service: str
    version: str
    timestamp: str


class HealthRead(Schema):
    status: str
    checks: HealthChecks
