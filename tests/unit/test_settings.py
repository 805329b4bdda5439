"""Settings: names, defaults, `.env`, and start-up errors that name the setting (API §11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from entrypoints.settings import Settings, SettingsError

NO_FILE = Path("/nonexistent/.env")


def load(**environ: str) -> Settings:
    return Settings.load(environ, env_file=NO_FILE)


def test_defaults() -> None:
    settings = load()
    assert settings.app_name == "Last Whisper Backend (Development)"
    assert settings.database_url == "sqlite+aiosqlite:///data/dictation.db"
    assert (settings.host, settings.port, settings.reload) == ("0.0.0.0", 8000, True)
    assert settings.tts_provider == "local" and settings.tts_fallback_provider is None
    assert (settings.tts_submission_workers, settings.tts_max_retries) == (2, 3)
    assert settings.tts_retry_base_seconds == 2.0
    assert settings.queue_backend == "memory" and settings.api_keys == ()
    assert settings.max_body_bytes == 1_048_576
    assert settings.cors_origins == ("http://localhost:3000", "http://127.0.0.1:3000")
    assert settings.cors_allow_methods == ("*",) and settings.audio_dir == Path("audio")


def test_production_keeps_custom_name_and_disables_reload() -> None:
    settings = load(ENVIRONMENT=" Prod ", APP_NAME="Mine", RELOAD="true")
    assert (settings.environment, settings.app_name, settings.reload) == (
        "production",
        "Mine",
        False,
    )
    assert load(environment="LOCAL").is_development
    assert load(ENVIRONMENT="staging").app_name == "Last Whisper Backend"


def test_names_are_case_insensitive_and_lists_parse() -> None:
    settings = load(
        tts_provider="GCP",
        TTS_SUPPORTED_LANGUAGES='["fi", "en-US"]',
        api_keys=" a , b ,, ",
        CORS_ORIGINS="*",
        queue_url="redis://127.0.0.1:6379/0",
    )
    assert settings.tts_provider == "google"
    assert settings.tts_supported_languages == ("fi", "en-US")
    assert settings.api_keys == ("a", "b") and settings.cors_origins == ("*",)
    assert settings.queue_backend == "redis"
    assert load(TTS_SUPPORTED_LANGUAGES="fi, en-US").tts_supported_languages == ("fi", "en-US")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_database_urls_map_to_async_drivers(raw: str, expected: str) -> None:
    assert load(DATABASE_URL=raw).database_url == expected


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comment\nPORT=9000\nexport APP_NAME='From file'\nUNKNOWN_KEY=1\nLOG_LEVEL=debug\n"
    )
    settings = Settings.load({"LOG_LEVEL": "warning"}, env_file=env_file)
    assert (settings.port, settings.app_name, settings.log_level) == (9000, "From file", "warning")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "eighty"),
        ("PORT", "70000"),
        ("TTS_PROVIDER", "polly"),
        ("TTS_FALLBACK_PROVIDER", "nope"),
        ("TTS_SUBMISSION_WORKERS", "0"),
        ("TTS_SUBMISSION_WORKERS", "33"),
        ("TTS_MAX_RETRIES", "11"),
        ("TTS_RETRY_BASE_SECONDS", "-1"),
        ("TTS_RETRY_BASE_SECONDS", "soon"),
        ("MAX_BODY_BYTES", "100"),
        ("LOG_LEVEL", "verbose"),
        ("RELOAD", "perhaps"),
        ("QUEUE_URL", "amqp://x"),
        ("DATABASE_URL", "mysql://root:secret@h/db"),
        ("TTS_SUPPORTED_LANGUAGES", "[1, 2]"),
    ],
)
def test_invalid_values_stop_startup_naming_the_setting(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as error:
        load(**{name: value})
    assert name in str(error.value)
    assert "secret" not in str(error.value)
