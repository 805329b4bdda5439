"""The health body (API §3.1, §10)."""

from __future__ import annotations

from entrypoints.http.schemas.common import HealthWord, Schema, Timestamp


class HealthChecks(Schema):
    database: HealthWord
    audio_directory: HealthWord
    tts_service: HealthWord
    task_manager: HealthWord
    queue_backend: str
    queue_pending: int
    service: str
    version: str
    timestamp: Timestamp


class HealthRead(Schema):
    status: HealthWord
    checks: HealthChecks
