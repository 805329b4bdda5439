"""Audio: download (GET/HEAD with ranges and revalidation), refresh, and the locale catalogue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from litestar import Controller, Response, get, head, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import HeaderParameter, JSONBody
from litestar.response import Stream

from application.audio import AudioFile, AudioService
from entrypoints.http.controllers.items import ItemId
from entrypoints.http.errors import REQUEST_ID_HEADER, documented, error_response, header_doc
from entrypoints.http.params import path_id
from entrypoints.http.ranges import (
    ByteRange,
    Unsatisfiable,
    http_date,
    not_modified,
    parse_range,
    range_applies,
)
from entrypoints.http.schemas.audio import AudioRefresh, LocaleRead, TtsLocalesRead, VoiceRead
from entrypoints.http.schemas.items import TtsStatusRead

CHUNK_BYTES = 64 * 1024

# The request headers of API §3.10. Documented so clients (and schema-driven tools) know them;
# they are plain strings on purpose: a value that does not parse is ignored, never a 422.
RangeHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Range",
        description="One `bytes=` range: `a-b`, `a-` or suffix `-n`; anything else is ignored",
        examples=[
            Example(value="bytes=0-1023"),
            Example(value="bytes=-100"),
            Example(value="bytes=999999999-"),
        ],
    ),
]
IfRangeHeader = Annotated[
    str | None,
    HeaderParameter(
        name="If-Range",
        description="Apply `Range` only if this strong ETag or HTTP-date still matches",
        examples=[Example(value="Thu, 01 Jan 2099 00:00:00 GMT")],
    ),
]
IfNoneMatchHeader = Annotated[
    str | None,
    HeaderParameter(
        name="If-None-Match",
        description="304 when one of these ETags (weak comparison) or `*` matches",
        examples=[Example(value="*")],
    ),
]
IfModifiedSinceHeader = Annotated[
    str | None,
    HeaderParameter(
        name="If-Modified-Since",
        description="304 when the audio is not newer (used only without If-None-Match)",
        examples=[Example(value="Thu, 01 Jan 2099 00:00:00 GMT")],
    ),
]


# The headers of a full (200) answer, API §3.10.
AUDIO_HEADERS = [
    header_doc("Content-Length", "25644", "Bytes in this response"),
    header_doc("ETag", '"df934222b96dac12450943ecbb7a5ee3"', "Strong: sha256 of the file bytes"),
    header_doc("Last-Modified", "Tue, 24 Nov 2026 13:12:11 GMT", "When the file was written"),
    header_doc("Cache-Control", "no-cache", "Always revalidate"),
    header_doc("Accept-Ranges", "bytes", "Single byte ranges are supported"),
    header_doc("Content-Disposition", 'inline; filename="item_42.wav"', "Suggested name"),
]


@dataclass(frozen=True, slots=True)
class Conditions:
    range: str | None
    if_range: str | None
    if_none_match: str | None
    if_modified_since: str | None


def _audio_responses(*errors: int) -> dict[int, ResponseSpec]:
    """The error answers plus the conditional ones, which Litestar cannot infer."""
    return {
        206: ResponseSpec(
            data_container=bytes,
            media_type="audio/wav",
            description="Partial content: the requested byte range (`Content-Range` header)",
            generate_examples=False,
        ),
        304: ResponseSpec(
            data_container=None,
            description="Not modified: no body; `ETag`, `Last-Modified` and `Cache-Control`",
            generate_examples=False,
        ),
        **documented(*errors),
    }


async def _chunks(path: Path, span: ByteRange) -> AsyncIterator[bytes]:
    """Stream a byte span from disk without holding the file in memory or blocking the loop."""
    handle = await asyncio.to_thread(path.open, "rb")
    try:
        await asyncio.to_thread(handle.seek, span.first)
        remaining = span.length
        while remaining > 0:
            chunk = await asyncio.to_thread(handle.read, min(CHUNK_BYTES, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        await asyncio.to_thread(handle.close)


def _answer(audio: AudioFile, conditions: Conditions, with_body: bool) -> Response[Any]:
    blob = audio.blob
    etag = f'"{blob.sha256}"'
    validators = {
        "ETag": etag,
        "Last-Modified": http_date(blob.written_at),
        "Cache-Control": "no-cache",
    }
    if not_modified(etag, blob.written_at, conditions.if_none_match, conditions.if_modified_since):
        return Response(content=b"", status_code=304, headers=validators)
    size = blob.size_bytes
    span = ByteRange(0, size - 1)
    status = 200
    if range_applies(etag, blob.written_at, conditions.if_range):
        try:
            requested = parse_range(conditions.range, size)
        except Unsatisfiable:
            return error_response(
                416, "Requested range not satisfiable", headers={"Content-Range": f"bytes */{size}"}
            )
        if requested is not None:
            span, status = requested, 206
    response_headers = validators | {
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'inline; filename="item_{audio.item.id}.wav"',
        "Content-Length": str(span.length),
    }
    if status == 206:
        response_headers["Content-Range"] = f"bytes {span.first}-{span.last}/{size}"
    if not with_body:
        return Response(
            content=b"", status_code=status, headers=response_headers, media_type="audio/wav"
        )
    return Stream(
        _chunks(audio.path, span),
        status_code=status,
        headers=response_headers,
        media_type="audio/wav",
    )


class AudioController(Controller):
    path = "/v1/items/{item_id:str}/audio"
    tags = ["audio"]
    response_headers = [REQUEST_ID_HEADER]

    @get(
        "/",
        operation_id="getItemAudio",
        summary="Download the item's WAV audio (supports Range and revalidation)",
        responses=_audio_responses(400, 404, 416, 422),
        response_headers=AUDIO_HEADERS,
        media_type="audio/wav",
    )
    async def download(
        self,
        item_id: ItemId,
        audio_service: NamedDependency[AudioService],
        range_: RangeHeader = None,
        if_range: IfRangeHeader = None,
        if_none_match: IfNoneMatchHeader = None,
        if_modified_since: IfModifiedSinceHeader = None,
    ) -> Response[Any]:
        audio = await audio_service.file(path_id(item_id, "item_id"))
        conditions = Conditions(range_, if_range, if_none_match, if_modified_since)
        return _answer(audio, conditions, with_body=True)

    @head(
        "/",
        operation_id="headItemAudio",
        summary="Headers of the item's audio download",
        responses=_audio_responses(400, 404, 416, 422),
        response_headers=AUDIO_HEADERS,
        media_type="audio/wav",
    )
    async def head_audio(
        self,
        item_id: ItemId,
        audio_service: NamedDependency[AudioService],
        range_: RangeHeader = None,
        if_range: IfRangeHeader = None,
        if_none_match: IfNoneMatchHeader = None,
        if_modified_since: IfModifiedSinceHeader = None,
    ) -> Response[None]:
        audio = await audio_service.file(path_id(item_id, "item_id"))
        conditions = Conditions(range_, if_range, if_none_match, if_modified_since)
        return _answer(audio, conditions, with_body=False)

    @post(
        "/refresh",
        operation_id="refreshItemAudio",
        summary="Regenerate the item's audio, optionally with another voice",
        status_code=202,
        responses=documented(400, 404, 413, 422),
    )
    async def refresh(
        self,
        item_id: ItemId,
        audio_service: NamedDependency[AudioService],
        data: JSONBody[AudioRefresh | None] = None,
    ) -> TtsStatusRead:
        voice = data.voice if data is not None else None
        return TtsStatusRead.of(await audio_service.refresh(path_id(item_id, "item_id"), voice))


@get(
    "/v1/tts/locales",
    operation_id="listTtsLocales",
    summary="Locales and voices the TTS provider offers",
    tags=["audio"],
    responses=documented(),
    response_headers=[REQUEST_ID_HEADER],
)
async def tts_locales(audio_service: NamedDependency[AudioService]) -> TtsLocalesRead:
    catalogue = await audio_service.locales()
    return TtsLocalesRead(
        provider=catalogue.provider,
        available=catalogue.available,
        locales=[
            LocaleRead(
                locale=entry.locale,
                default_voice=entry.default_voice,
                voices=[VoiceRead(id=v.id, name=v.name) for v in entry.voices],
            )
            for entry in catalogue.locales
        ],
    )
