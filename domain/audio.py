"""TTS vocabulary: voices, locales a provider offers, synthesized audio, audio keys."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.locales import primary_subtag


@dataclass(frozen=True, slots=True)
class Voice:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class LocaleVoices:
    """One locale a provider can speak, its voices and the one used when none is chosen."""

    locale: str
    default_voice: str
    voices: tuple[Voice, ...]

    def offers(self, voice_id: str) -> bool:
        return any(v.id == voice_id for v in self.voices)


@dataclass(frozen=True, slots=True)
class SynthesizedAudio:
    """A complete WAV file (PCM 16-bit mono) and what produced it."""

    wav: bytes
    sample_rate: int
    duration_ms: int
    voice: str


_WHITESPACE = re.compile(r"\s+")


def tts_text(text: str) -> str:
    """What the provider speaks: NFC, whitespace runs collapsed, trimmed."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def audio_key(provider: str, voice: str, locale: str, text: str) -> str:
    """Content address of an item's audio; items with equal keys share one file."""
    material = "\n".join((provider, voice, locale, tts_text(text)))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def resolve_locale(offered: Sequence[LocaleVoices], locale: str) -> LocaleVoices | None:
    """The provider locale used for an item locale (API §9.3): exact, then primary, then family."""
    wanted = locale.casefold()
    primary = primary_subtag(locale)
    for entry in offered:
        if entry.locale.casefold() == wanted:
            return entry
    for entry in offered:
        if entry.locale.casefold() == primary:
            return entry
    for entry in offered:
        if primary_subtag(entry.locale) == primary:
            return entry
    return None


def restrict_locales(
    offered: Iterable[LocaleVoices], supported: Sequence[str]
) -> list[LocaleVoices]:
    """Apply TTS_SUPPORTED_LANGUAGES: keep a locale equal to an entry or whose language is one."""
    if not supported:
        return list(offered)
    wanted = {s.casefold() for s in supported}
    return [
        e for e in offered if e.locale.casefold() in wanted or primary_subtag(e.locale) in wanted
    ]


@dataclass(frozen=True, slots=True)
class AudioBlob:
    """Metadata of one stored audio file; `sha256` of the bytes is the HTTP ETag."""

    key: str
    sha256: str
    size_bytes: int
    sample_rate: int
    duration_ms: int
    written_at: datetime
