"""`GET /metrics` in Prometheus text format: requests by route and status, latency, TTS jobs."""

from __future__ import annotations

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from adapters.metrics import QUEUE_DEPTH

# Route templates, not raw paths, as labels: /v1/items/{item_id} is one series, not one per id.
PROMETHEUS = PrometheusConfig(
    app_name="last_whisper",
    prefix="last_whisper",
    group_path=True,
    exclude=["/metrics"],
    exclude_unhandled_paths=True,
)


@get("/metrics", include_in_schema=False)
async def metrics(queue_depth: NamedDependency[int]) -> Response[bytes]:
    QUEUE_DEPTH.set(queue_depth)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
