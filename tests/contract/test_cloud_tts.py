"""Contract of the cloud TTS adapters, run against local fakes of the real wire protocols.

Google: the official client over REST against an HTTP fake of `POST /v1/text:synthesize`.
Azure: the official Speech SDK against a websocket fake of its USP protocol. Nothing leaves
127.0.0.1; every call is bounded by `asyncio.wait_for` and every fake stops itself.
"""

from __future__ import annotations

import os

# Before google-auth is imported: never probe the cloud metadata server from tests.
os.environ["NO_GCE_CHECK"] = "true"

import asyncio
import json
import socket
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import TypeVar

import azure.cognitiveservices.speech as speechsdk
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import texttospeech

from adapters.tts.azure import AzureTtsGateway, cancellation_error
from adapters.tts.google import (
    MAX_CHUNK_BYTES,
    MAX_CHUNK_CHARACTERS,
    GoogleTtsGateway,
    split_text,
)
from adapters.tts.wav import WAV_HEADER_SIZE, WavInfo, inspect_wav
from application.ports import TtsGateway
from domain.audio import SynthesizedAudio, resolve_locale
from domain.errors import PermanentTtsError, TransientTtsError, TtsError
from domain.locales import canonical_locale
from tests.fakes import duration_for
from tests.fakes.azure_speech import CLOSE_1011, HANG, NO_AUDIO, FakeAzureSpeech
from tests.fakes.google_tts import BAD_WAV, SLOW, SUCCEED, FakeGoogleTts

T = TypeVar("T")

CALL_TIMEOUT = 10.0  # seconds; every synthesis in this module is bounded by it
AZURE_KEY = "sk-test-5f1c0ffee0123456789"
SENTENCE = "Good morning, how are you today?"
REQUIRED_LOCALES = ("fi-FI", "en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "sv-SE", "ja-JP", "zh-CN")


async def bounded(call: Awaitable[T], seconds: float = CALL_TIMEOUT) -> T:
    return await asyncio.wait_for(call, seconds)


def check_audio(audio: SynthesizedAudio, text: str, voice: str) -> WavInfo:
    """A canonical 24 kHz PCM16 mono WAV as long as the fake's tone for `text`."""
    info = inspect_wav(audio.wav)
    assert audio.sample_rate == info.sample_rate == 24_000
    assert (info.channels, info.sample_width) == (1, 2)
    assert len(audio.wav) == WAV_HEADER_SIZE + 2 * info.frames  # re-wrapped canonically
    assert audio.duration_ms == info.duration_ms
    assert abs(info.duration_ms - duration_for(text)) <= 1
    assert 0.02 < info.rms < 0.5
    assert audio.voice == voice
    return info


def free_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- both catalogues ----------------------------------------------------------------------------


def offline_gateways() -> list[TtsGateway]:
    """Gateways with no usable credentials: listing must not need them, nor the network."""
    return [
        AzureTtsGateway(key="", region=""),
        GoogleTtsGateway(credentials_file="/nonexistent/credentials.json"),
    ]


@pytest.mark.parametrize("gateway", offline_gateways(), ids=lambda g: g.name)
def test_catalogue_is_built_in_canonical_and_complete(gateway: TtsGateway) -> None:
    locales = list(gateway.locales())
    tags = [e.locale for e in locales]
    assert tags
    assert all(canonical_locale(tag) == tag for tag in tags)
    assert tags == sorted(tags, key=str.casefold)
    assert len({t.casefold() for t in tags}) == len(tags)
    for entry in locales:
        assert entry.offers(entry.default_voice)
        assert len({v.id for v in entry.voices}) == len(entry.voices)
        assert all(v.id and v.name for v in entry.voices)
    assert set(REQUIRED_LOCALES) <= set(tags)
    resolved = resolve_locale(locales, "fi")
    assert resolved is not None and resolved.locale == "fi-FI"
    assert list(gateway.locales()) == locales  # stable


@pytest.mark.parametrize("gateway", offline_gateways(), ids=lambda g: g.name)
async def test_unconfigured_gateway_is_unavailable_and_transient(gateway: TtsGateway) -> None:
    assert not gateway.is_available()
    entry = gateway.locales()[0]
    with pytest.raises(TransientTtsError):
        await bounded(gateway.synthesize(SENTENCE, entry.locale, entry.default_voice))


# --- Google -------------------------------------------------------------------------------------


@pytest.fixture
def google_fake() -> Iterator[FakeGoogleTts]:
    with FakeGoogleTts(lifetime_seconds=60) as fake:
        yield fake


def anonymous_client(endpoint: str) -> texttospeech.TextToSpeechClient:
    return texttospeech.TextToSpeechClient(
        credentials=AnonymousCredentials(),
        transport="rest",
        client_options=ClientOptions(api_endpoint=endpoint),
    )


@pytest.fixture
def google(google_fake: FakeGoogleTts) -> GoogleTtsGateway:
    return GoogleTtsGateway(
        credentials_file="/nonexistent/unused.json",
        client=anonymous_client(google_fake.url),
        timeout_seconds=5,
    )


async def test_google_speaks_with_the_requested_voice(
    google: GoogleTtsGateway, google_fake: FakeGoogleTts
) -> None:
    assert google.is_available()
    audio = await bounded(google.synthesize(SENTENCE, "en-US", "en-US-Neural2-D"))
    check_audio(audio, SENTENCE, "en-US-Neural2-D")
    (request,) = google_fake.requests
    assert request.text == SENTENCE
    assert request.voice == {"languageCode": "en-US", "name": "en-US-Neural2-D"}
    assert request.audio_config == {"audioEncoding": "LINEAR16", "sampleRateHertz": 24_000}


async def test_google_sends_googles_language_code_for_mandarin(
    google: GoogleTtsGateway, google_fake: FakeGoogleTts
) -> None:
    entry = resolve_locale(google.locales(), "zh-CN")
    assert entry is not None
    await bounded(google.synthesize("你好", entry.locale, entry.default_voice))
    assert google_fake.requests[0].voice["languageCode"] == "cmn-CN"


async def test_google_long_text_is_chunked_and_audio_concatenated(
    google: GoogleTtsGateway, google_fake: FakeGoogleTts
) -> None:
    text = " ".join(f"word{i}" for i in range(1_400))  # ≈ 10 000 characters
    audio = await bounded(google.synthesize(text, "fi-FI", "fi-FI-Wavenet-A"))
    chunks = [r.text for r in google_fake.requests]
    assert len(chunks) == 3
    assert all(0 < len(c) <= MAX_CHUNK_CHARACTERS for c in chunks)
    assert " ".join(chunks) == text  # cut at whitespace only, nothing lost or reordered
    assert {r.voice["name"] for r in google_fake.requests} == {"fi-FI-Wavenet-A"}
    info = inspect_wav(audio.wav)
    assert len(audio.wav) == WAV_HEADER_SIZE + 2 * info.frames  # one header, not three
    assert info.sample_rate == 24_000
    assert abs(info.duration_ms - sum(duration_for(c) for c in chunks)) <= len(chunks)


async def test_google_concurrent_calls_all_succeed(
    google: GoogleTtsGateway, google_fake: FakeGoogleTts
) -> None:
    texts = [f"{SENTENCE} Number {i}." for i in range(6)]
    calls = (google.synthesize(t, "en-GB", "en-GB-Neural2-A") for t in texts)
    results = await bounded(asyncio.gather(*calls))
    for text, audio in zip(texts, results, strict=True):
        check_audio(audio, text, "en-GB-Neural2-A")
    assert sorted(r.text for r in google_fake.requests) == sorted(texts)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, TransientTtsError),
        (500, TransientTtsError),
        (503, TransientTtsError),
        (400, PermanentTtsError),
        (403, PermanentTtsError),
        (404, PermanentTtsError),
    ],
)
async def test_google_http_errors_are_classified(
    google: GoogleTtsGateway, google_fake: FakeGoogleTts, status: int, error: type[TtsError]
) -> None:
    google_fake.fail_next(status)
    with pytest.raises(error) as caught:
        await bounded(google.synthesize(SENTENCE, "en-US", "en-US-Neural2-C"))
    assert type(caught.value) is error
    assert caught.value.message.startswith(f"{status} scripted failure")
    assert len(google_fake.requests) == 1  # the adapter leaves retries to the application
    # The failure was not sticky: the next call works.
    await bounded(google.synthesize(SENTENCE, "en-US", "en-US-Neural2-C"))


async def test_google_401_is_permanent(
    google: GoogleTtsGateway, google_fake: FakeGoogleTts
) -> None:
    """A 401 makes the client try to refresh its credentials; that failing is permanent too."""
    google_fake.fail_next(401)
    with pytest.raises(PermanentTtsError):
        await bounded(google.synthesize(SENTENCE, "en-US", "en-US-Neural2-C"))


async def test_google_failure_on_a_later_chunk_fails_the_whole_text(
    google: GoogleTtsGateway, google_fake: FakeGoogleTts
) -> None:
    google_fake.fail_next(SUCCEED)
    google_fake.fail_next(500)
    text = "a " * MAX_CHUNK_CHARACTERS  # two chunks
    with pytest.raises(TransientTtsError, match="500"):
        await bounded(google.synthesize(text, "en-US", "en-US-Neural2-C"))
    assert len(google_fake.requests) == 2


async def test_google_invalid_audio_is_permanent(
    google: GoogleTtsGateway, google_fake: FakeGoogleTts
) -> None:
    google_fake.fail_next(BAD_WAV)
    with pytest.raises(PermanentTtsError, match="not a valid WAV"):
        await bounded(google.synthesize(SENTENCE, "en-US", "en-US-Neural2-C"))


async def test_google_timeout_is_transient(google_fake: FakeGoogleTts) -> None:
    gateway = GoogleTtsGateway(
        credentials_file="", client=anonymous_client(google_fake.url), timeout_seconds=0.3
    )
    google_fake.fail_next(SLOW)
    started = time.monotonic()
    with pytest.raises(TransientTtsError, match="timed out"):
        await bounded(gateway.synthesize(SENTENCE, "en-US", "en-US-Neural2-C"))
    assert time.monotonic() - started < 3


async def test_google_nothing_listening_is_transient() -> None:
    client = anonymous_client(f"http://127.0.0.1:{free_port()}")
    gateway = GoogleTtsGateway(credentials_file="", client=client, timeout_seconds=2)
    with pytest.raises(TransientTtsError, match="network error"):
        await bounded(gateway.synthesize(SENTENCE, "en-US", "en-US-Neural2-C"))


async def test_google_unknown_voice_is_permanent_without_a_request(
    google: GoogleTtsGateway, google_fake: FakeGoogleTts
) -> None:
    with pytest.raises(PermanentTtsError, match="unknown voice"):
        await bounded(google.synthesize(SENTENCE, "en-US", "no-such-voice"))
    assert google_fake.requests == []


@pytest.mark.parametrize("content", [None, "{not json", '{"type": "service_account"}'])
async def test_google_unloadable_credentials_are_transient(
    tmp_path: Path, content: str | None
) -> None:
    path = tmp_path / "credentials.json"
    if content is not None:
        path.write_text(content)
    gateway = GoogleTtsGateway(credentials_file=str(path))
    assert not gateway.is_available()
    with pytest.raises(TransientTtsError, match="credentials not loadable"):
        await bounded(gateway.synthesize(SENTENCE, "en-US", "en-US-Neural2-C"))


def service_account_file(path: Path) -> Path:
    """A syntactically real service-account key (fresh RSA key, fake identity)."""
    key = rsa.generate_private_key(public_exponent=65_537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "last-whisper-test",
        "private_key_id": "test-key-1",
        "private_key": pem,
        "client_email": "tts@last-whisper-test.iam.gserviceaccount.com",
        "client_id": "1",
        # Never contacted: the client signs its own JWT (self-signed JWT access).
        "token_uri": "http://127.0.0.1:9/token",
    }
    path.write_text(json.dumps(info))
    return path


async def test_google_credentials_file_loads_lazily_and_signs_requests(
    tmp_path: Path, google_fake: FakeGoogleTts
) -> None:
    """The production path: credentials from the file, client built on first use."""
    path = tmp_path / "credentials.json"
    gateway = GoogleTtsGateway(credentials_file=str(path), api_endpoint=google_fake.url)
    assert not gateway.is_available()  # not there yet (e.g. a secret mounted later)
    service_account_file(path)
    assert gateway.is_available()
    audio = await bounded(gateway.synthesize(SENTENCE, "de-DE", "de-DE-Neural2-B"))
    check_audio(audio, SENTENCE, "de-DE-Neural2-B")
    (request,) = google_fake.requests
    assert (request.authorization or "").startswith("Bearer ey")  # a JWT


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("", 10, []),
        ("   ", 10, []),
        ("hello world", MAX_CHUNK_CHARACTERS, ["hello world"]),
        ("x" * MAX_CHUNK_CHARACTERS, MAX_CHUNK_CHARACTERS, ["x" * MAX_CHUNK_CHARACTERS]),
        ("ab cd ef", 4, ["ab", "cd", "ef"]),
        ("ab cd ef", 5, ["ab cd", "ef"]),
    ],
)
def test_split_text_simple_cases(text: str, limit: int, expected: list[str]) -> None:
    assert split_text(text, limit) == expected


def test_split_text_packs_words_greedily_and_hard_splits_giant_words() -> None:
    assert split_text("aa bb cc dd", 5) == ["aa bb", "cc dd"]
    assert split_text("a bcdefghijk l", 4) == ["a", "bcde", "fghi", "jk l"]
    text = "word " * 2_000
    chunks = split_text(text)
    assert all(0 < len(c) <= MAX_CHUNK_CHARACTERS for c in chunks)
    assert " ".join(chunks) == text.strip()
    assert len(chunks) == 3


def test_split_text_keeps_every_chunk_within_the_services_byte_limit() -> None:
    """4,500 characters of CJK are ~13,500 bytes: chunks are bounded in bytes too, cut between
    code points, and nothing is lost."""
    cjk = "東京は日本の首都です。" * 600  # 6,600 characters, 3 bytes each, no whitespace
    chunks = split_text(cjk)
    assert all(len(c.encode()) <= MAX_CHUNK_BYTES for c in chunks)
    assert "".join(chunks) == cjk
    assert len(chunks) == 4  # ceil(19,800 bytes / 5,000): each chunk takes 1,666 characters
    words = " ".join(["🙂🙂🙂"] * 600)  # 12 bytes + a space per word
    chunks = split_text(words)
    assert all(
        len(c.encode()) <= MAX_CHUNK_BYTES and len(c) <= MAX_CHUNK_CHARACTERS for c in chunks
    )
    assert " ".join(chunks) == words
    assert split_text("ab cd", 10, byte_limit=4) == ["ab", "cd"]
    assert split_text("ääää", 10, byte_limit=5) == ["ää", "ää"]


# --- Azure --------------------------------------------------------------------------------------


@pytest.fixture
def azure_fake() -> Iterator[FakeAzureSpeech]:
    with FakeAzureSpeech(lifetime_seconds=60) as fake:
        yield fake


@pytest.fixture
def azure(azure_fake: FakeAzureSpeech) -> AzureTtsGateway:
    return AzureTtsGateway(key=AZURE_KEY, region="", host=azure_fake.host)


async def test_azure_speaks_with_the_requested_voice(
    azure: AzureTtsGateway, azure_fake: FakeAzureSpeech
) -> None:
    assert azure.is_available()
    audio = await bounded(azure.synthesize(SENTENCE, "fi-FI", "fi-FI-HarriNeural"))
    check_audio(audio, SENTENCE, "fi-FI-HarriNeural")
    (request,) = azure_fake.requests
    assert (request.voice, request.language, request.text) == (
        "fi-FI-HarriNeural",
        "fi-FI",
        SENTENCE,
    )
    assert request.output_format == "raw-24khz-16bit-mono-pcm"  # the SDK adds the RIFF header
    assert request.subscription_key == AZURE_KEY


async def test_azure_escapes_text_for_ssml(
    azure: AzureTtsGateway, azure_fake: FakeAzureSpeech
) -> None:
    text = "Tom & Jerry say <hello> \"quoted\" 'single'"
    audio = await bounded(azure.synthesize(text, "en-US", "en-US-JennyNeural"))
    check_audio(audio, text, "en-US-JennyNeural")
    assert azure_fake.requests[0].text == text


async def test_azure_concurrent_calls_all_succeed(
    azure: AzureTtsGateway, azure_fake: FakeAzureSpeech
) -> None:
    texts = [f"{SENTENCE} Number {i}." for i in range(6)]
    calls = (azure.synthesize(t, "sv-SE", "sv-SE-SofieNeural") for t in texts)
    results = await bounded(asyncio.gather(*calls))
    for text, audio in zip(texts, results, strict=True):
        check_audio(audio, text, "sv-SE-SofieNeural")
    assert sorted(r.text for r in azure_fake.requests) == sorted(texts)


@pytest.mark.parametrize(
    ("action", "times", "error", "message"),
    [
        (CLOSE_1011, 1, TransientTtsError, "service error: Connection was closed"),
        (401, 1, PermanentTtsError, "authentication failure"),
        (403, 1, PermanentTtsError, "authentication failure"),
        (400, 1, PermanentTtsError, "bad request"),
        # The SDK retries an upgrade refused with 429/5xx once by itself.
        (429, 2, TransientTtsError, "too many requests"),
        (500, 2, TransientTtsError, "service error"),
        (503, 2, TransientTtsError, "service unavailable"),
        (NO_AUDIO, 1, PermanentTtsError, "no audio produced"),
    ],
)
async def test_azure_failures_are_classified(
    azure: AzureTtsGateway,
    azure_fake: FakeAzureSpeech,
    action: int | str,
    times: int,
    error: type[TtsError],
    message: str,
) -> None:
    azure_fake.fail_next(action, times)
    with pytest.raises(error) as caught:
        await bounded(azure.synthesize(SENTENCE, "en-US", "en-US-JennyNeural"))
    assert type(caught.value) is error
    assert caught.value.message.startswith(message)
    assert AZURE_KEY not in caught.value.message
    assert "USP state" not in caught.value.message
    # Not sticky: the next call works.
    await bounded(azure.synthesize(SENTENCE, "en-US", "en-US-JennyNeural"))


async def test_azure_silent_service_times_out_transiently(azure_fake: FakeAzureSpeech) -> None:
    gateway = AzureTtsGateway(
        key=AZURE_KEY, region="", host=azure_fake.host, first_chunk_timeout_ms=200
    )
    azure_fake.fail_next(HANG)
    with pytest.raises(TransientTtsError, match="service timeout"):
        await bounded(gateway.synthesize(SENTENCE, "en-US", "en-US-JennyNeural"))


async def test_azure_cancelled_call_releases_the_synthesis(
    azure: AzureTtsGateway, azure_fake: FakeAzureSpeech
) -> None:
    """The application's per-try timeout cancels the call; the SDK call must stop too."""
    azure_fake.fail_next(HANG)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(azure.synthesize(SENTENCE, "en-US", "en-US-JennyNeural"), 0.3)
    assert time.monotonic() - started < 2
    audio = await bounded(azure.synthesize("again", "en-US", "en-US-JennyNeural"))
    check_audio(audio, "again", "en-US-JennyNeural")


async def test_azure_nothing_listening_is_transient() -> None:
    gateway = AzureTtsGateway(key=AZURE_KEY, region="", host=f"ws://127.0.0.1:{free_port()}")
    with pytest.raises(TransientTtsError, match="connection failure") as caught:
        await bounded(gateway.synthesize(SENTENCE, "en-US", "en-US-JennyNeural"))
    assert AZURE_KEY not in caught.value.message


async def test_azure_unknown_voice_is_permanent_without_a_request(
    azure: AzureTtsGateway, azure_fake: FakeAzureSpeech
) -> None:
    with pytest.raises(PermanentTtsError, match="unknown voice"):
        await bounded(azure.synthesize(SENTENCE, "en-US", "no-such-voice"))
    assert azure_fake.upgrades == 0


@pytest.mark.parametrize(
    ("key", "region", "host", "available"),
    [
        ("k", "westeurope", None, True),
        ("k", "", "ws://127.0.0.1:1", True),
        ("", "westeurope", None, False),
        ("k", "", None, False),
    ],
)
def test_azure_availability_needs_key_and_region_or_host(
    key: str, region: str, host: str | None, available: bool
) -> None:
    assert AzureTtsGateway(key=key, region=region, host=host).is_available() is available


_Code = speechsdk.CancellationErrorCode


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (_Code.ConnectionFailure, TransientTtsError),
        (_Code.ServiceTimeout, TransientTtsError),
        (_Code.ServiceError, TransientTtsError),
        (_Code.ServiceUnavailable, TransientTtsError),
        (_Code.TooManyRequests, TransientTtsError),
        (_Code.RuntimeError, TransientTtsError),
        (_Code.AuthenticationFailure, PermanentTtsError),
        (_Code.BadRequest, PermanentTtsError),
        (_Code.Forbidden, PermanentTtsError),
    ],
)
def test_azure_cancellation_mapping(code: speechsdk.CancellationErrorCode, error: type) -> None:
    """The seam that needs no socket: (error code, SDK details) → domain error."""
    details = f"Failed for key {AZURE_KEY}. USP state: Sending. Received audio size: 0 bytes."
    result = cancellation_error(code, details, secret=AZURE_KEY)
    assert type(result) is error
    assert AZURE_KEY not in result.message
    assert "USP state" not in result.message
    assert result.message.startswith(code.name[0].lower())
    assert len(result.message) <= 200


def test_azure_cancellation_message_is_short() -> None:
    result = cancellation_error(_Code.ServiceError, "x" * 1_000 + "\nsecond line")
    assert result.message.startswith("service error: xxx")
    assert len(result.message) <= 200 and "second line" not in result.message
