"""The production app plus a hello-world route: the ceiling of the benchmark, in the same process.

`create` builds the real application exactly as `entrypoints.http.app.app_from_environment` does
(settings from the environment, the production container), then registers `GET /bench/hello`,
which returns a small JSON document without touching the database or any service. It therefore
passes through the same middleware stack (request id and access log, CORS, metrics, exception
handling) as every API endpoint: the difference between the two is what the API itself costs.

    uvicorn bench.bench_app:create --factory --host 127.0.0.1 --port 8000 \
        --no-access-log --log-level warning
"""

from __future__ import annotations

import sys
from pathlib import Path

from litestar import Litestar, get

try:
    from entrypoints.container import Container
except ModuleNotFoundError:  # imported by path: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from entrypoints.container import Container

from entrypoints.http.app import create_app
from entrypoints.settings import Settings

HELLO_PATH = "/bench/hello"


@get(HELLO_PATH, include_in_schema=False)
async def hello() -> dict[str, str]:
    return {"message": "hello, world"}


def create() -> Litestar:
    """ASGI factory for uvicorn (`--factory`)."""
    app = create_app(Container(settings=Settings.load()))
    app.register(hello)
    return app
