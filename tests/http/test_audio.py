"""Audio over HTTP (API §3.10–3.12, §9): download, ranges, revalidation, refresh, sharing."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import pytest
from dependency_injector import providers
from litestar.testing import TestClient

from adapters.tts.fake import FakeTtsGateway
from adapters.tts.wav import inspect_wav
from entrypoints.container import Container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.http.conftest import create_item, problems, wait_until_settled
from tests.support.gateways import CountingGateway

Client = TestClient[Any]
SPEC_ETAG = '"df934222b96dac12450943ecbb7a5ee3ce52a2dd21d8b6027311504e5712d015"'
SPEC_KEY = "31501aaf9dd2de0289f222dccc45e51e712df520c8f9ebb876c44163f9e49546"


@pytest.fixture
def gateway() -> CountingGateway:
    return CountingGateway(FakeTtsGateway())


@pytest.fixture
def client(settings: Settings, gateway: CountingGateway) -> Iterator[Client]:
    container = Container(settings=settings)
    container.gateways.override(providers.Object([gateway]))
    with TestClient(create_app(container), raise_server_exceptions=False) as test_client:
        yield test_client


def ready_item(client: Client, **fields: Any) -> dict[str, Any]:
    item = create_item(client, **fields)
    assert wait_until_settled(client, item["id"])["tts_status"] == "ready"
    return item


def test_download_matches_the_fake_spec_example(client: Client, settings: Settings) -> None:
    item = ready_item(client)
    response = client.get(f"/v1/items/{item['id']}/audio")
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["content-length"] == "25644" == str(len(response.content))
    assert response.headers["etag"] == SPEC_ETAG
    assert f'"{hashlib.sha256(response.content).hexdigest()}"' == SPEC_ETAG
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-disposition"] == f'inline; filename="item_{item["id"]}.wav"'
    assert parsedate_to_datetime(response.headers["last-modified"]).tzinfo is not None
    info = inspect_wav(response.content)
    assert (info.sample_rate, info.duration_ms) == (16_000, 800)
    assert (settings.audio_dir / SPEC_KEY[:2] / f"{SPEC_KEY}.wav").is_file()
    status = client.get(f"/v1/items/{item['id']}/tts-status").json()
    assert status["duration_seconds"] == 0.8 and status["voice"] == "fake-a"


def test_head_has_the_headers_of_get_without_body(client: Client) -> None:
    item = ready_item(client)
    full = client.get(f"/v1/items/{item['id']}/audio")
    head = client.head(f"/v1/items/{item['id']}/audio")
    assert head.status_code == 200 and head.content == b""
    for header in ("content-length", "etag", "last-modified", "content-type", "accept-ranges"):
        assert head.headers[header] == full.headers[header], header
    ranged = client.head(f"/v1/items/{item['id']}/audio", headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and ranged.headers["content-length"] == "10"


@pytest.mark.parametrize(
    ("range_header", "first", "last"),
    [
        ("bytes=0-1023", 0, 1023),
        ("bytes=25000-", 25000, 25643),
        ("bytes=-100", 25544, 25643),
        ("bytes=25600-99999", 25600, 25643),
        ("bytes=-99999", 0, 25643),
    ],
)
def test_single_ranges_are_206(client: Client, range_header: str, first: int, last: int) -> None:
    item = ready_item(client)
    full = client.get(f"/v1/items/{item['id']}/audio").content
    response = client.get(f"/v1/items/{item['id']}/audio", headers={"Range": range_header})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {first}-{last}/25644"
    assert response.headers["content-length"] == str(last - first + 1)
    assert response.content == full[first : last + 1]


@pytest.mark.parametrize("range_header", ["bytes=25644-", "bytes=99999-100000", "bytes=-0"])
def test_unsatisfiable_range_is_416(client: Client, range_header: str) -> None:
    item = ready_item(client)
    response = client.get(f"/v1/items/{item['id']}/audio", headers={"Range": range_header})
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */25644"
    assert response.json() == {"status_code": 416, "detail": "Requested range not satisfiable"}


@pytest.mark.parametrize("range_header", ["bytes=0-1,5-9", "items=0-5", "bytes=abc", "bytes=9-2"])
def test_invalid_ranges_are_ignored(client: Client, range_header: str) -> None:
    item = ready_item(client)
    response = client.get(f"/v1/items/{item['id']}/audio", headers={"Range": range_header})
    assert response.status_code == 200 and len(response.content) == 25644


def test_revalidation_with_etag_and_dates(client: Client) -> None:
    item = ready_item(client)
    url = f"/v1/items/{item['id']}/audio"
    first = client.get(url)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    for tag in (etag, f"W/{etag}", "*", f'"other", {etag}'):
        response = client.get(url, headers={"If-None-Match": tag})
        assert response.status_code == 304 and response.content == b"", tag
        assert response.headers["etag"] == etag and response.headers["cache-control"] == "no-cache"
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    earlier = format_datetime(parsedate_to_datetime(modified).replace(year=2000), usegmt=True)
    assert client.get(url, headers={"If-Modified-Since": earlier}).status_code == 200
    # If-None-Match wins over If-Modified-Since.
    both = {"If-None-Match": '"other"', "If-Modified-Since": modified}
    assert client.get(url, headers=both).status_code == 200


def test_if_range_controls_partial_answers(client: Client) -> None:
    item = ready_item(client)
    url = f"/v1/items/{item['id']}/audio"
    etag = client.get(url).headers["etag"]
    assert client.get(url, headers={"Range": "bytes=0-9", "If-Range": etag}).status_code == 206
    stale = client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert stale.status_code == 200 and len(stale.content) == 25644


def test_audio_of_pending_failed_and_unknown_items(client: Client) -> None:
    failed = create_item(client, text="no #fail-permanent")
    wait_until_settled(client, failed["id"])
    assert client.get(f"/v1/items/{failed['id']}/audio").json() == {
        "status_code": 400,
        "detail": "Audio not ready. Current status: failed",
    }
    assert client.get("/v1/items/987654/audio").json()["detail"] == "Item not found"
    assert client.head("/v1/items/987654/audio").status_code == 404
    assert [(k, s) for k, _, s in problems(client.get("/v1/items/x/audio"))] == [
        ("item_id", "path")
    ]


def test_missing_file_is_404_and_logged(client: Client, settings: Settings, caplog: Any) -> None:
    item = ready_item(client)
    (settings.audio_dir / SPEC_KEY[:2] / f"{SPEC_KEY}.wav").unlink()
    response = client.get(f"/v1/items/{item['id']}/audio")
    assert response.json() == {"status_code": 404, "detail": "Audio file not found"}
    assert any(r.levelname == "ERROR" and "missing" in r.getMessage() for r in caplog.records)


def test_items_with_the_same_audio_key_share_one_synthesis_and_file(
    client: Client, gateway: CountingGateway, settings: Settings
) -> None:
    first = ready_item(client)
    second = ready_item(client, text="  Hyvää   huomenta! ")  # same TTS text after normalising
    assert gateway.successes == 1
    a = client.get(f"/v1/items/{first['id']}/audio")
    b = client.get(f"/v1/items/{second['id']}/audio")
    assert a.content == b.content and a.headers["etag"] == b.headers["etag"]
    stored = settings.audio_dir / SPEC_KEY[:2] / f"{SPEC_KEY}.wav"

    assert client.delete(f"/v1/items/{first['id']}").status_code == 204
    assert stored.is_file()
    assert client.get(f"/v1/items/{second['id']}/audio").content == b.content
    assert client.delete(f"/v1/items/{second['id']}").status_code == 204
    assert not stored.exists()


def test_refresh_with_another_voice(client: Client, gateway: CountingGateway) -> None:
    item = ready_item(client)
    response = client.post(f"/v1/items/{item['id']}/audio/refresh", json={"voice": "fake-b"})
    assert response.status_code == 202
    body = response.json()
    assert body["tts_status"] == "pending" and body["voice"] == "fake-b"
    assert body["audio_url"] is None and body["duration_seconds"] is None
    settled = wait_until_settled(client, item["id"])
    assert settled["tts_status"] == "ready" and settled["voice"] == "fake-b"
    assert client.get(f"/v1/items/{item['id']}/audio").headers["etag"] != SPEC_ETAG
    assert gateway.successes == 2


def test_refresh_without_body_forces_a_new_synthesis(
    client: Client, gateway: CountingGateway
) -> None:
    item = ready_item(client)
    for body in (None, {}):
        kwargs = {"json": body} if body is not None else {}
        response = client.post(f"/v1/items/{item['id']}/audio/refresh", **kwargs)
        assert response.status_code == 202 and response.json()["voice"] == "fake-a"
        wait_until_settled(client, item["id"])
    assert gateway.successes == 3
    assert client.get(f"/v1/items/{item['id']}/audio").headers["etag"] == SPEC_ETAG


def test_refresh_retries_a_failed_item(client: Client) -> None:
    item = create_item(client, text="first #fail-permanent")
    assert wait_until_settled(client, item["id"])["tts_status"] == "failed"
    assert client.post(f"/v1/items/{item['id']}/audio/refresh").json()["tts_error"] is None


def test_refresh_rejects_unknown_voice_and_item(client: Client) -> None:
    item = create_item(client)
    response = client.post(f"/v1/items/{item['id']}/audio/refresh", json={"voice": "nope"})
    assert problems(response) == [
        (
            "voice",
            "Voice 'nope' is not available for locale 'fi' (TTS provider 'fake'). "
            "Available: fake-a, fake-b",
            "body",
        )
    ]
    assert client.post("/v1/items/99999/audio/refresh").json()["detail"] == "Item not found"


def test_transient_failures_are_retried_until_success(settings: Settings) -> None:
    gateway = CountingGateway(FakeTtsGateway(), transient_failures=1)
    container = Container(settings=settings)
    container.gateways.override(providers.Object([gateway]))
    with TestClient(create_app(container)) as test_client:
        item = create_item(test_client)
        assert wait_until_settled(test_client, item["id"])["tts_status"] == "ready"
    assert len(gateway.calls) == 2 and gateway.successes == 1


def test_exhausted_retries_mark_the_item_failed(client: Client) -> None:
    item = create_item(client, text="always #fail-transient")
    status = wait_until_settled(client, item["id"])
    assert status["tts_status"] == "failed"
    # settings: TTS_MAX_RETRIES=1 → two tries
    assert status["tts_error"] == "Gave up after 2 attempts: fake: transient failure requested"


def test_tts_locales_lists_the_restricted_catalogue(settings: Settings) -> None:
    restricted = dataclasses.replace(settings, tts_supported_languages=("fi",))
    with TestClient(create_app(Container(settings=restricted))) as test_client:
        body = test_client.get("/v1/tts/locales").json()
        rejected = test_client.post("/v1/items", json={"locale": "en", "text": "hi"})
    voices = [
        {"id": "fake-a", "name": "Fake A (440 Hz)"},
        {"id": "fake-b", "name": "Fake B (660 Hz)"},
    ]
    assert body == {
        "provider": "fake",
        "available": True,
        "locales": [
            {"locale": "fi", "default_voice": "fake-a", "voices": voices},
            {"locale": "fi-FI", "default_voice": "fake-a", "voices": voices},
        ],
    }
    assert problems(rejected)[0][1].endswith("Supported locales: fi, fi-FI")
