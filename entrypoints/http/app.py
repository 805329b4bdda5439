"""The Litestar application factory. It takes a container; nothing happens at import time."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from dependency_injector import providers
from litestar import Litestar, Request
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin

from entrypoints.container import Container
from entrypoints.http.controllers.attempts import AttemptController
from entrypoints.http.controllers.audio import AudioController, tts_locales
from entrypoints.http.controllers.health import DOC_REDIRECTS, health
from entrypoints.http.controllers.items import ItemController
from entrypoints.http.controllers.stats import StatsController
from entrypoints.http.controllers.tags import TagController
from entrypoints.http.errors import EXCEPTION_HANDLERS
from entrypoints.http.metrics import RequestMetricsMiddleware, metrics
from entrypoints.http.middleware import RequestContextMiddleware
from entrypoints.http.security import ApiKeyGuard

EXPOSED_HEADERS = [
    "X-Request-ID",
    "ETag",
    "Last-Modified",
    "Content-Range",
    "Accept-Ranges",
    "Content-Length",
    "Content-Disposition",
    "Location",
]
_JSON_TYPES = ("application/json",)

log = logging.getLogger(__name__)


def provide(provider: providers.Provider[Any]) -> Provide:
    """The whole bridge from dependency-injector to Litestar: call the provider per request."""

    def dependency() -> Any:
        return provider()

    # The services are singletons: a plain call, no coroutine, no thread.
    return Provide(dependency, use_cache=False, sync_to_thread=False)


async def _require_json(request: Request[Any, Any, Any]) -> None:
    """415 for a body sent with a non-JSON Content-Type (API §1.1)."""
    content_type = request.headers.get("content-type")
    if content_type is None:
        return
    has_body = request.headers.get("content-length", "0") != "0" or (
        "transfer-encoding" in request.headers
    )
    media = content_type.split(";", 1)[0].strip().lower()
    if has_body and not (
        media in _JSON_TYPES or (media.startswith("application/") and media.endswith("+json"))
    ):
        raise HTTPException(status_code=415, detail="Unsupported media type: send application/json")


def _queue_depth(container: Container) -> Callable[[], Awaitable[int]]:
    async def queue_depth() -> int:
        return await container.queue().pending()

    return queue_depth


def _in_background(
    work: Callable[[], Awaitable[object]], name: str, what: str
) -> asyncio.Task[None]:
    """Start-up work that nothing waits for: a failure is only logged. The re-queue's items stay
    pending in the database, the sweep's files on disk, for the next start to take up."""

    async def logged() -> None:
        try:
            await work()
        except Exception:
            log.exception("%s failed", what)

    return asyncio.create_task(logged(), name=name)


@contextmanager
def _start_up_frozen() -> Iterator[None]:
    """Take what start-up built, which lives as long as the process, out of the cyclic garbage
    collector's reach: each full collection walked all of it, ~30 ms during which the event
    loop stood still (POST /v1/attempts at 32 connections, p99: 50–55 → 27–29 ms).

    Process-wide; undone at shutdown, so apps started and stopped in one process (tests) leave
    nothing frozen behind. No collection first: it costs ~40 ms and found no garbage to keep
    from being frozen.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def create_app(container: Container) -> Litestar:
    settings = container.settings()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        store = container.audio_store()
        await asyncio.to_thread(store.ensure_root)
        # Load the TTS engines off the event loop so no request pays for it.
        for gateway in container.gateways():
            await asyncio.to_thread(gateway.is_available)
        queue = container.queue()
        # In-process queue: starts this process's TTS workers. Distributed queue (QUEUE_URL):
        # connects only; its jobs run in `last-whisper worker` processes, never in the API.
        await queue.start()
        # In the background, so that a backlog does not hold start-up (100,000 pending items
        # through Redis: 13 s). Safe in every API process at once: enqueueing is deduplicated
        # by job id.
        requeue = _in_background(
            container.item_service().requeue_pending, "requeue-pending", "re-queueing pending items"
        )
        # Files crashes left behind, in the background: start-up waits for no directory walk.
        # Safe in every API process at once: each file goes only under its key's claim.
        sweep = _in_background(
            container.audio_service().sweep_orphans, "orphan-audio-sweep", "orphan audio sweep"
        )
        try:
            with _start_up_frozen():
                yield
        finally:
            # Before the engine goes. A claim the sweep held at that moment lapses on its own.
            for task in (requeue, sweep):
                task.cancel()
            await asyncio.wait([requeue, sweep])
            await queue.stop()
            await container.attempt_writer().close()
            container.item_lookup().close()
            container.attempt_store().close()
            await container.engine().dispose()

    origins = list(settings.cors_origins)
    cors = CORSConfig(
        allow_origins=origins,
        allow_methods=list(settings.cors_allow_methods),  # type: ignore[arg-type]
        allow_headers=list(settings.cors_allow_headers),
        allow_credentials=True,
        expose_headers=EXPOSED_HEADERS,
    )
    dependencies: dict[str, Provide] = {
        "settings": provide(container.settings),
        "item_service": provide(container.item_service),
        "audio_service": provide(container.audio_service),
        "tag_service": provide(container.tag_service),
        "attempt_service": provide(container.attempt_service),
        "stats_service": provide(container.stats_service),
        "health_service": provide(container.health_service),
        "queue_depth": Provide(_queue_depth(container), use_cache=False),
    }
    app = Litestar(
        route_handlers=[
            ItemController,
            AudioController,
            tts_locales,
            TagController,
            AttemptController,
            StatsController,
            health,
            metrics,
            *DOC_REDIRECTS,
        ],
        dependencies=dependencies,
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=_require_json,
        guards=[ApiKeyGuard(settings.api_keys)] if settings.api_keys else [],
        middleware=[RequestMetricsMiddleware],
        cors_config=cors,
        request_max_body_size=settings.max_body_bytes,
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title=settings.app_name,
            version=settings.app_version,
            description=settings.app_description,
            path="/schema",
            render_plugins=[SwaggerRenderPlugin(), RedocRenderPlugin()],
        ),
        debug=False,
        # Our CLI configures logging; Litestar's own set-up would route every line through a
        # queue handler at INFO regardless of LOG_LEVEL.
        logging_config=None,
    )
    # Outermost, around routing and CORS: unknown paths, 405s and preflights get a request id
    # and an access-log line too (route middleware would only see matched routes).
    app.asgi_handler = RequestContextMiddleware(app.asgi_handler)
    return app


def app_from_environment() -> Litestar:
    """ASGI factory for uvicorn: settings from the environment, the production container."""
    from entrypoints.settings import Settings

    container = Container(settings=Settings.load())
    return create_app(container)
