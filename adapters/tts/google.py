"""Google Cloud Text-to-Speech through the official client (`google-cloud-texttospeech`).

The synchronous client runs in worker threads (`asyncio.to_thread`): its calls block, and the
event loop must stay free. Retries belong to the application (API §9.5), so every call is made
with `retry=None` and a bounded timeout, and failures are mapped to Transient/PermanentTtsError.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import threading
import wave
from collections.abc import Sequence

import requests
from google.api_core import exceptions as api_exceptions
from google.api_core.client_options import ClientOptions
from google.auth import exceptions as auth_exceptions
from google.cloud import texttospeech
from google.oauth2 import service_account

from adapters.tts.wav import inspect_wav, pcm16_wav
from application.ports import TtsGateway
from domain.audio import LocaleVoices, SynthesizedAudio, Voice
from domain.errors import PermanentTtsError, TransientTtsError

logger = logging.getLogger(__name__)

SAMPLE_RATE = 24_000
MAX_CHUNK_CHARACTERS = 4_500  # API §9.3
MAX_CHUNK_BYTES = 5_000  # the service refuses a request whose text is longer in UTF-8
REQUEST_TIMEOUT_SECONDS = 30.0  # per request; the application bounds a whole try at 60 s
_MAX_DETAIL = 200
_REQUEST_PREFIX = re.compile(r"^[A-Z]+ \S+: ")


def _voices(*entries: tuple[str, str]) -> tuple[Voice, ...]:
    return tuple(Voice(voice_id, name) for voice_id, name in entries)


# (locale, language code sent to Google, voices; the first is the default). Google names
# Mandarin `cmn-CN`; items use the BCP 47 tag `zh-CN`. Sorted by locale, case-insensitively.
CATALOGUE: tuple[tuple[str, str, tuple[Voice, ...]], ...] = (
    (
        "de-DE",
        "de-DE",
        _voices(
            ("de-DE-Neural2-A", "Neural2 A (female)"),
            ("de-DE-Neural2-B", "Neural2 B (male)"),
            ("de-DE-Wavenet-A", "WaveNet A (female)"),
        ),
    ),
    (
        "en-GB",
        "en-GB",
        _voices(
            ("en-GB-Neural2-A", "Neural2 A (female)"),
            ("en-GB-Neural2-B", "Neural2 B (male)"),
            ("en-GB-Wavenet-A", "WaveNet A (female)"),
        ),
    ),
    (
        "en-US",
        "en-US",
        _voices(
            ("en-US-Neural2-C", "Neural2 C (female)"),
            ("en-US-Neural2-D", "Neural2 D (male)"),
            ("en-US-Neural2-F", "Neural2 F (female)"),
            ("en-US-Wavenet-D", "WaveNet D (male)"),
        ),
    ),
    (
        "es-ES",
        "es-ES",
        _voices(
            ("es-ES-Neural2-A", "Neural2 A (female)"),
            ("es-ES-Neural2-B", "Neural2 B (male)"),
        ),
    ),
    (
        "fi-FI",
        "fi-FI",
        _voices(
            ("fi-FI-Wavenet-A", "WaveNet A (female)"),
            ("fi-FI-Standard-A", "Standard A (female)"),
        ),
    ),
    (
        "fr-FR",
        "fr-FR",
        _voices(
            ("fr-FR-Neural2-A", "Neural2 A (female)"),
            ("fr-FR-Neural2-B", "Neural2 B (male)"),
        ),
    ),
    (
        "it-IT",
        "it-IT",
        _voices(
            ("it-IT-Neural2-A", "Neural2 A (female)"),
            ("it-IT-Neural2-C", "Neural2 C (male)"),
        ),
    ),
    (
        "ja-JP",
        "ja-JP",
        _voices(
            ("ja-JP-Neural2-B", "Neural2 B (female)"),
            ("ja-JP-Neural2-C", "Neural2 C (male)"),
        ),
    ),
    (
        "nl-NL",
        "nl-NL",
        _voices(
            ("nl-NL-Wavenet-A", "WaveNet A (female)"),
            ("nl-NL-Wavenet-B", "WaveNet B (male)"),
        ),
    ),
    (
        "pt-BR",
        "pt-BR",
        _voices(
            ("pt-BR-Neural2-A", "Neural2 A (female)"),
            ("pt-BR-Neural2-B", "Neural2 B (male)"),
        ),
    ),
    (
        "sv-SE",
        "sv-SE",
        _voices(
            ("sv-SE-Wavenet-A", "WaveNet A (female)"),
            ("sv-SE-Wavenet-C", "WaveNet C (male)"),
        ),
    ),
    (
        "zh-CN",
        "cmn-CN",
        _voices(
            ("cmn-CN-Wavenet-A", "WaveNet A (female)"),
            ("cmn-CN-Wavenet-B", "WaveNet B (male)"),
        ),
    ),
)

_LOCALES = tuple(LocaleVoices(loc, voices[0].id, voices) for loc, _, voices in CATALOGUE)
# Voice id → the language code Google expects with it.
_LANGUAGE_OF_VOICE = {v.id: code for _, code, voices in CATALOGUE for v in voices}


def _longest_prefix(word: str, limit: int, byte_limit: int) -> str:
    """The longest prefix of `word` within `limit` characters and `byte_limit` UTF-8 bytes."""
    head = word[:limit]
    while (excess := len(head.encode()) - byte_limit) > 0:
        # A code point is at most 4 bytes: dropping excess // 4 of them never overshoots.
        head = head[: len(head) - max(1, excess // 4)]
    return head


def split_text(
    text: str, limit: int = MAX_CHUNK_CHARACTERS, byte_limit: int = MAX_CHUNK_BYTES
) -> list[str]:
    """Non-empty chunks of at most `limit` characters and `byte_limit` UTF-8 bytes, cut at
    whitespace (API §9.3; the byte bound is the service's own, which 4,500 characters of
    CJK text would exceed).

    Words are packed greedily and re-joined with single spaces (the text is already
    whitespace-normalised); a single word over either bound is cut hard, between code points.
    """
    chunks: list[str] = []
    current, current_bytes = "", 0
    for word in text.split():
        while len(word) > limit or len(word.encode()) > byte_limit:
            if current:
                chunks.append(current)
                current, current_bytes = "", 0
            head = _longest_prefix(word, limit, byte_limit)
            chunks.append(head)
            word = word[len(head) :]
        size = len(word.encode())
        if not current:
            current, current_bytes = word, size
        elif len(current) + 1 + len(word) <= limit and current_bytes + 1 + size <= byte_limit:
            current, current_bytes = f"{current} {word}", current_bytes + 1 + size
        else:
            chunks.append(current)
            current, current_bytes = word, size
    if current:
        chunks.append(current)
    return chunks


class GoogleTtsGateway(TtsGateway):
    """Google Cloud TTS: LINEAR16 at 24 000 Hz, voices from the built-in catalogue.

    The client is created on first use from the service-account file `credentials_file`; until
    that file can be loaded the gateway is unavailable and calls fail transiently (the file may
    be mounted later). Test seams: `client` replaces the whole client; `api_endpoint` keeps the
    credentials-file path but talks REST to that URL (gRPC with a custom endpoint requires TLS).
    """

    name = "google"

    def __init__(
        self,
        credentials_file: str,
        *,
        client: texttospeech.TextToSpeechClient | None = None,
        api_endpoint: str | None = None,
        timeout_seconds: float = REQUEST_TIMEOUT_SECONDS,
    ) -> None:
        self._credentials_file = credentials_file
        self._client = client
        self._api_endpoint = api_endpoint
        self._timeout = timeout_seconds
        self._lock = threading.Lock()  # one client, even when first calls race in threads
        self._load_failed = False

    def locales(self) -> Sequence[LocaleVoices]:
        return _LOCALES

    def is_available(self) -> bool:
        return self._loaded_client() is not None

    async def synthesize(self, text: str, locale: str, voice: str) -> SynthesizedAudio:
        language = _LANGUAGE_OF_VOICE.get(voice)
        if language is None:
            raise PermanentTtsError(f"unknown voice '{voice}'")
        chunks = split_text(text)
        if not chunks:
            raise PermanentTtsError("no text to speak")
        return await asyncio.to_thread(self._synthesize, chunks, language, voice)

    def _loaded_client(self) -> texttospeech.TextToSpeechClient | None:
        """The client, created once the credentials load; None (and retried later) until then."""
        with self._lock:
            if self._client is None:
                try:
                    credentials = service_account.Credentials.from_service_account_file(
                        self._credentials_file
                    )
                except (OSError, ValueError, KeyError) as exc:
                    # Health checks call this often: log a failure once, not on every call.
                    # The exception text may quote the key file, so only its type is logged.
                    if not self._load_failed:
                        logger.warning("google credentials not loadable: %s", type(exc).__name__)
                    self._load_failed = True
                    return None
                options = None
                if self._api_endpoint is not None:
                    options = ClientOptions(api_endpoint=self._api_endpoint)
                self._client = texttospeech.TextToSpeechClient(
                    credentials=credentials,
                    transport="rest" if options is not None else None,
                    client_options=options,
                )
            return self._client

    def _synthesize(self, chunks: list[str], language: str, voice: str) -> SynthesizedAudio:
        client = self._loaded_client()
        if client is None:
            raise TransientTtsError("credentials not loadable")
        selection = texttospeech.VoiceSelectionParams(language_code=language, name=voice)
        audio_config = texttospeech.AudioConfig(
            audio_encoding=texttospeech.AudioEncoding.LINEAR16, sample_rate_hertz=SAMPLE_RATE
        )
        pcm = bytearray()
        for chunk in chunks:
            try:
                response = client.synthesize_speech(
                    input=texttospeech.SynthesisInput(text=chunk),
                    voice=selection,
                    audio_config=audio_config,
                    retry=None,
                    timeout=self._timeout,
                )
            except Exception as exc:  # every failure is classified by _classify
                raise _classify(exc) from exc
            # LINEAR16 comes with a RIFF header per response: keep only the samples.
            pcm += _samples(response.audio_content)
        frames = len(pcm) // 2
        if not frames:
            raise PermanentTtsError("no audio produced")
        return SynthesizedAudio(
            wav=pcm16_wav(bytes(pcm), SAMPLE_RATE),
            sample_rate=SAMPLE_RATE,
            duration_ms=round(frames * 1000 / SAMPLE_RATE),
            voice=voice,
        )


def _samples(wav: bytes) -> bytes:
    """The PCM of one response, after checking it is the format that was asked for."""
    info = inspect_wav(wav)  # PermanentTtsError("output is not a valid WAV") on garbage
    if (info.sample_rate, info.channels, info.sample_width) != (SAMPLE_RATE, 1, 2):
        raise PermanentTtsError("unexpected audio format")
    with wave.open(io.BytesIO(wav), "rb") as reader:
        return reader.readframes(info.frames)


def _classify(exc: Exception) -> TransientTtsError | PermanentTtsError:
    """API §9.5: 429, 5xx, timeouts and network errors are worth retrying; other 4xx are not."""
    if isinstance(exc, api_exceptions.GoogleAPICallError):
        # REST messages start with "POST <url>: "; the service's own words are what matter.
        message = _REQUEST_PREFIX.sub("", exc.message or "")
        detail = _short(f"{exc.code or ''} {message}".strip() or type(exc).__name__)
        if isinstance(
            exc,
            api_exceptions.TooManyRequests
            | api_exceptions.ServerError
            | api_exceptions.Aborted
            | api_exceptions.Cancelled,
        ):
            return TransientTtsError(detail)
        if isinstance(exc, api_exceptions.ClientError):
            return PermanentTtsError(detail)
        return TransientTtsError(detail)  # no HTTP status: a transport-level failure
    if isinstance(exc, api_exceptions.RetryError):
        return TransientTtsError("retries exhausted")
    if isinstance(exc, auth_exceptions.TransportError | auth_exceptions.TimeoutError):
        return TransientTtsError("network error while authenticating")
    if isinstance(exc, auth_exceptions.RefreshError):
        # google-auth marks refresh failures it considers temporary (e.g. a 5xx from the
        # token endpoint); the rest mean the credentials were rejected.
        if getattr(exc, "retryable", False):
            return TransientTtsError("authentication temporarily failed")
        return PermanentTtsError("authentication rejected")
    if isinstance(exc, auth_exceptions.GoogleAuthError):
        return PermanentTtsError("authentication rejected")
    if isinstance(exc, TimeoutError | requests.Timeout):
        return TransientTtsError("timed out")
    if isinstance(exc, OSError):  # includes every requests exception (REST transport)
        return TransientTtsError(_short(f"network error: {type(exc).__name__}"))
    logger.exception("unexpected google tts failure")
    return TransientTtsError(_short(f"unexpected error: {type(exc).__name__}"))


def _short(message: str) -> str:
    message = " ".join(message.split())
    return message if len(message) <= _MAX_DETAIL else message[: _MAX_DETAIL - 1] + "…"
