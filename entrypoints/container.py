"""The composition root: every adapter is chosen and wired here, once per process."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from adapters.audio.filesystem import FilesystemAudioStore
from adapters.clock import SystemClock
from adapters.persistence.engine import SqlDatabase, create_engine, sqlite_file
from adapters.persistence.sqlite_attempt_store import SqliteAttemptStore
from adapters.persistence.sqlite_lookup import SqliteItemLookup
from adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from adapters.queue.in_process import InProcessJobQueue
from application.attempt_store import UnitOfWorkAttemptStore
from application.attempt_writer import AttemptWriter
from application.attempts import AttemptService
from application.audio import AudioService
from application.health import HealthService
from application.items import ItemService
from application.lookups import UnitOfWorkItemLookup
from application.ports import AttemptStore, ItemLookup, TtsGateway, UnitOfWorkFactory
from application.stats import StatsService
from application.synthesis import RetryPolicy, SynthesisService
from application.tags import TagService
from application.voices import VoiceCatalogue
from entrypoints.settings import Settings

if TYPE_CHECKING:
    from adapters.queue.saq import SaqJobQueue


def tts_gateway(name: str, settings: Settings) -> TtsGateway:
    """Build one provider's adapter; SDK imports stay inside so unused extras need not exist."""
    if name == "fake":
        from adapters.tts.fake import FakeTtsGateway

        return FakeTtsGateway()
    if name == "azure":
        from adapters.tts.azure import AzureTtsGateway

        return AzureTtsGateway(key=settings.azure_speech_key, region=settings.azure_speech_region)
    if name == "google":
        from adapters.tts.google import GoogleTtsGateway

        return GoogleTtsGateway(credentials_file=settings.google_application_credentials)
    from adapters.tts.espeak import EspeakTtsGateway

    return EspeakTtsGateway()


def tts_gateways(settings: Settings) -> list[TtsGateway]:
    names = [settings.tts_provider]
    if settings.tts_fallback_provider and settings.tts_fallback_provider != settings.tts_provider:
        names.append(settings.tts_fallback_provider)
    return [tts_gateway(name, settings) for name in names]


def choose_item_lookup(database_url: str, uow: UnitOfWorkFactory) -> ItemLookup:
    """A SQLite file is read inline on its own connection; other databases through a session."""
    portable = UnitOfWorkItemLookup(uow)
    path = sqlite_file(database_url)
    return portable if path is None else SqliteItemLookup(path, fallback=portable)


def choose_attempt_store(database_url: str, uow: UnitOfWorkFactory) -> AttemptStore:
    """A SQLite file takes attempts inline on its own connection; other databases in a session."""
    portable = UnitOfWorkAttemptStore(uow)
    path = sqlite_file(database_url)
    return portable if path is None else SqliteAttemptStore(path, fallback=portable)


def saq_queue(settings: Settings, retry: RetryPolicy) -> SaqJobQueue:
    """The SAQ queue on QUEUE_URL (imported here: installs without the `saq` extra still run).

    SAQ abandons a job only after the longest run our retry policy allows, plus a margin.
    """
    from adapters.queue.saq import SaqJobQueue, SaqTimings

    providers_count = len({settings.tts_provider, settings.tts_fallback_provider} - {None})
    timeout = int(retry.longest_job_seconds(providers_count)) + 60
    return SaqJobQueue(url=settings.queue_url, timings=SaqTimings(job_timeout_seconds=timeout))


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    clock = providers.Singleton(SystemClock)
    engine = providers.Singleton(create_engine, settings.provided.database_url)
    database = providers.Singleton(SqlDatabase, engine)
    uow = providers.Singleton(SqlUnitOfWorkFactory, engine)
    item_lookup = providers.Singleton(choose_item_lookup, settings.provided.database_url, uow)
    attempt_store = providers.Singleton(choose_attempt_store, settings.provided.database_url, uow)
    attempt_writer = providers.Singleton(AttemptWriter, attempt_store)
    audio_store = providers.Singleton(FilesystemAudioStore, root=settings.provided.audio_dir)

    gateways = providers.Singleton(tts_gateways, settings)
    voices = providers.Singleton(
        VoiceCatalogue, gateways=gateways, supported=settings.provided.tts_supported_languages
    )
    retry = providers.Singleton(
        RetryPolicy,
        max_retries=settings.provided.tts_max_retries,
        base_seconds=settings.provided.tts_retry_base_seconds,
    )
    synthesis = providers.Singleton(
        SynthesisService, uow=uow, voices=voices, store=audio_store, clock=clock, retry=retry
    )
    # QUEUE_URL set: one SAQ queue object for both schemes; API processes only enqueue to it,
    # `last-whisper worker` processes run its jobs (entrypoints/worker.py).
    distributed_queue = providers.Singleton(saq_queue, settings, retry)
    queue = providers.Selector(
        settings.provided.queue_backend,
        memory=providers.Singleton(
            InProcessJobQueue,
            handler=synthesis.provided.run,
            workers=settings.provided.tts_submission_workers,
        ),
        redis=distributed_queue,
        postgresql=distributed_queue,
    )

    # Services hold nothing but their collaborators: one of each per process.
    item_service = providers.Singleton(
        ItemService,
        uow=uow,
        queue=queue,
        voices=voices,
        store=audio_store,
        clock=clock,
        lookup=item_lookup,
    )
    audio_service = providers.Singleton(
        AudioService, uow=uow, queue=queue, voices=voices, store=audio_store, clock=clock
    )
    tag_service = providers.Singleton(TagService, uow=uow, clock=clock)
    attempt_service = providers.Singleton(
        AttemptService, uow=uow, clock=clock, lookup=item_lookup, writer=attempt_writer
    )
    stats_service = providers.Singleton(StatsService, uow=uow, clock=clock)
    health_service = providers.Singleton(
        HealthService,
        database=database,
        audio=audio_store,
        tts=voices.provided.primary,
        queue=queue,
        clock=clock,
    )
