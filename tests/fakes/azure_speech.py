"""A fake Azure Speech synthesis endpoint speaking the SDK's websocket protocol ("USP").

The Speech SDK always connects with a websocket to `/cognitiveservices/websocket/v1` (subprotocol
`USP`), even for `SpeechConfig(host="ws://127.0.0.1:PORT", subscription=...)`. Client → server
text frames are `Header:value` lines, a blank line and a body; `Path:` says what they are
(`speech.config`, `synthesis.context`, `ssml`, `telemetry`). For one `ssml` message the fake
answers `turn.start`, `response`, binary `audio` frames (2-byte big-endian header length, the
header, raw PCM16 mono at 24 kHz) and `turn.end`, all tagged with the request's `X-RequestId`.
This protocol is undocumented (observed with SDK 1.53, FIELD-NOTES.md): keep the fake small.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
import threading
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from tests.fakes import duration_for, tone_pcm

PATH = "/cognitiveservices/websocket/v1"
SAMPLE_RATE = 24_000
AUDIO_FRAME_BYTES = 9_600  # 200 ms per binary frame, like a streaming service

# Scripted actions besides an int (HTTP status refusing the websocket upgrade):
CLOSE_1011 = "close-1011"  # close with 1011 (internal error) after the first audio frame
HANG = "hang"  # start the turn, then send nothing (bounded by the connection's lifetime)
NO_AUDIO = "no-audio"  # end the turn without any audio frame

_SYNTHESIS_NS = "{http://www.w3.org/2001/10/synthesis}"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_CONNECTION_LIFETIME_SECONDS = 30.0


@dataclass(frozen=True)
class SsmlRequest:
    """One `ssml` message and what the same connection said before it."""

    request_id: str
    ssml: str
    subscription_key: str | None  # `Ocp-Apim-Subscription-Key` of the websocket upgrade
    output_format: str | None  # from the `synthesis.context` message

    def _voice_element(self) -> ET.Element:
        element = ET.fromstring(self.ssml).find(f"{_SYNTHESIS_NS}voice")
        assert element is not None, self.ssml
        return element

    @property
    def language(self) -> str | None:
        return ET.fromstring(self.ssml).get(_XML_LANG)

    @property
    def voice(self) -> str | None:
        return self._voice_element().get("name")

    @property
    def text(self) -> str:
        return "".join(self._voice_element().itertext())


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[SsmlRequest] = field(default_factory=list)
    script: deque[int | str] = field(default_factory=deque)
    upgrades: int = 0  # websocket handshakes seen (the SDK retries some failures itself)

    def take(self, at_upgrade: bool) -> int | str | None:
        """The next scripted action for this stage: HTTP statuses act at the upgrade, the
        rest on an `ssml` message."""
        with self.lock:
            if self.script and isinstance(self.script[0], int) == at_upgrade:
                return self.script.popleft()
            return None


class FakeAzureSpeech:
    """The websocket server on its own event loop in a daemon thread."""

    def __init__(self, lifetime_seconds: float = 60.0) -> None:
        self._state = _State()
        self._lifetime = lifetime_seconds
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    # --- scripting and inspection -------------------------------------------------------------

    def fail_next(self, action: int | str, times: int = 1) -> None:
        """Apply `action` (an HTTP status, CLOSE_1011, HANG or NO_AUDIO) `times` times.

        The SDK itself retries an upgrade refused with 429 or 5xx once: script those twice.
        """
        with self._state.lock:
            self._state.script.extend([action] * times)

    @property
    def requests(self) -> list[SsmlRequest]:
        with self._state.lock:
            return list(self._state.requests)

    @property
    def upgrades(self) -> int:
        with self._state.lock:
            return self._state.upgrades

    @property
    def host(self) -> str:
        assert self._port is not None, "not started"
        return f"ws://127.0.0.1:{self._port}"

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> FakeAzureSpeech:
        ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(ready),), daemon=True)
        self._thread.start()
        if not ready.wait(timeout=10):
            raise RuntimeError("fake Azure Speech server did not start")
        return self

    def stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended by itself
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> FakeAzureSpeech:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(
            self._handle,
            "127.0.0.1",
            0,
            subprotocols=[Subprotocol("USP")],
            process_request=self._process_request,
            compression=None,
        ) as server:
            self._port = server.sockets[0].getsockname()[1]
            ready.set()
            # Bounded: a forgotten server stops itself; leaving `serve` closes every connection.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._lifetime)

    # --- protocol -----------------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        with self._state.lock:
            self._state.upgrades += 1
        if request.path.split("?", 1)[0] != PATH:
            return connection.respond(HTTPStatus.NOT_FOUND, "unknown path\n")
        action = self._state.take(at_upgrade=True)
        if isinstance(action, int):
            status = HTTPStatus(action)
            return Response(status.value, status.phrase, Headers(), f"{status.phrase}\n".encode())
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        key = (
            connection.request.headers.get("Ocp-Apim-Subscription-Key")
            if connection.request
            else None
        )
        output_format: str | None = None
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            async with asyncio.timeout(_CONNECTION_LIFETIME_SECONDS):
                async for message in connection:
                    if isinstance(message, bytes):
                        continue  # the synthesis protocol sends no binary client frames
                    headers, body = _parse(message)
                    path = headers.get("path")
                    if path == "synthesis.context":
                        audio = json.loads(body).get("synthesis", {}).get("audio", {})
                        output_format = audio.get("outputFormat")
                    elif path == "ssml":
                        request = SsmlRequest(headers["x-requestid"], body, key, output_format)
                        with self._state.lock:
                            self._state.requests.append(request)
                        await self._turn(connection, request)

    async def _turn(self, connection: ServerConnection, request: SsmlRequest) -> None:
        request_id = request.request_id
        context = json.dumps({"context": {"serviceTag": "fake"}})
        await connection.send(_text_frame("turn.start", request_id, context))
        action = self._state.take(at_upgrade=False)
        if action == HANG:
            await connection.wait_closed()  # client gave up, server stopped or lifetime over
            return
        audio_info = {"context": {"serviceTag": "fake"}, "audio": {"type": "inline"}}
        await connection.send(_text_frame("response", request_id, json.dumps(audio_info)))
        pcm = b"" if action == NO_AUDIO else tone_pcm(duration_for(request.text), SAMPLE_RATE)
        for offset in range(0, len(pcm), AUDIO_FRAME_BYTES):
            await connection.send(
                _audio_frame(request_id, pcm[offset : offset + AUDIO_FRAME_BYTES])
            )
            if action == CLOSE_1011:
                await connection.close(1011, "internal error")
                return
        await connection.send(_text_frame("turn.end", request_id, "{}"))


def _parse(message: str) -> tuple[dict[str, str], str]:
    """Header names lower-cased; the body as sent."""
    head, _, body = message.partition("\r\n\r\n")
    headers = {}
    for line in head.split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers, body


def _text_frame(path: str, request_id: str, body: str) -> str:
    return (
        f"X-RequestId:{request_id}\r\nContent-Type:application/json; charset=utf-8\r\n"
        f"Path:{path}\r\n\r\n{body}"
    )


def _audio_frame(request_id: str, pcm: bytes) -> bytes:
    header = f"X-RequestId:{request_id}\r\nContent-Type:audio/x-wav\r\nPath:audio\r\n".encode()
    return struct.pack(">H", len(header)) + header + pcm
