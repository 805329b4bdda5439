"""Local, offline TTS: espeak-ng from the `espeakng-loader` wheel, called through ctypes.

espeak-ng keeps its state in C globals and is not thread-safe (concurrent synthesis crashed the
process, FIELD-NOTES.md), so everything that touches the library runs under one process-wide
lock and the loaded library is shared by every gateway instance. Parallelism comes from processes.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import sys
import threading
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adapters.tts.wav import pcm16_wav
from application.ports import TtsGateway
from domain.audio import LocaleVoices, SynthesizedAudio, Voice
from domain.errors import InvalidInputError, PermanentTtsError, TransientTtsError
from domain.locales import canonical_locale

logger = logging.getLogger(__name__)

# Dictation favours clarity over speed: 150 words per minute instead of espeak's default 175.
DEFAULT_RATE_WPM = 150

# Constants from espeak-ng's speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2  # synthesize in the calling thread, no latency floor
_INITIALIZE_DONT_EXIT = 0x8000  # return an error instead of exit() when the data is missing
_BUFFER_MS = 500  # PCM handed to the callback per call; larger = fewer Python callbacks
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE = 1
_EE_OK = 0

# BCP 47 Chinese tags items use, mapped to the espeak locale whose voices speak them. An alias
# is added only when espeak does not advertise the tag itself and the target exists.
# (espeak itself advertises `zh` and `yue`; `zh-cmn` / `zh-yue` are skipped, see `_tag`.)
_ALIASES = {"zh": "cmn", "zh-CN": "cmn", "zh-TW": "cmn", "zh-HK": "yue"}

_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _EspeakVoice(ctypes.Structure):
    """`espeak_VOICE` from speak_lib.h."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        # Repeated [priority byte][language string NUL], ended by a 0 priority byte.
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


@dataclass(frozen=True, slots=True)
class _VoiceInfo:
    identifier: str  # e.g. "gmw/en-US": our voice id, accepted by espeak_SetVoiceByName
    name: str  # e.g. "English (America)"
    languages: tuple[tuple[int, str], ...]  # (priority, code); lower priority = better match


class _Engine:
    """The loaded library. Every method must be called with `_LOCK` held."""

    def __init__(self, library_path: str, data_path: str) -> None:
        lib = ctypes.CDLL(library_path)  # OSError when missing or not loadable
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_EspeakVoice))
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Synchronize.restype = ctypes.c_int

        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, _BUFFER_MS, data_path.encode(), _INITIALIZE_DONT_EXIT
        )
        if rate <= 0:
            raise OSError(f"espeak_Initialize failed ({rate})")
        self.sample_rate: int = rate
        self._lib = lib
        self._chunks: list[bytes] = []
        # The C side keeps only a raw pointer: this reference keeps the thunk alive.
        self._callback = _SynthCallback(self._on_samples)
        lib.espeak_SetSynthCallback(self._callback)
        listed = self._list_voices()
        # Some listed voices cannot speak: the wheel lacks their dictionary (fo, kaa, xex), and
        # espeak then prints a warning and yields silence. Advertise only voices that speak.
        self.voices: tuple[_VoiceInfo, ...] = tuple(
            v for v in listed if self.synthesize("a", v.identifier, DEFAULT_RATE_WPM).strip(b"\0")
        )
        if dropped := sorted({v.identifier for v in listed} - {v.identifier for v in self.voices}):
            logger.info("espeak-ng voices without audio, not offered: %s", ", ".join(dropped))

    def _on_samples(self, wav: Any, count: int, _events: int | None) -> int:
        if count > 0 and wav:
            self._chunks.append(ctypes.string_at(wav, count * 2))
        return 0  # 0 = continue

    def _list_voices(self) -> tuple[_VoiceInfo, ...]:
        listed = self._lib.espeak_ListVoices(None)
        voices: list[_VoiceInfo] = []
        index = 0
        while listed[index]:
            raw = listed[index].contents
            voices.append(
                _VoiceInfo(
                    identifier=(raw.identifier or b"").decode("utf-8", "replace"),
                    name=(raw.name or b"").decode("utf-8", "replace").strip(),
                    languages=_read_languages(raw.languages),
                )
            )
            index += 1
        return tuple(v for v in voices if v.identifier)

    def synthesize(self, text: str, voice: str, rate_wpm: int) -> bytes:
        """Little-endian PCM16 mono samples at `sample_rate`."""
        if self._lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
            raise PermanentTtsError(f"unknown voice '{voice}'")
        # SetVoiceByName resets the rate: set it after choosing the voice.
        self._lib.espeak_SetParameter(_PARAM_RATE, rate_wpm, 0)
        # espeak reads up to the first NUL; a NUL inside the text would cut it short.
        data = text.replace("\0", " ").encode("utf-8") + b"\0"
        self._chunks = []
        try:
            status = self._lib.espeak_Synth(
                data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
            )
            if status != _EE_OK:
                raise TransientTtsError(f"espeak_Synth failed ({status})")
            self._lib.espeak_Synchronize()
            pcm = b"".join(self._chunks)
        finally:
            self._chunks = []
        if sys.byteorder == "big":  # the callback hands out native-order samples
            samples = array("h", pcm)
            samples.byteswap()
            pcm = samples.tobytes()
        return pcm


def _read_languages(address: int | None) -> tuple[tuple[int, str], ...]:
    languages: list[tuple[int, str]] = []
    if not address:
        return ()
    while priority := ctypes.c_ubyte.from_address(address).value:
        code = ctypes.string_at(address + 1)
        languages.append((priority, code.decode("ascii", "replace")))
        address += len(code) + 2  # priority byte + string + NUL
    return tuple(languages)


def _build_locales(voices: Sequence[_VoiceInfo]) -> tuple[LocaleVoices, ...]:
    """One locale per advertised language code; the default voice has the best (lowest) priority,
    ties going to espeak's own list order."""
    ranked: dict[str, list[tuple[int, int, _VoiceInfo]]] = {}
    for order, voice in enumerate(voices):
        tags = [(priority, _tag(code)) for priority, code in voice.languages]
        valid = [(priority, tag) for priority, tag in tags if tag is not None]
        if not valid and voice.languages:
            # e.g. Cherokee advertises only "chr-US-Qaaa-x-west": keep it reachable as "chr".
            priority, code = voice.languages[0]
            fallback = _tag(code.split("-", 1)[0])
            valid = [(priority, fallback)] if fallback else []
        for priority, tag in valid:
            entries = ranked.setdefault(tag, [])
            if all(v.identifier != voice.identifier for _, _, v in entries):
                entries.append((priority, order, voice))
    for alias, target in _ALIASES.items():
        if alias not in ranked and target in ranked:
            ranked[alias] = ranked[target]
    locales = []
    for tag, entries in ranked.items():
        ordered = [voice for _, _, voice in sorted(entries, key=lambda e: (e[0], e[1]))]
        locales.append(
            LocaleVoices(
                locale=tag,
                default_voice=ordered[0].identifier,
                voices=tuple(Voice(v.identifier, v.name) for v in ordered),
            )
        )
    return tuple(sorted(locales, key=lambda e: e.locale.casefold()))


def _tag(code: str) -> str | None:
    """espeak's lower-case code as a canonical BCP 47 tag (`en-gb-x-rp` → `en-GB-x-rp`), or None
    for codes that are not tags (`zh-cmn` has an extlang our grammar does not accept)."""
    try:
        return canonical_locale(code)
    except InvalidInputError:
        return None


# Process-wide: the C library has one global state, whichever gateway instance loaded it.
_LOCK = threading.Lock()
_ENGINES: dict[tuple[str, str], _Engine | None] = {}


def _engine(library_path: str | None, data_path: str | None) -> _Engine | None:
    """Load the library on first use; None (remembered) when it cannot be loaded."""
    with _LOCK:
        if library_path is None or data_path is None:
            try:
                import espeakng_loader  # type: ignore[import-untyped]
            except ImportError:
                logger.warning("espeak-ng unavailable: espeakng-loader is not installed")
                return None
            library_path = library_path or espeakng_loader.get_library_path()
            data_path = data_path or espeakng_loader.get_data_path()
        key = (library_path, data_path)
        if key not in _ENGINES:
            try:
                _ENGINES[key] = _Engine(library_path, data_path)
            except (OSError, AttributeError) as exc:  # AttributeError: not an espeak-ng library
                logger.warning("espeak-ng unavailable: %s", exc)
                _ENGINES[key] = None
        return _ENGINES[key]


class EspeakTtsGateway(TtsGateway):
    """espeak-ng in-process: 22 050 Hz PCM16 mono, voices from the installed espeak-ng data.

    Nothing is loaded at construction; the first call to any method loads the library and checks
    every voice (~0.1 s, once per process): call `is_available()` at startup, off the event loop.
    `library_path` / `data_path` default to the files shipped in the espeakng-loader wheel.
    """

    name = "local"

    def __init__(
        self,
        library_path: str | None = None,
        data_path: str | None = None,
        rate_wpm: int = DEFAULT_RATE_WPM,
    ) -> None:
        self._library_path = library_path
        self._data_path = data_path
        self._rate_wpm = rate_wpm
        self._locales: tuple[LocaleVoices, ...] | None = None
        self._voice_ids: frozenset[str] = frozenset()

    def _loaded(self) -> _Engine | None:
        engine = _engine(self._library_path, self._data_path)
        if engine is not None and self._locales is None:
            # Voice ids first: another thread seeing `_locales` set must also see them.
            self._voice_ids = frozenset(v.identifier for v in engine.voices)
            self._locales = _build_locales(engine.voices)
        return engine

    def locales(self) -> Sequence[LocaleVoices]:
        self._loaded()
        return self._locales or ()

    def is_available(self) -> bool:
        engine = self._loaded()
        return engine is not None and bool(engine.voices)

    async def synthesize(self, text: str, locale: str, voice: str) -> SynthesizedAudio:
        """The voice alone decides the language (espeak voices are per language), so `locale`
        is not needed; the lock serialises calls, the worker thread keeps the loop free."""
        return await asyncio.to_thread(self._synthesize, text, voice)

    def _synthesize(self, text: str, voice: str) -> SynthesizedAudio:
        engine = self._loaded()
        if engine is None or not engine.voices:
            raise TransientTtsError("engine unavailable")
        if voice not in self._voice_ids:
            raise PermanentTtsError(f"unknown voice '{voice}'")
        with _LOCK:
            pcm = engine.synthesize(text, voice, self._rate_wpm)
        # Empty or punctuation-only text yields a few ms of digital silence, not speech.
        if not pcm.strip(b"\0"):
            raise PermanentTtsError("no audio produced")
        frames = len(pcm) // 2
        return SynthesizedAudio(
            wav=pcm16_wav(pcm[: frames * 2], engine.sample_rate),
            sample_rate=engine.sample_rate,
            duration_ms=round(frames * 1000 / engine.sample_rate),
            voice=voice,
        )
