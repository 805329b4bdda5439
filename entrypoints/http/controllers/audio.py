"""Audio: download (GET/HEAD with ranges and revalidation), refresh, and the locale catalogue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from litestar import Controller, Request, Response, get, head, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.response import Stream

from application.audio import AudioFile, AudioService
from entrypoints.http.controllers.items import ItemId
from entrypoints.http.errors import documented, error_response
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


def _answer(request: Request[Any, Any, Any], audio: AudioFile, with_body: bool) -> Response[Any]:
    blob = audio.blob
    etag = f'"{blob.sha256}"'
    validators = {
        "ETag": etag,
        "Last-Modified": http_date(blob.written_at),
        "Cache-Control": "no-cache",
    }
    headers = request.headers
    if not_modified(
        etag, blob.written_at, headers.get("if-none-match"), headers.get("if-modified-since")
    ):
        return Response(content=b"", status_code=304, headers=validators)
    size = blob.size_bytes
    span = ByteRange(0, size - 1)
    status = 200
    if range_applies(etag, blob.written_at, headers.get("if-range")):
        try:
            requested = parse_range(headers.get("range"), size)
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

    @get(
        "/",
        operation_id="getItemAudio",
        summary="Download the item's WAV audio (supports Range and revalidation)",
        responses=documented(400, 404, 416, 422),
        media_type="audio/wav",
    )
    async def download(
        self,
        request: Request[Any, Any, Any],
        item_id: ItemId,
        audio_service: NamedDependency[AudioService],
    ) -> Response[Any]:
        audio = await audio_service.file(path_id(item_id, "item_id"))
        return _answer(request, audio, with_body=True)

    @head(
        "/",
        operation_id="headItemAudio",
        summary="Headers of the item's audio download",
        responses=documented(400, 404, 416, 422),
        media_type="audio/wav",
    )
    async def head_audio(
        self,
        request: Request[Any, Any, Any],
        item_id: ItemId,
        audio_service: NamedDependency[AudioService],
    ) -> Response[None]:
        audio = await audio_service.file(path_id(item_id, "item_id"))
        return _answer(request, audio, with_body=False)

    @post(
        "/refresh",
        operation_id="refreshItemAudio",
        summary="Regenerate the item's audio, optionally with another voice",
        status_code=202,
        responses=documented(400, 404, 413, 415, 422),
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
