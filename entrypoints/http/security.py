"""Optional API keys (API §1.9): a guard, so it runs before body parsing and validation."""

from __future__ import annotations

import hmac
import re
from collections.abc import Sequence
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

CHALLENGE = {"WWW-Authenticate": 'ApiKey header="X-API-Key"'}
# `<audio src>` cannot send headers, so the audio download also takes `?api_key=`.
_AUDIO_PATH = re.compile(r"^/v1/items/[^/]+/audio/?$")


class ApiKeyGuard:
    def __init__(self, keys: Sequence[str]) -> None:
        self._keys = [key.encode() for key in keys]

    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        # async: a sync guard would be sent to a thread pool on every request.
        path = connection.scope["path"]
        if not self._keys or not path.startswith("/v1/"):
            return
        presented = connection.headers.get("x-api-key")
        if (
            presented is None
            and connection.scope.get("method") in ("GET", "HEAD")
            and _AUDIO_PATH.match(path)
        ):
            presented = connection.query_params.get("api_key")
        if presented is None or not self._matches(presented):
            raise NotAuthorizedException(detail="Invalid or missing API key", headers=CHALLENGE)

    def _matches(self, presented: str) -> bool:
        candidate = presented.encode("utf-8", "surrogateescape")
        matched = False
        for key in self._keys:  # compare with every key: the time does not reveal which matched
            matched |= hmac.compare_digest(candidate, key)
        return matched
