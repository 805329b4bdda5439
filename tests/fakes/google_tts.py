"""A fake Google Cloud Text-to-Speech REST endpoint (`POST /v1/text:synthesize`).

Answers like the real service: a JSON body `{"audioContent": base64(WAV)}` where the WAV (LINEAR16
with its RIFF header) is a tone whose length follows the text, or a Google-style JSON error. Point
a client at it with `TextToSpeechClient(transport="rest", client_options=ClientOptions(
api_endpoint=fake.url), credentials=...)`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes import duration_for, tone_wav

# The gRPC status names Google puts in `error.status` for the HTTP codes tests script.
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}

SUCCEED = "succeed"  # scripted action: answer normally (to fail a later request only)
BAD_WAV = "bad-wav"  # scripted action: 200 with audio that is not a WAV
SLOW = "slow"  # scripted action: answer only after SLOW_SECONDS (or when the fake stops)
SLOW_SECONDS = 5.0


@dataclass(frozen=True)
class SynthesizeRequest:
    """One request as received: the JSON body and the headers that matter to tests."""

    body: dict[str, Any]
    authorization: str | None

    @property
    def text(self) -> str:
        return str(self.body["input"]["text"])

    @property
    def voice(self) -> dict[str, Any]:
        return dict(self.body["voice"])

    @property
    def audio_config(self) -> dict[str, Any]:
        return dict(self.body["audioConfig"])


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[SynthesizeRequest] = field(default_factory=list)
    script: deque[int | str] = field(default_factory=deque)
    connections: set[socket.socket] = field(default_factory=set)
    stopping: threading.Event = field(default_factory=threading.Event)


class FakeGoogleTts:
    """The HTTP server in a daemon thread; use as a context manager or call start()/stop()."""

    def __init__(self, lifetime_seconds: float = 60.0) -> None:
        self._state = _State()
        self._lifetime = lifetime_seconds
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    # --- scripting and inspection -------------------------------------------------------------

    def fail_next(self, action: int | str, times: int = 1) -> None:
        """Answer the next `times` requests with HTTP status `action`, BAD_WAV or SLOW
        (or SUCCEED, which answers normally)."""
        with self._state.lock:
            self._state.script.extend([action] * times)

    @property
    def requests(self) -> list[SynthesizeRequest]:
        with self._state.lock:
            return list(self._state.requests)

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> FakeGoogleTts:
        state = self._state
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        # Bounded: a forgotten server stops itself instead of outliving the test session.
        self._timer = threading.Timer(self._lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.cancel()
        self._state.stopping.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        # Keep-alive connections outlive the listening socket: cut them so that a stopped fake
        # really is unreachable.
        with self._state.lock:
            connections, self._state.connections = self._state.connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeGoogleTts:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler_for(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the client's session expects
        timeout = 10  # a stuck client cannot hold a handler thread forever

        def setup(self) -> None:
            super().setup()
            with state.lock:
                state.connections.add(self.connection)

        def finish(self) -> None:
            with state.lock:
                state.connections.discard(self.connection)
            super().finish()

        def do_POST(self) -> None:
            if self.path.split("?", 1)[0] != "/v1/text:synthesize":
                self._error(404, f"no route {self.path}")
                return
            length = int(self.headers.get("Content-Length", "0"))
            try:
                body = json.loads(self.rfile.read(length))
                text, rate = body["input"]["text"], int(body["audioConfig"]["sampleRateHertz"])
            except (ValueError, KeyError, TypeError):
                self._error(400, "malformed request")
                return
            with state.lock:
                state.requests.append(SynthesizeRequest(body, self.headers.get("Authorization")))
                action = state.script.popleft() if state.script else None
            if isinstance(action, int):
                self._error(action, f"scripted failure {action}")
            elif action == SLOW and state.stopping.wait(SLOW_SECONDS):
                return  # stopped meanwhile: no answer at all
            elif action == BAD_WAV:
                self._json(200, {"audioContent": base64.b64encode(b"not a wav").decode()})
            else:
                wav = tone_wav(duration_for(text), rate)
                self._json(200, {"audioContent": base64.b64encode(wav).decode()})

        def _error(self, code: int, message: str) -> None:
            status = _STATUS_NAMES.get(code, "UNKNOWN")
            self._json(code, {"error": {"code": code, "message": message, "status": status}})

        def _json(self, code: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            # A client that gave up (timeout) has closed its end: not worth a traceback.
            with contextlib.suppress(ConnectionError):
                self.send_response(code, HTTPStatus(code).phrase)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return Handler
