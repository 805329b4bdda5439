"""`GET /metrics` in Prometheus text format: requests by route and status, latency, TTS jobs."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.plugins.prometheus import PrometheusConfig, PrometheusMiddleware
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from adapters.metrics import QUEUE_DEPTH


class RouteTemplateMiddleware(PrometheusMiddleware):
    """Label requests with the route template read straight from the scope.

    The stock labels parse the request's whole URL (host, port, query) and then, with
    `group_path`, keep only the template: ~5 µs per request whose path is new, i.e. for every
    item id, spent on a value it throws away.
    """

    def _get_default_labels(self, request: Request[Any, Any, Any]) -> dict[str, str | int]:
        scope = request.scope
        return {
            "method": scope["method"] if scope["type"] == "http" else scope["type"],
            "path": scope["path_template"],
            "status_code": 200,
            "app_name": self._config.app_name,
        }


# Route templates, not raw paths, as labels: /v1/items/{item_id} is one series, not one per id.
PROMETHEUS = PrometheusConfig(
    app_name="last_whisper",
    prefix="last_whisper",
    group_path=True,
    exclude=["/metrics"],
    exclude_unhandled_paths=True,
    middleware_class=RouteTemplateMiddleware,
)


@get("/metrics", include_in_schema=False)
async def metrics(queue_depth: NamedDependency[int]) -> Response[bytes]:
    QUEUE_DEPTH.set(queue_depth)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
