"""Audio refresh and TTS catalogue bodies (API §3.11, §3.12)."""

from __future__ import annotations

from entrypoints.http.schemas.common import Schema


class AudioRefresh(Schema):
    voice: str | None = None


class VoiceRead(Schema):
    id: str
    name: str


class LocaleRead(Schema):
    locale: str
    default_voice: str
    voices: list[VoiceRead]


class TtsLocalesRead(Schema):
    provider: str
    available: bool
    locales: list[LocaleRead]
