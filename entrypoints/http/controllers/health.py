"""`/health` and the documentation redirects."""

from __future__ import annotations

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Redirect

from application.health import HealthService
from entrypoints.http.errors import REQUEST_ID_HEADER, documented
from entrypoints.http.schemas.common import timestamp
from entrypoints.http.schemas.health import HealthChecks, HealthRead
from entrypoints.settings import Settings


def _word(ok: bool) -> str:
    return "healthy" if ok else "unhealthy"


@get(
    "/health",
    operation_id="getHealth",
    summary="Service health (200 healthy, 503 unhealthy)",
    tags=["health"],
    responses={
        503: ResponseSpec(HealthRead, description="Unhealthy: same body", generate_examples=False),
        **documented(v1=False),
    },
    response_headers=[REQUEST_ID_HEADER],
)
async def health(
    health_service: NamedDependency[HealthService], settings: NamedDependency[Settings]
) -> Response[HealthRead]:
    report = await health_service.check()
    body = HealthRead(
        status=_word(report.healthy),
        checks=HealthChecks(
            database=_word(report.database),
            audio_directory=_word(report.audio_directory),
            tts_service=_word(report.tts_service),
            task_manager=_word(report.task_manager),
            queue_backend=report.queue_backend,
            queue_pending=report.queue_pending,
            service=settings.app_name,
            version=settings.app_version,
            timestamp=timestamp(report.checked_at),
        ),
    )
    return Response(body, status_code=200 if report.healthy else 503)


def _redirect(source: str, target: str) -> object:
    @get(source, include_in_schema=False, name=f"redirect{source.replace('/', '-')}")
    async def handler() -> Redirect:
        return Redirect(target, status_code=302)

    return handler


DOC_REDIRECTS = [
    _redirect("/docs", "/schema/swagger"),
    _redirect("/redoc", "/schema/redoc"),
    _redirect("/openapi.json", "/schema/openapi.json"),
]
