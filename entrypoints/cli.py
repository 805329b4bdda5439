"""`last-whisper`: serve the API, apply migrations, or run a TTS worker."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from entrypoints.settings import Settings, SettingsError

SOURCE_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("domain", "application", "adapters", "entrypoints")


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )


def _migrate(settings: Settings) -> None:
    from adapters.persistence.migrate import upgrade

    upgrade(settings.database_url)
    if settings.queue_backend == "postgresql":
        # SAQ creates its own tables when a queue first connects; doing it here too means
        # processes started after `migrate` never race each other to create them.
        from adapters.queue.saq import SaqJobQueue

        async def create_queue_tables() -> None:
            queue = SaqJobQueue(url=settings.queue_url)
            await queue.start()
            await queue.stop()

        asyncio.run(create_queue_tables())


def _work(settings: Settings) -> int:
    from entrypoints.worker import WorkerConfigurationError, main

    try:
        main(settings)
    except WorkerConfigurationError as exc:
        print(f"last-whisper: {exc}", file=sys.stderr)
        return 2
    return 0


# Idle keep-alive connections stay open this long. Uvicorn's default, 5 s, is shorter than what
# clients and proxies keep (httpx 5 s, nginx and cloud load balancers 60 s): a request sent just
# as the server closes the connection is reset unread, and for a POST the client cannot tell
# whether it was stored (seen twice in the Postgres load test on a busy machine: one POST of
# 10,000 failed with a connection reset). The side that closes must wait longer than the others.
KEEP_ALIVE_SECONDS = 75


def _serve(settings: Settings) -> None:
    import uvicorn

    _migrate(settings)
    uvicorn.run(
        "entrypoints.http.app:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        reload=settings.reload,
        reload_dirs=["domain", "application", "adapters", "entrypoints"]
        if settings.reload
        else None,
        log_level=settings.log_level,
        access_log=False,  # our middleware writes one line per request, with the request id
        proxy_headers=True,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="last-whisper", description=__doc__)
    parser.add_argument(
        "command",
        choices=["serve", "migrate", "worker"],
        help="serve: migrate, then the HTTP API; migrate: apply migrations; "
        "worker: run TTS jobs from QUEUE_URL",
    )
    args = parser.parse_args(argv)
    try:
        settings = Settings.load()
    except SettingsError as exc:
        print(f"last-whisper: invalid configuration: {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings.log_level)
    if args.command == "migrate":
        _migrate(settings)
    elif args.command == "worker":
        return _work(settings)
    else:
        _serve(settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
