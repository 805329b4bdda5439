# First version: one stage, runs the API with SQLite and the bundled espeak-ng engine.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 ENVIRONMENT=production
COPY pyproject.toml README.md ./
COPY domain domain
COPY application application
COPY adapters adapters
COPY entrypoints entrypoints
RUN pip install --no-cache-dir '.[azure,google,saq]'
EXPOSE 8000
CMD ["last-whisper", "serve"]
