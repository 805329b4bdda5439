"""Azure AI Speech through the official SDK (`azure-cognitiveservices-speech`).

One SpeechSynthesizer per call with `audio_config=None`, so the audio stays in memory. The SDK's
`speak_ssml_async(...).get()` blocks; it runs in a worker thread, and a cancelled call (the
application's per-try timeout) stops the synthesizer so the thread is released too.
"""

from __future__ import annotations

import asyncio
import io
import logging
import wave
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

import azure.cognitiveservices.speech as speechsdk

from adapters.tts.wav import inspect_wav, pcm16_wav
from application.ports import TtsGateway
from domain.audio import LocaleVoices, SynthesizedAudio, Voice
from domain.errors import PermanentTtsError, TransientTtsError

logger = logging.getLogger(__name__)

SAMPLE_RATE = 24_000
# Without it the SDK waits 40 s for a silent service, then retries once (80 s measured), which
# outlives the application's 60 s per-try limit; the SDK gives up after about twice this value.
FIRST_CHUNK_TIMEOUT_MS = 15_000
_MAX_DETAIL = 200

_Code = speechsdk.CancellationErrorCode

# API §9.5: what retrying can fix. AuthenticationFailure also covers HTTP 403 at the upgrade.
_TRANSIENT_CODES = frozenset(
    {
        _Code.ConnectionFailure,
        _Code.ServiceTimeout,
        _Code.ServiceError,
        _Code.ServiceUnavailable,
        _Code.TooManyRequests,
        _Code.ServiceRedirectTemporary,
        _Code.RuntimeError,  # an SDK-internal failure: not a verdict on the request
    }
)
_PERMANENT_CODES = frozenset(
    {
        _Code.AuthenticationFailure,
        _Code.BadRequest,
        _Code.Forbidden,
        _Code.ServiceRedirectPermanent,
        _Code.EmbeddedModelError,
    }
)


def _voices(*entries: tuple[str, str]) -> tuple[Voice, ...]:
    return tuple(Voice(voice_id, name) for voice_id, name in entries)


# Built-in catalogue (API §9.3): listing needs no network. The first voice is the default.
# Sorted by locale, case-insensitively.
CATALOGUE: tuple[LocaleVoices, ...] = tuple(
    LocaleVoices(locale, voices[0].id, voices)
    for locale, voices in (
        (
            "de-DE",
            _voices(
                ("de-DE-KatjaNeural", "Katja (female)"),
                ("de-DE-ConradNeural", "Conrad (male)"),
                ("de-DE-AmalaNeural", "Amala (female)"),
            ),
        ),
        (
            "en-GB",
            _voices(
                ("en-GB-SoniaNeural", "Sonia (female)"),
                ("en-GB-RyanNeural", "Ryan (male)"),
                ("en-GB-LibbyNeural", "Libby (female)"),
            ),
        ),
        (
            "en-US",
            _voices(
                ("en-US-JennyNeural", "Jenny (female)"),
                ("en-US-GuyNeural", "Guy (male)"),
                ("en-US-AriaNeural", "Aria (female)"),
                ("en-US-DavisNeural", "Davis (male)"),
            ),
        ),
        (
            "es-ES",
            _voices(
                ("es-ES-ElviraNeural", "Elvira (female)"),
                ("es-ES-AlvaroNeural", "Álvaro (male)"),
            ),
        ),
        (
            "fi-FI",
            _voices(
                ("fi-FI-NooraNeural", "Noora (female)"),
                ("fi-FI-SelmaNeural", "Selma (female)"),
                ("fi-FI-HarriNeural", "Harri (male)"),
            ),
        ),
        (
            "fr-FR",
            _voices(
                ("fr-FR-DeniseNeural", "Denise (female)"),
                ("fr-FR-HenriNeural", "Henri (male)"),
            ),
        ),
        (
            "it-IT",
            _voices(
                ("it-IT-ElsaNeural", "Elsa (female)"),
                ("it-IT-DiegoNeural", "Diego (male)"),
            ),
        ),
        (
            "ja-JP",
            _voices(
                ("ja-JP-NanamiNeural", "Nanami (female)"),
                ("ja-JP-KeitaNeural", "Keita (male)"),
            ),
        ),
        (
            "nl-NL",
            _voices(
                ("nl-NL-ColetteNeural", "Colette (female)"),
                ("nl-NL-MaartenNeural", "Maarten (male)"),
            ),
        ),
        (
            "pt-BR",
            _voices(
                ("pt-BR-FranciscaNeural", "Francisca (female)"),
                ("pt-BR-AntonioNeural", "Antônio (male)"),
            ),
        ),
        (
            "sv-SE",
            _voices(
                ("sv-SE-SofieNeural", "Sofie (female)"),
                ("sv-SE-MattiasNeural", "Mattias (male)"),
                ("sv-SE-HilleviNeural", "Hillevi (female)"),
            ),
        ),
        (
            "zh-CN",
            _voices(
                ("zh-CN-XiaoxiaoNeural", "Xiaoxiao (female)"),
                ("zh-CN-YunxiNeural", "Yunxi (male)"),
                ("zh-CN-YunyangNeural", "Yunyang (male)"),
            ),
        ),
    )
)
_VOICE_IDS = frozenset(v.id for entry in CATALOGUE for v in entry.voices)


def ssml(text: str, locale: str, voice: str) -> str:
    """The request: SSML names the voice and the language; the text is XML-escaped."""
    return (
        "<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' "
        f"xml:lang={quoteattr(locale)}><voice name={quoteattr(voice)}>{escape(text)}</voice>"
        "</speak>"
    )


def cancellation_error(
    code: speechsdk.CancellationErrorCode, details: str, *, secret: str = ""
) -> TransientTtsError | PermanentTtsError:
    """Map a cancelled synthesis (error code + SDK details) to the domain error (API §9.5).

    Pure, so the mapping is testable without a socket. The message is the code in words and the
    first line of the SDK's details, without its trailing USP state; `secret` is scrubbed.
    """
    summary = details.split(" USP state:", 1)[0].strip().splitlines()
    detail = summary[0] if summary else ""
    if secret:
        detail = detail.replace(secret, "***")
    words = "".join(f" {c.lower()}" if c.isupper() else c for c in code.name).strip()
    message = f"{words}: {detail}" if detail else words
    if len(message) > _MAX_DETAIL:
        message = message[: _MAX_DETAIL - 1] + "…"
    if code in _PERMANENT_CODES:
        return PermanentTtsError(message)
    if code not in _TRANSIENT_CODES:
        logger.warning("unexpected azure cancellation code %s", code.name)
    return TransientTtsError(message)


def audio_from_riff(wav: bytes, voice: str) -> SynthesizedAudio:
    """The SDK's RIFF output (46-byte header) as a canonical WAV, after checking its format."""
    if not wav:  # what the SDK hands out when the service ended the turn without audio
        raise PermanentTtsError("no audio produced")
    info = inspect_wav(wav)  # PermanentTtsError("output is not a valid WAV") on garbage
    if (info.sample_rate, info.channels, info.sample_width) != (SAMPLE_RATE, 1, 2):
        raise PermanentTtsError("unexpected audio format")
    if not info.frames:
        raise PermanentTtsError("no audio produced")
    with wave.open(io.BytesIO(wav), "rb") as reader:
        pcm = reader.readframes(info.frames)
    return SynthesizedAudio(
        wav=pcm16_wav(pcm, SAMPLE_RATE),
        sample_rate=SAMPLE_RATE,
        duration_ms=info.duration_ms,
        voice=voice,
    )


class AzureTtsGateway(TtsGateway):
    """Azure neural voices: RIFF 24 kHz 16-bit mono PCM, voices from the built-in catalogue.

    `host` (test seam) replaces the region's endpoint, e.g. `ws://127.0.0.1:PORT` for a local
    fake; `first_chunk_timeout_ms` bounds how long the SDK waits for a silent service.
    """

    name = "azure"

    def __init__(
        self,
        key: str,
        region: str,
        *,
        host: str | None = None,
        first_chunk_timeout_ms: int = FIRST_CHUNK_TIMEOUT_MS,
    ) -> None:
        self._key = key
        self._region = region
        self._host = host
        self._first_chunk_timeout_ms = first_chunk_timeout_ms

    def locales(self) -> Sequence[LocaleVoices]:
        return CATALOGUE

    def is_available(self) -> bool:
        return bool(self._key and (self._region or self._host))

    async def synthesize(self, text: str, locale: str, voice: str) -> SynthesizedAudio:
        if voice not in _VOICE_IDS:
            raise PermanentTtsError(f"unknown voice '{voice}'")
        if not self.is_available():
            raise TransientTtsError("not configured")
        synthesizer = self._synthesizer()  # ~0.1 ms and no I/O: fine on the loop
        try:
            result = await asyncio.to_thread(
                lambda: synthesizer.speak_ssml_async(ssml(text, locale, voice)).get()
            )
        except asyncio.CancelledError:
            # Unblocks the worker thread's get() at once instead of at the SDK's own timeout.
            synthesizer.stop_speaking_async()
            raise
        if result.reason == speechsdk.ResultReason.SynthesizingAudioCompleted:
            return audio_from_riff(result.audio_data, voice)
        if result.reason == speechsdk.ResultReason.Canceled:
            details = result.cancellation_details
            if details.reason == speechsdk.CancellationReason.Error:
                summary = details.error_details or ""
                raise cancellation_error(details.error_code, summary, secret=self._key)
            raise TransientTtsError("synthesis cancelled")
        raise TransientTtsError(f"unexpected result {result.reason.name}")

    def _synthesizer(self) -> speechsdk.SpeechSynthesizer:
        try:
            if self._host:
                config = speechsdk.SpeechConfig(host=self._host, subscription=self._key)
            else:
                config = speechsdk.SpeechConfig(subscription=self._key, region=self._region)
            config.set_speech_synthesis_output_format(
                speechsdk.SpeechSynthesisOutputFormat.Riff24Khz16BitMonoPcm
            )
            # A private SDK property (found in the library; no PropertyId exists for it).
            config.set_property_by_name(
                "SpeechSynthesis_FirstChunkTimeoutMs", str(self._first_chunk_timeout_ms)
            )
            return speechsdk.SpeechSynthesizer(speech_config=config, audio_config=None)
        except (RuntimeError, ValueError) as exc:
            # Settings only change with a restart: retrying cannot help. The SDK's text may
            # echo the configuration, so it is not repeated.
            raise PermanentTtsError("invalid speech configuration") from exc
