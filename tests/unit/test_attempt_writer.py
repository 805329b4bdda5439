"""AttemptWriter: group commit of attempts (application/attempt_writer.py) over the memory store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from adapters.memory import MemoryStore, MemoryUnitOfWork, MemoryUnitOfWorkFactory
from application.attempt_store import UnitOfWorkAttemptStore
from application.attempt_writer import AttemptWriter
from domain.attempts import Attempt
from domain.errors import ItemNotFoundError
from domain.items import Item
from domain.pages import PageRequest
from domain.scoring import score
from domain.stats import TimeWindow

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class CountingFactory(MemoryUnitOfWorkFactory):
    """Counts transactions; `fail_with` makes the next commits raise."""

    def __init__(self, store: MemoryStore) -> None:
        super().__init__(store)
        self.entered = 0
        self.fail_with: Exception | None = None

    def __call__(self) -> MemoryUnitOfWork:
        self.entered += 1
        uow = super().__call__()
        if self.fail_with is not None:
            error = self.fail_with

            async def failing_commit() -> None:
                raise error

            uow.commit = failing_commit  # type: ignore[method-assign]
        return uow


@pytest.fixture
def factory() -> CountingFactory:
    return CountingFactory(MemoryStore())


async def add_item(factory: CountingFactory, text: str = "Hyvää huomenta") -> int:
    async with factory() as uow:
        (item,) = await uow.items.add_many(
            [
                Item(
                    locale="fi-FI",
                    text=text,
                    difficulty=1,
                    tags=[],
                    created_at=T0,
                    updated_at=T0,
                    tts_provider="fake",
                    tts_voice="fake-a",
                )
            ]
        )
        await uow.commit()
    assert item.id is not None
    factory.entered = 0
    return item.id


def attempt(item_id: int, text: str, seconds: int = 0) -> Attempt:
    return Attempt(
        item_id=item_id,
        text=text,
        score=score("Hyvää huomenta", text, "fi-FI"),
        created_at=T0 + timedelta(seconds=seconds),
        duration_ms=1000 + seconds,
    )


async def stored_texts(factory: CountingFactory) -> list[str]:
    async with factory() as uow:
        page = await uow.attempts.list(None, TimeWindow(), PageRequest(1, 100))
    return sorted(a.text for a in page.rows)


async def test_a_lone_attempt_is_written_at_once_and_returned_with_its_id(
    factory: CountingFactory,
) -> None:
    item_id = await add_item(factory)
    writer = AttemptWriter(UnitOfWorkAttemptStore(factory))
    stored = await writer.add(attempt(item_id, "hyvaa huomenta"))
    assert stored.id is not None and stored.text == "hyvaa huomenta"
    assert factory.entered == 1
    assert await stored_texts(factory) == ["hyvaa huomenta"]


async def test_concurrent_attempts_share_transactions_and_each_gets_its_own_row(
    factory: CountingFactory,
) -> None:
    """50 submitters at once: far fewer than 50 transactions, every caller answered with the
    attempt it submitted, ids ascending in submission order."""
    item_id = await add_item(factory)
    writer = AttemptWriter(UnitOfWorkAttemptStore(factory))
    texts = [f"hyvaa {n}" for n in range(50)]
    stored = await asyncio.gather(
        *(writer.add(attempt(item_id, text, n)) for n, text in enumerate(texts))
    )
    assert [a.text for a in stored] == texts
    ids = [a.id for a in stored]
    assert all(i is not None for i in ids) and ids == sorted(ids) and len(set(ids)) == 50
    assert factory.entered == 1  # all fifty were waiting when the writer first ran
    assert await stored_texts(factory) == sorted(texts)


async def test_batches_are_capped(factory: CountingFactory) -> None:
    item_id = await add_item(factory)
    writer = AttemptWriter(UnitOfWorkAttemptStore(factory), max_batch=4)
    await asyncio.gather(*(writer.add(attempt(item_id, f"t{n}")) for n in range(10)))
    # All ten are waiting when the writer first runs: batches of 4, 4 and 2.
    assert factory.entered == 3
    assert len(await stored_texts(factory)) == 10


async def test_an_attempt_for_a_deleted_item_fails_alone(factory: CountingFactory) -> None:
    kept = await add_item(factory)
    gone = await add_item(factory, "Kiitos")
    async with factory() as uow:
        await uow.items.delete(gone)
        await uow.commit()
    writer = AttemptWriter(UnitOfWorkAttemptStore(factory))
    results = await asyncio.gather(
        writer.add(attempt(kept, "first")),
        writer.add(attempt(kept, "second")),
        writer.add(attempt(gone, "orphan")),
        writer.add(attempt(kept, "third")),
        return_exceptions=True,
    )
    assert isinstance(results[2], ItemNotFoundError)
    assert [r.text for r in results if isinstance(r, Attempt)] == ["first", "second", "third"]
    assert await stored_texts(factory) == ["first", "second", "third"]


async def test_a_failing_write_reaches_every_submitter_of_the_batch_and_the_next_batch_works(
    factory: CountingFactory,
) -> None:
    item_id = await add_item(factory)
    writer = AttemptWriter(UnitOfWorkAttemptStore(factory))
    factory.fail_with = ConnectionError("database went away")
    results = await asyncio.gather(
        *(writer.add(attempt(item_id, f"t{n}")) for n in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, ConnectionError) for r in results)
    assert await stored_texts(factory) == []
    factory.fail_with = None
    assert (await writer.add(attempt(item_id, "after"))).text == "after"


async def test_a_submitter_that_goes_away_does_not_lose_its_attempt(
    factory: CountingFactory,
) -> None:
    item_id = await add_item(factory)
    writer = AttemptWriter(UnitOfWorkAttemptStore(factory))
    first = asyncio.create_task(writer.add(attempt(item_id, "kept")))
    await asyncio.sleep(0)  # the write has started
    leaving = asyncio.create_task(writer.add(attempt(item_id, "abandoned")))
    await asyncio.sleep(0)
    leaving.cancel()
    await first
    await writer.close()
    assert await stored_texts(factory) == ["abandoned", "kept"]


async def test_close_waits_for_accepted_writes(factory: CountingFactory) -> None:
    item_id = await add_item(factory)
    writer = AttemptWriter(UnitOfWorkAttemptStore(factory))
    pending = [asyncio.create_task(writer.add(attempt(item_id, f"t{n}"))) for n in range(6)]
    await asyncio.sleep(0)
    await writer.close()
    assert len(await stored_texts(factory)) == 6
    assert all(task.done() for task in pending)
