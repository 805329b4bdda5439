"""Contract of the TtsGateway port, run against the fake and the real espeak-ng (never mocked).

espeak-ng output varies slightly between calls: assert on ranges, never on hashes.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import math
import struct
from array import array
from collections.abc import Callable

import pytest

from adapters.tts.espeak import EspeakTtsGateway
from adapters.tts.fake import FakeTtsGateway
from adapters.tts.wav import WAV_HEADER_SIZE, WavInfo, inspect_wav, pcm16_wav
from application.ports import TtsGateway
from domain.audio import LocaleVoices, SynthesizedAudio, resolve_locale, tts_text
from domain.errors import PermanentTtsError, TransientTtsError
from domain.locales import canonical_locale

GATEWAYS: dict[str, tuple[Callable[[], TtsGateway], int]] = {
    "fake": (FakeTtsGateway, 16_000),
    "local": (EspeakTtsGateway, 22_050),
}

FIVE_WORDS = "The quick brown fox jumps."


@pytest.fixture(params=sorted(GATEWAYS))
def gateway(request: pytest.FixtureRequest) -> TtsGateway:
    factory, _ = GATEWAYS[request.param]
    return factory()


@pytest.fixture
def sample_rate(gateway: TtsGateway) -> int:
    return GATEWAYS[gateway.name][1]


def entry_for(gateway: TtsGateway, locale: str) -> LocaleVoices:
    entry = resolve_locale(gateway.locales(), locale)
    assert entry is not None, f"{gateway.name} cannot speak {locale}"
    return entry


async def speak(gateway: TtsGateway, text: str, locale: str = "en") -> SynthesizedAudio:
    entry = entry_for(gateway, locale)
    return await gateway.synthesize(tts_text(text), entry.locale, entry.default_voice)


def check_audio(audio: SynthesizedAudio, sample_rate: int) -> WavInfo:
    """A well-formed canonical PCM16 mono WAV, consistent with its metadata, audibly loud."""
    info = inspect_wav(audio.wav)
    assert audio.sample_rate == info.sample_rate == sample_rate
    assert (info.channels, info.sample_width) == (1, 2)
    assert len(audio.wav) == WAV_HEADER_SIZE + 2 * info.frames
    assert abs(audio.duration_ms - info.frames * 1000 / sample_rate) <= 1
    assert info.duration_ms == audio.duration_ms
    assert 0.02 < info.rms < 0.5, info.rms  # neither silence nor clipped noise
    return info


# --- every gateway ------------------------------------------------------------------------------


def test_locales_are_canonical_sorted_and_have_their_default_voice(gateway: TtsGateway) -> None:
    locales = gateway.locales()
    assert locales
    tags = [e.locale for e in locales]
    assert all(canonical_locale(tag) == tag for tag in tags)
    assert len({t.casefold() for t in tags}) == len(tags)
    assert tags == sorted(tags, key=str.casefold)
    for entry in locales:
        assert entry.voices
        assert entry.offers(entry.default_voice)
        assert len({v.id for v in entry.voices}) == len(entry.voices)
        assert all(v.id and v.name for v in entry.voices)
    assert list(gateway.locales()) == list(locales)  # stable


def test_is_available(gateway: TtsGateway) -> None:
    assert gateway.is_available()


async def test_synthesize_returns_plausible_wav(gateway: TtsGateway, sample_rate: int) -> None:
    entry = entry_for(gateway, "en")
    audio = await gateway.synthesize(FIVE_WORDS, entry.locale, entry.default_voice)
    assert audio.voice == entry.default_voice
    info = check_audio(audio, sample_rate)
    assert 500 <= info.duration_ms <= 6000


async def test_every_voice_speaks(gateway: TtsGateway, sample_rate: int) -> None:
    """Every advertised voice id is accepted by the engine and produces audio."""
    seen: set[str] = set()
    for entry in gateway.locales():
        for voice in entry.voices:
            if voice.id in seen:
                continue
            seen.add(voice.id)
            audio = await gateway.synthesize("a", entry.locale, voice.id)
            assert audio.voice == voice.id
            info = inspect_wav(audio.wav)
            assert info.sample_rate == sample_rate and info.frames > 0 and info.rms > 0


async def test_longer_text_gives_longer_audio(gateway: TtsGateway) -> None:
    short = await speak(gateway, "Good morning.")
    long = await speak(gateway, "Good morning. " * 4 + "How are you today, my dear friend?")
    assert long.duration_ms > 2 * short.duration_ms


async def test_concurrent_calls_all_succeed(gateway: TtsGateway, sample_rate: int) -> None:
    """8 calls at once: for espeak-ng this passes only because of the process-wide lock."""
    texts = [f"{FIVE_WORDS} Number {i}." for i in range(8)]
    results = await asyncio.gather(*(speak(gateway, t, "en-US") for t in texts))
    for audio in results:
        info = check_audio(audio, sample_rate)
        assert 500 <= info.duration_ms <= 8000


async def test_unknown_voice_is_permanent(gateway: TtsGateway) -> None:
    entry = entry_for(gateway, "en")
    with pytest.raises(PermanentTtsError, match="unknown voice"):
        await gateway.synthesize(FIVE_WORDS, entry.locale, "no-such-voice")


# --- espeak-ng ----------------------------------------------------------------------------------


@pytest.fixture
def espeak() -> EspeakTtsGateway:
    return EspeakTtsGateway()


@pytest.mark.parametrize(
    ("locale", "resolved", "voice", "voice_name"),
    [
        ("fi-FI", "fi", "urj/fi", "Finnish"),
        ("fi", "fi", "urj/fi", "Finnish"),
        ("en-US", "en-US", "gmw/en-US", "English (America)"),
        ("en-GB", "en-GB", "gmw/en", "English (Great Britain)"),
        ("zh-CN", "zh-CN", "sit/cmn", "Chinese (Mandarin, latin as English)"),
        ("zh", "zh", "sit/cmn", "Chinese (Mandarin, latin as English)"),
        ("zh-TW", "zh-TW", "sit/cmn", "Chinese (Mandarin, latin as English)"),
        ("zh-HK", "zh-HK", "sit/yue", "Chinese (Cantonese)"),
        ("sv-SE", "sv", "gmq/sv", "Swedish"),
        ("pt-BR", "pt-BR", "roa/pt-BR", "Portuguese (Brazil)"),
    ],
)
def test_espeak_locale_resolution(
    espeak: EspeakTtsGateway, locale: str, resolved: str, voice: str, voice_name: str
) -> None:
    entry = entry_for(espeak, locale)
    assert (entry.locale, entry.default_voice) == (resolved, voice)
    assert {v.id: v.name for v in entry.voices}[voice] == voice_name


def test_espeak_skips_codes_that_are_not_tags(espeak: EspeakTtsGateway) -> None:
    tags = {e.locale for e in espeak.locales()}
    assert {"en-GB-x-rp", "cmn-Latn-pinyin", "es-419", "chr"} <= tags
    assert not any("_" in t for t in tags)
    assert "zh-cmn" not in {t.casefold() for t in tags}
    assert "fo" not in tags  # listed by espeak, but the wheel has no Faroese dictionary
    assert len(tags) > 100


@pytest.mark.parametrize(
    ("locale", "text", "low_ms", "high_ms"),
    [
        ("fi-FI", "Hyvää huomenta! Mitä sinulle kuuluu tänään?", 1500, 6000),
        ("en-US", "The weather is lovely today, so we are going for a walk.", 1500, 7000),
        ("zh-CN", "今天天气很好，我们去公园散步吧。", 1500, 8000),
        ("de", "Heute ist ein schöner Tag.", 800, 5000),
    ],
)
async def test_espeak_real_sentences(
    espeak: EspeakTtsGateway, locale: str, text: str, low_ms: int, high_ms: int
) -> None:
    info = check_audio(await speak(espeak, text, locale), 22_050)
    assert low_ms <= info.duration_ms <= high_ms


async def test_espeak_rate_is_applied_after_the_voice(espeak: EspeakTtsGateway) -> None:
    """SetVoiceByName resets the rate; a faster gateway must still produce shorter audio."""
    text = "The weather is lovely today, so we are going for a walk in the park."
    normal = await speak(espeak, text, "en-US")
    fast = await speak(EspeakTtsGateway(rate_wpm=300), text, "en-US")
    again = await speak(espeak, text, "en-US")
    assert fast.duration_ms < 0.8 * normal.duration_ms
    assert abs(again.duration_ms - normal.duration_ms) < 0.05 * normal.duration_ms


async def test_espeak_silence_is_permanent(espeak: EspeakTtsGateway) -> None:
    with pytest.raises(PermanentTtsError, match="no audio produced"):
        await speak(espeak, "...", "en-US")


async def test_espeak_unloadable_library_is_unavailable() -> None:
    gateway = EspeakTtsGateway(library_path="/nonexistent/libespeak-ng.so")
    assert not gateway.is_available()
    assert list(gateway.locales()) == []
    with pytest.raises(TransientTtsError, match="engine unavailable"):
        await gateway.synthesize(FIVE_WORDS, "en", "gmw/en")


# --- fake ---------------------------------------------------------------------------------------


def test_fake_locales_and_voices() -> None:
    locales = FakeTtsGateway().locales()
    assert [e.locale for e in locales] == [
        "de", "en", "en-GB", "en-US", "es", "fi", "fi-FI", "fr", "ja", "sv", "zh", "zh-CN",
    ]  # fmt: skip
    for entry in locales:
        assert entry.default_voice == "fake-a"
        assert [(v.id, v.name) for v in entry.voices] == [
            ("fake-a", "Fake A (440 Hz)"),
            ("fake-b", "Fake B (660 Hz)"),
        ]


async def test_fake_spec_example() -> None:
    audio = await FakeTtsGateway().synthesize("Hyvää huomenta!", "fi", "fake-a")
    assert (audio.duration_ms, audio.sample_rate, audio.voice) == (800, 16_000, "fake-a")
    assert len(audio.wav) == 25_644
    assert (
        hashlib.sha256(audio.wav).hexdigest()
        == "df934222b96dac12450943ecbb7a5ee3ce52a2dd21d8b6027311504e5712d015"
    )
    assert inspect_wav(audio.wav).frames == 12_800
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        *(b"RIFF", 36 + 25_600, b"WAVE", b"fmt ", 16, 1, 1, 16_000, 32_000, 2, 16, b"data", 25_600),
    )
    assert audio.wav[:WAV_HEADER_SIZE] == header


def samples_of(wav: bytes) -> array[int]:
    samples = array("h")
    samples.frombytes(wav[WAV_HEADER_SIZE:])
    return samples


@pytest.mark.parametrize(("voice", "frequency"), [("fake-a", 440), ("fake-b", 660)])
async def test_fake_tone_follows_the_formula(voice: str, frequency: int) -> None:
    audio = await FakeTtsGateway().synthesize("x" * 20, "en", voice)
    samples = samples_of(audio.wav)
    assert len(samples) == 16 * audio.duration_ms == 16 * 1000
    for n in (0, 1, 7, 399, 4321, len(samples) - 1):
        assert samples[n] == round(8000 * math.sin(2 * math.pi * frequency * n / 16000))
    # Upward zero crossings per second = frequency.
    crossings = sum(1 for a, b in itertools.pairwise(samples) if a < 0 <= b)
    assert abs(crossings - frequency) <= 1


@pytest.mark.parametrize(("length", "duration_ms"), [(0, 200), (744, 29_960), (745, 30_000)])
async def test_fake_duration_and_cap(length: int, duration_ms: int) -> None:
    audio = await FakeTtsGateway().synthesize("a" * length, "en", "fake-b")
    assert audio.duration_ms == duration_ms
    assert inspect_wav(audio.wav).frames == 16 * duration_ms


async def test_fake_duration_is_capped_at_30_s() -> None:
    audio = await FakeTtsGateway().synthesize("word " * 2000, "en", "fake-a")
    assert audio.duration_ms == 30_000
    assert len(audio.wav) == WAV_HEADER_SIZE + 2 * 480_000


async def test_fake_failure_hooks() -> None:
    fake = FakeTtsGateway()
    with pytest.raises(PermanentTtsError) as permanent:
        await fake.synthesize("please #fail-permanent now", "en", "fake-a")
    assert permanent.value.message == "permanent failure requested"
    with pytest.raises(TransientTtsError) as transient:
        await fake.synthesize("please #fail-transient now", "en", "fake-a")
    assert transient.value.message == "transient failure requested"
    assert not isinstance(transient.value, PermanentTtsError)


async def test_fake_unavailable() -> None:
    fake = FakeTtsGateway(available=False)
    assert not fake.is_available()
    assert fake.locales()
    with pytest.raises(TransientTtsError, match="engine unavailable"):
        await fake.synthesize("Hello", "en", "fake-a")


# --- wav helpers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"", b"garbage" * 10, b"RIFF\x00\x00\x00\x00WAVE", pcm16_wav(b"\x01\x00", 16_000)[:30]],
)
def test_inspect_wav_rejects_garbage(data: bytes) -> None:
    with pytest.raises(PermanentTtsError, match="output is not a valid WAV"):
        inspect_wav(data)


def test_pcm16_wav_round_trip() -> None:
    samples = array("h", [0, 16384, -16384, 0] * 4000)
    info = inspect_wav(pcm16_wav(samples, 8000))
    assert (info.sample_rate, info.channels, info.sample_width, info.frames) == (8000, 1, 2, 16000)
    assert info.duration_ms == 2000
    assert info.rms == pytest.approx(math.sqrt(0.125))
