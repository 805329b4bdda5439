"""Settings from the environment and an optional `.env` (API §11). Invalid values stop start-up."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from adapters.persistence.engine import normalise_database_url

PROVIDERS = {
    "local": "local",
    "azure": "azure",
    "google": "google",
    "gcp": "google",
    "fake": "fake",
}
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
DEFAULT_APP_NAME = "Last Whisper Backend"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/dictation.db"
DEFAULT_CORS_ORIGINS = ("http://localhost:3000", "http://127.0.0.1:3000")
DEFAULT_DESCRIPTION = (
    "Last Whisper's backend service - Dictation training with TTS, scoring, "
    "and session-less workflow"
)


class SettingsError(ValueError):
    """A setting has a value we cannot run with; the message names the setting."""


@dataclass(frozen=True, slots=True)
class Settings:
    environment: str = "development"
    app_name: str = DEFAULT_APP_NAME + " (Development)"
    app_version: str = "1.0.0"
    app_description: str = DEFAULT_DESCRIPTION
    host: str = "0.0.0.0"
    port: int = 8000
    reload: bool = True
    log_level: str = "info"
    database_url: str = DEFAULT_DATABASE_URL
    audio_dir: Path = Path("audio")
    tts_provider: str = "local"
    tts_supported_languages: tuple[str, ...] = ()
    tts_fallback_provider: str | None = None
    tts_submission_workers: int = 2
    tts_max_retries: int = 3
    tts_retry_base_seconds: float = 2.0
    queue_url: str = ""
    google_application_credentials: str = "keys/google-credentials.json"
    azure_speech_key: str = ""
    azure_speech_region: str = ""
    api_keys: tuple[str, ...] = ()
    max_body_bytes: int = 1_048_576
    cors_origins: tuple[str, ...] = DEFAULT_CORS_ORIGINS
    cors_allow_methods: tuple[str, ...] = ("*",)
    cors_allow_headers: tuple[str, ...] = ("*",)

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def queue_backend(self) -> str:
        if self.queue_url.startswith(("redis://", "rediss://")):
            return "redis"
        if self.queue_url.startswith(("postgresql://", "postgres://")):
            return "postgresql"
        return "memory"

    @classmethod
    def load(
        cls, environ: Mapping[str, str] | None = None, env_file: Path | None = None
    ) -> Settings:
        """Read settings: the environment wins over `.env`; unknown keys are ignored."""
        values = {k.lower(): v for k, v in _read_env_file(env_file or Path(".env")).items()}
        values.update(
            {k.lower(): v for k, v in (os.environ if environ is None else environ).items()}
        )
        return _parse(values)


def _read_env_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _int(values: Mapping[str, str], name: str, default: int, low: int, high: int | None) -> int:
    raw = values.get(name.lower(), "").strip()
    if not raw:
        return default
    try:
        number = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if number < low or (high is not None and number > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise SettingsError(f"{name} must be {bounds}, got {number}")
    return number


def _float(values: Mapping[str, str], name: str, default: float, low: float) -> float:
    raw = values.get(name.lower(), "").strip()
    if not raw:
        return default
    try:
        number = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not number >= low or number == float("inf"):
        raise SettingsError(f"{name} must be a finite number >= {low}, got {raw!r}")
    return number


_TRUE = {"true", "t", "yes", "y", "on", "1"}
_FALSE = {"false", "f", "no", "n", "off", "0"}


def _bool(values: Mapping[str, str], name: str, default: bool) -> bool:
    raw = values.get(name.lower(), "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SettingsError(f"{name} must be a boolean (true/false), got {raw!r}")


def _list(values: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = values.get(name.lower())
    if raw is None:
        return default
    raw = raw.strip()
    if raw.startswith("["):
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            raise SettingsError(f"{name} is not a valid JSON array") from None
        if not isinstance(parsed, list) or not all(isinstance(x, str) for x in parsed):
            raise SettingsError(f"{name} must be a JSON array of strings")
        items = parsed
    else:
        items = raw.split(",")
    return tuple(item.strip() for item in items if item.strip())


def _provider(values: Mapping[str, str], name: str, default: str | None) -> str | None:
    raw = values.get(name.lower(), "").strip().lower()
    if not raw:
        return default
    if raw not in PROVIDERS:
        raise SettingsError(f"{name} must be one of local, azure, google, gcp, fake; got {raw!r}")
    return PROVIDERS[raw]


def _parse(values: Mapping[str, str]) -> Settings:
    environment = values.get("environment", "development").strip().lower()
    environment = "development" if environment in ("development", "dev", "local") else "production"
    app_name = values.get("app_name", "").strip() or DEFAULT_APP_NAME
    if app_name == DEFAULT_APP_NAME and environment == "development":
        app_name += " (Development)"
    log_level = values.get("log_level", "info").strip().lower() or "info"
    if log_level not in LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}; got {log_level!r}")
    queue_url = values.get("queue_url", "").strip()
    if queue_url and not queue_url.startswith(
        ("redis://", "rediss://", "postgresql://", "postgres://")
    ):
        raise SettingsError(
            "QUEUE_URL must start with redis://, rediss://, postgresql:// or postgres://"
        )
    database_url = normalise_database_url(
        values.get("database_url", "").strip() or DEFAULT_DATABASE_URL
    )
    if not database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        # Never echo the URL itself: it may carry a password.
        raise SettingsError("DATABASE_URL must be a sqlite:/// or postgresql:// URL")
    fallback = _provider(values, "TTS_FALLBACK_PROVIDER", None)
    return Settings(
        environment=environment,
        app_name=app_name,
        app_version=values.get("app_version", "").strip() or "1.0.0",
        app_description=values.get("app_description", "").strip() or DEFAULT_DESCRIPTION,
        host=values.get("host", "").strip() or "0.0.0.0",
        port=_int(values, "PORT", 8000, 1, 65535),
        reload=_bool(values, "RELOAD", environment == "development")
        and environment == "development",
        log_level=log_level,
        database_url=database_url,
        audio_dir=Path(values.get("audio_dir", "").strip() or "audio"),
        tts_provider=_provider(values, "TTS_PROVIDER", "local") or "local",
        tts_supported_languages=_list(values, "TTS_SUPPORTED_LANGUAGES", ()),
        tts_fallback_provider=fallback,
        tts_submission_workers=_int(values, "TTS_SUBMISSION_WORKERS", 2, 1, 32),
        tts_max_retries=_int(values, "TTS_MAX_RETRIES", 3, 0, 10),
        tts_retry_base_seconds=_float(values, "TTS_RETRY_BASE_SECONDS", 2.0, 0.0),
        queue_url=queue_url,
        google_application_credentials=values.get("google_application_credentials", "").strip()
        or "keys/google-credentials.json",
        azure_speech_key=values.get("azure_speech_key", "").strip(),
        azure_speech_region=values.get("azure_speech_region", "").strip(),
        api_keys=_list(values, "API_KEYS", ()),
        max_body_bytes=_int(values, "MAX_BODY_BYTES", 1_048_576, 1024, None),
        cors_origins=_list(values, "CORS_ORIGINS", DEFAULT_CORS_ORIGINS),
        cors_allow_methods=_list(values, "CORS_ALLOW_METHODS", ("*",)) or ("*",),
        cors_allow_headers=_list(values, "CORS_ALLOW_HEADERS", ("*",)) or ("*",),
    )
