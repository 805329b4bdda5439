# syntax=docker/dockerfile:1
# One image for every role: `last-whisper serve` (the API, the default command), `last-whisper
# worker` (TTS jobs from QUEUE_URL) and `last-whisper migrate`. See docs/deploy.md.
ARG PYTHON_VERSION=3.11

# ---- build: resolve and install into a virtualenv, which is all the runtime stage takes -----
FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Metadata first: the dependency layer is rebuilt only when pyproject.toml changes.
COPY pyproject.toml README.md ./
RUN mkdir domain application adapters entrypoints \
    && pip install '.[azure,google,saq]' \
    && pip uninstall --yes last-whisper
COPY domain domain
COPY application application
COPY adapters adapters
COPY entrypoints entrypoints
RUN pip install --no-deps '.[azure,google,saq]' && python -m compileall -q /opt/venv

# ---- runtime: slim, no compilers, no pip cache, unprivileged -------------------------------
FROM python:${PYTHON_VERSION}-slim AS runtime
# libpq5: SAQ's Postgres queue backend speaks libpq (psycopg); the API's own driver (asyncpg)
# needs nothing. espeak-ng ships inside its wheel (needs only libc and libstdc++, both here).
RUN apt-get update \
    && apt-get install --yes --no-install-recommends libpq5 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /app /data/audio \
    && chown -R app:app /app /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ENVIRONMENT=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATABASE_URL=sqlite:////data/dictation.db \
    AUDIO_DIR=/data/audio \
    WEB_CONCURRENCY=2
# WEB_CONCURRENCY: uvicorn worker processes of `serve` (uvicorn reads it). With QUEUE_URL empty
# each of them runs its own in-process TTS jobs; with QUEUE_URL set they only enqueue.
WORKDIR /app
USER app
VOLUME ["/data"]
EXPOSE 8000
# For the API; a worker container (no HTTP) turns it off (docker-compose.yml does).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=4)"]
# `serve` applies pending migrations, then starts uvicorn.
CMD ["last-whisper", "serve"]
