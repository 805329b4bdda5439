"""ASGI middleware: request ids, the access log line, and the JSON charset (API §1.1, §1.7)."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("last_whisper.access")

_JSON = b"application/json"
_JSON_UTF8 = b"application/json; charset=utf-8"


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            if 1 <= len(value) <= 128 and all(0x21 <= byte <= 0x7E for byte in value):
                return value.decode("ascii")
            return None
    return None


class RequestContextMiddleware:
    """Echo or mint X-Request-ID on every response and log one line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers: list[Any] = [
                    (name, _JSON_UTF8 if name == b"content-type" and value == _JSON else value)
                    for name, value in message.get("headers", ())
                    if name != b"x-request-id"
                ]
                headers.append((b"x-request-id", request_id.encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            access_log.info(
                "request_id=%s method=%s path=%s status=%d duration_ms=%.2f",
                request_id,
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
            )
