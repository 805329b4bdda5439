"""One contract for every persistence adapter: memory, SQLite and Postgres behave the same."""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.exc import IntegrityError

from adapters.memory import MemoryStore, MemoryUnitOfWorkFactory
from adapters.persistence.audio_blobs import claim_key
from adapters.persistence.engine import create_engine
from adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from application.ports import UnitOfWork, UnitOfWorkFactory
from domain.attempts import Attempt
from domain.audio import AudioBlob
from domain.errors import TagAlreadyExistsError
from domain.items import Item, ItemText, TtsStatus, fold
from domain.listing import ItemFilter, ItemSort
from domain.pages import PageRequest
from domain.scoring import AlignmentKind, AlignmentOp, Score
from domain.stats import AttemptAggregate, TimeWindow
from domain.tags import Tag

T0 = datetime(2026, 11, 24, 13, 40, tzinfo=UTC)
BACKENDS = ["memory", "sqlite", "postgres"]


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None for the memory adapters, else a migrated, empty database private to the test."""
    if request.param == "memory":
        return None
    fixture = "migrated_sqlite_url" if request.param == "sqlite" else "migrated_postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


async def _factory(url: str | None) -> AsyncIterator[UnitOfWorkFactory]:
    if url is None:
        yield MemoryUnitOfWorkFactory(MemoryStore())
        return
    engine = create_engine(url)  # created and disposed on the test's own event loop
    try:
        yield SqlUnitOfWorkFactory(engine)
    finally:
        await engine.dispose()


@pytest_asyncio.fixture
async def uow_factory(database_url: str | None) -> AsyncIterator[UnitOfWorkFactory]:
    async for factory in _factory(database_url):
        yield factory


# ------------------------------------------------------------------------------------- helpers


def make_item(
    text: str = "Hyvää huomenta!",
    *,
    locale: str = "fi",
    difficulty: int = 1,
    tags: list[str] | None = None,
    created_at: datetime = T0,
    status: TtsStatus = TtsStatus.PENDING,
) -> Item:
    return Item(
        locale=locale,
        text=text,
        difficulty=difficulty,
        tags=list(tags or []),
        created_at=created_at,
        updated_at=created_at,
        tts_provider="fake",
        tts_voice="fake-a",
        tts_status=status,
    )


def make_score(percentage: int = 100, wer: float = 0.0) -> Score:
    return Score(
        wer=wer,
        percentage=percentage,
        words_ref=3,
        words_correct=2,
        substitutions=1,
        deletions=0,
        insertions=0,
        alignment=(
            AlignmentOp(AlignmentKind.EQUAL, "Minä", "mina"),
            AlignmentOp(AlignmentKind.SUBSTITUTE, "Helsingissä", "helsingisa"),
            AlignmentOp(AlignmentKind.DELETE, "ja", None),
            AlignmentOp(AlignmentKind.INSERT, None, "öö"),
        ),
    )


def make_attempt(
    item_id: int,
    *,
    percentage: int = 100,
    wer: float = 0.0,
    duration_ms: int | None = None,
    created_at: datetime = T0,
    text: str = "mina asun helsingisa",
) -> Attempt:
    return Attempt(
        item_id=item_id,
        text=text,
        score=make_score(percentage, wer),
        created_at=created_at,
        duration_ms=duration_ms,
    )


async def add_items(factory: UnitOfWorkFactory, *items: Item) -> list[Item]:
    async with factory() as uow:
        added = await uow.items.add_many(items)
        await uow.commit()
    return added


async def add_attempts(factory: UnitOfWorkFactory, *attempts: Attempt) -> list[Attempt]:
    async with factory() as uow:
        added = [await uow.attempts.add(a) for a in attempts]
        await uow.commit()
    return added


async def list_ids_in(
    uow: UnitOfWork, where: ItemFilter | None = None, sort: ItemSort = ItemSort.CREATED_ASC
) -> list[int | None]:
    page = await uow.items.list(where or ItemFilter(), sort, PageRequest(1, 100))
    return [item.id for item in page.rows]


async def list_ids(
    factory: UnitOfWorkFactory,
    where: ItemFilter | None = None,
    sort: ItemSort = ItemSort.CREATED_ASC,
) -> list[int | None]:
    async with factory() as uow:
        return await list_ids_in(uow, where, sort)


def ids(items: list[Item]) -> list[int]:
    return [item.id for item in items if item.id is not None]


# ---------------------------------------------------------------------------------------- items


async def test_item_round_trip_keeps_every_field(uow_factory: UnitOfWorkFactory) -> None:
    moment = datetime(2026, 11, 24, 13, 12, 9, 931547, tzinfo=UTC)
    item = replace(
        make_item(
            "Minä asun Helsingissä — 我喜欢学习中文 🎧\n  tabs\tand  spaces ",
            locale="fi-FI",
            difficulty=3,
            tags=["Grammar", "verbs", "äiti", "中文"],
            created_at=moment,
        ),
        updated_at=moment + timedelta(microseconds=1),
        tts_status=TtsStatus.FAILED,
        tts_error="fake: permanent failure requested",
        tts_generation=4,
        audio_key="ab" * 32,
    )

    [added] = await add_items(uow_factory, item)
    async with uow_factory() as uow:
        fetched = await uow.items.get(added.id or 0)

    assert added.id is not None and added.id >= 1
    assert added == replace(item, id=added.id)
    assert fetched == replace(item, id=added.id)
    assert fetched is not None
    assert fetched.created_at.utcoffset() == timedelta(0)
    assert fetched.created_at.microsecond == 931547
    assert fetched.updated_at.microsecond == 931548


async def test_timestamps_with_other_offsets_come_back_as_utc(
    uow_factory: UnitOfWorkFactory,
) -> None:
    helsinki = timezone(timedelta(hours=2))
    [added] = await add_items(
        uow_factory, make_item(created_at=datetime(2026, 11, 24, 15, 0, 0, 5, tzinfo=helsinki))
    )
    async with uow_factory() as uow:
        fetched = await uow.items.get(added.id or 0)
    assert fetched is not None
    assert fetched.created_at == datetime(2026, 11, 24, 13, 0, 0, 5, tzinfo=UTC)
    assert fetched.created_at.utcoffset() == timedelta(0)


async def test_get_unknown_item_is_none(uow_factory: UnitOfWorkFactory) -> None:
    await add_items(uow_factory, make_item())
    async with uow_factory() as uow:
        assert await uow.items.get(9999) is None
        assert await uow.items.get(0) is None
        assert await uow.items.get(-1) is None
        assert await uow.items.text(9999) is None


async def test_text_reads_the_stored_text_and_locale(uow_factory: UnitOfWorkFactory) -> None:
    [added] = await add_items(
        uow_factory, make_item(text="Hyvää  huomenta!", locale="fi-FI", tags=["a"])
    )
    async with uow_factory() as uow:
        assert await uow.items.text(added.id or 0) == ItemText("Hyvää  huomenta!", "fi-FI")


async def test_entities_are_fresh_copies(uow_factory: UnitOfWorkFactory) -> None:
    [added] = await add_items(uow_factory, make_item(tags=["a"]))
    added.tags.append("mutated")
    async with uow_factory() as uow:
        fetched = await uow.items.get(added.id or 0)
        assert fetched is not None
        fetched.tags.append("mutated too")
        again = await uow.items.get(added.id or 0)
    assert again is not None and again.tags == ["a"]


async def test_ids_ascend_in_input_order_and_are_never_reused(
    uow_factory: UnitOfWorkFactory,
) -> None:
    first = await add_items(uow_factory, make_item("one"), make_item("two"), make_item("three"))
    assert ids(first) == sorted(ids(first))
    assert len(set(ids(first))) == 3

    async with uow_factory() as uow:
        assert await uow.items.delete(ids(first)[-1]) is not None
        await uow.commit()
    [after_delete] = await add_items(uow_factory, make_item("four"))
    assert (after_delete.id or 0) > ids(first)[-1]

    async with uow_factory() as uow:
        [tag] = [await uow.tags.add(Tag(name="x", created_at=T0))]
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tags.delete(tag.id or 0)
        await uow.commit()
    async with uow_factory() as uow:
        again = await uow.tags.add(Tag(name="x", created_at=T0))
        await uow.commit()
    assert (again.id or 0) > (tag.id or 0)

    async with uow_factory() as uow:
        attempt = await uow.attempts.add(make_attempt(after_delete.id or 0))
        await uow.commit()
    async with uow_factory() as uow:
        await uow.items.delete(after_delete.id or 0)
        await uow.commit()
    [item] = await add_items(uow_factory, make_item("five"))
    [next_attempt] = await add_attempts(uow_factory, make_attempt(item.id or 0))
    assert (next_attempt.id or 0) > (attempt.id or 0)


async def test_update_writes_every_mutable_field(uow_factory: UnitOfWorkFactory) -> None:
    [added, other] = await add_items(
        uow_factory, make_item(tags=["a", "b"]), make_item("other", tags=["a"])
    )
    later = T0 + timedelta(minutes=5, microseconds=7)
    changed = replace(
        added,
        tags=["B", "c", "Ä"],
        difficulty=4,
        tts_status=TtsStatus.READY,
        tts_error=None,
        audio_key="cd" * 32,
        tts_provider="local",
        tts_voice="fi",
        tts_generation=2,
        updated_at=later,
    )
    async with uow_factory() as uow:
        await uow.items.update(changed)
        assert await uow.items.get(added.id or 0) == changed  # visible inside the transaction
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.items.get(added.id or 0) == changed
        assert await uow.items.get(other.id or 0) == other
        tagged = await uow.items.list(ItemFilter(tags=("ä",)), ItemSort.CREATED_ASC, PageRequest())
        assert ids(tagged.rows) == [added.id]
        untagged = await uow.items.list(
            ItemFilter(tags=("b",)), ItemSort.CREATED_ASC, PageRequest()
        )
        assert ids(untagged.rows) == [added.id]


async def test_update_of_a_deleted_item_leaves_it_deleted(uow_factory: UnitOfWorkFactory) -> None:
    [added] = await add_items(uow_factory, make_item(tags=["a"]))
    async with uow_factory() as uow:
        await uow.items.delete(added.id or 0)
        await uow.commit()
    async with uow_factory() as uow:
        await uow.items.update(replace(added, tags=["b"], tts_status=TtsStatus.READY))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.items.get(added.id or 0) is None


async def test_tts_claim_writes_only_while_pending_at_the_generation(
    uow_factory: UnitOfWorkFactory,
) -> None:
    [added] = await add_items(uow_factory, make_item(tags=["kept"]))
    ready = replace(
        added,
        tts_status=TtsStatus.READY,
        audio_key="k" * 64,
        tts_voice="fake-b",
        updated_at=T0 + timedelta(seconds=5),
        tags=["ignored"],
    )
    async with uow_factory() as uow:
        assert not await uow.items.update_tts_if_pending(replace(ready, tts_generation=2))
        assert await uow.items.update_tts_if_pending(ready)
        await uow.commit()
    async with uow_factory() as uow:
        # Settled: a second claim (a job run twice, or a racing worker) changes nothing.
        assert not await uow.items.update_tts_if_pending(replace(ready, tts_voice="other"))
        stored = await uow.items.get(added.id or 0)
    assert stored is not None
    assert (stored.tts_status, stored.audio_key, stored.tts_voice) == (
        TtsStatus.READY,
        "k" * 64,
        "fake-b",
    )
    assert stored.tags == ["kept"] and stored.updated_at == T0 + timedelta(seconds=5)
    async with uow_factory() as uow:
        await uow.items.delete(added.id or 0)
        assert not await uow.items.update_tts_if_pending(ready)


async def test_delete_removes_item_tags_and_attempts(uow_factory: UnitOfWorkFactory) -> None:
    [doomed, kept] = await add_items(
        uow_factory, make_item("doomed", tags=["shared", "x"]), make_item("kept", tags=["shared"])
    )
    doomed_attempts = await add_attempts(
        uow_factory, make_attempt(doomed.id or 0), make_attempt(doomed.id or 0)
    )
    [kept_attempt] = await add_attempts(uow_factory, make_attempt(kept.id or 0))

    async with uow_factory() as uow:
        removed = await uow.items.delete(doomed.id or 0)
        await uow.commit()
    assert removed == replace(doomed, practiced=True)

    async with uow_factory() as uow:
        assert await uow.items.get(doomed.id or 0) is None
        assert await uow.items.delete(doomed.id or 0) is None
        for attempt in doomed_attempts:
            assert await uow.attempts.get(attempt.id or 0) is None
        assert await uow.attempts.get(kept_attempt.id or 0) == kept_attempt
        assert (await uow.stats.item(doomed.id or 0)) == AttemptAggregate()
        shared = await uow.items.list(
            ItemFilter(tags=("shared",)), ItemSort.CREATED_ASC, PageRequest()
        )
        assert ids(shared.rows) == [kept.id]
        assert (
            await uow.items.list(ItemFilter(tags=("x",)), ItemSort.CREATED_ASC, PageRequest())
        ).total == 0
        all_attempts = await uow.attempts.list(None, TimeWindow(), PageRequest())
        assert [a.id for a in all_attempts.rows] == [kept_attempt.id]


async def test_leaving_without_commit_rolls_back(uow_factory: UnitOfWorkFactory) -> None:
    [existing] = await add_items(uow_factory, make_item("existing"))
    async with uow_factory() as uow:
        await uow.items.add_many([make_item("never committed", tags=["t"])])
        await uow.tags.add(Tag(name="ghost", created_at=T0))
        await uow.attempts.add(make_attempt(existing.id or 0))
        await uow.items.update(replace(existing, difficulty=5))

    async def fail_after_a_commit() -> None:
        async with uow_factory() as uow:
            await uow.items.add_many([make_item("also never")])
            await uow.commit()  # this part stays
            await uow.items.add_many([make_item("after commit")])
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await fail_after_a_commit()

    async with uow_factory() as uow:
        texts = [
            i.text
            for i in (await uow.items.list(ItemFilter(), ItemSort.CREATED_ASC, PageRequest())).rows
        ]
        assert texts == ["existing", "also never"]
        assert await uow.tags.list(10, 0) == ([], 0)
        assert (await uow.attempts.list(None, TimeWindow(), PageRequest())).total == 0
        assert (await uow.items.get(existing.id or 0)) == existing


async def test_writes_after_commit_need_another_commit(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.tags.add(Tag(name="first", created_at=T0))
        await uow.commit()
        await uow.tags.add(Tag(name="second", created_at=T0))
    async with uow_factory() as uow:
        tags, total = await uow.tags.list(10, 0)
    assert [t.name for t in tags] == ["first"] and total == 1


async def test_concurrent_units_of_work_lose_no_inserts(uow_factory: UnitOfWorkFactory) -> None:
    async def add(n: int) -> None:
        async with uow_factory() as uow:
            await uow.items.add_many([make_item(f"item {n}")])
            await asyncio.sleep(0)
            await uow.commit()

    await asyncio.gather(*(add(n) for n in range(8)))
    async with uow_factory() as uow:
        page = await uow.items.list(ItemFilter(), ItemSort.CREATED_ASC, PageRequest(1, 100))
    assert sorted(i.text for i in page.rows) == sorted(f"item {n}" for n in range(8))
    assert len(set(ids(page.rows))) == 8


# -------------------------------------------------------------------------------- item listing


async def test_list_filters_by_locale_difficulty_status_and_practiced(
    uow_factory: UnitOfWorkFactory,
) -> None:
    fi1, fi_fi3, en5, fi2 = await add_items(
        uow_factory,
        make_item("a", locale="fi", difficulty=1),
        make_item("b", locale="fi-FI", difficulty=3, status=TtsStatus.READY),
        make_item("c", locale="en", difficulty=5, status=TtsStatus.FAILED),
        make_item("d", locale="fi", difficulty=2, status=TtsStatus.READY),
    )
    await add_attempts(uow_factory, make_attempt(fi_fi3.id or 0), make_attempt(fi_fi3.id or 0))
    await add_attempts(uow_factory, make_attempt(en5.id or 0))

    assert await list_ids(uow_factory, ItemFilter(locale="fi")) == ids([fi1, fi2])
    assert await list_ids(uow_factory, ItemFilter(locale="fi-FI")) == ids([fi_fi3])
    assert await list_ids(uow_factory, ItemFilter(locale="sv")) == []
    assert await list_ids(uow_factory, ItemFilter(difficulty_min=2, difficulty_max=3)) == ids(
        [fi_fi3, fi2]
    )
    assert await list_ids(uow_factory, ItemFilter(difficulty_min=5, difficulty_max=5)) == ids([en5])
    assert await list_ids(uow_factory, ItemFilter(practiced=True)) == ids([fi_fi3, en5])
    assert await list_ids(uow_factory, ItemFilter(practiced=False)) == ids([fi1, fi2])
    assert await list_ids(uow_factory, ItemFilter(tts_status=TtsStatus.READY)) == ids([fi_fi3, fi2])
    assert await list_ids(uow_factory, ItemFilter(tts_status=TtsStatus.PENDING)) == ids([fi1])
    combined = ItemFilter(locale="fi", difficulty_min=2, tts_status=TtsStatus.READY)
    assert await list_ids(uow_factory, combined) == ids([fi2])
    assert await list_ids(uow_factory, ItemFilter(locale="", q="", tags=("",))) == ids(
        [fi1, fi_fi3, en5, fi2]
    )

    async with uow_factory() as uow:
        page = await uow.items.list(ItemFilter(), ItemSort.CREATED_ASC, PageRequest())
    assert [i.practiced for i in page.rows] == [False, True, True, False]


async def test_tag_filter_is_exact_casefolded_element_equality(
    uow_factory: UnitOfWorkFactory,
) -> None:
    mother, symbols, phrase, street, pair = await add_items(
        uow_factory,
        make_item("1", tags=["äiti", "Grammar"]),
        make_item("2", tags=["100%", "a_b", 'quote"d']),
        make_item("3", tags=["grammar rules", "äiti-x"]),
        make_item("4", tags=["Straße"]),
        make_item("5", tags=["a", "b"]),
    )

    def tags(*raw: str) -> ItemFilter:
        return ItemFilter(tags=tuple(t.strip().casefold() for t in raw))

    assert await list_ids(uow_factory, tags("ÄITI")) == ids([mother])
    assert await list_ids(uow_factory, tags("grammar")) == ids([mother])
    assert await list_ids(uow_factory, tags("GRAMMAR RULES")) == ids([phrase])
    assert await list_ids(uow_factory, tags("strasse")) == ids([street])
    assert await list_ids(uow_factory, tags("STRASSE")) == ids([street])
    assert await list_ids(uow_factory, tags("100%")) == ids([symbols])
    assert await list_ids(uow_factory, tags("a_b")) == ids([symbols])
    assert await list_ids(uow_factory, tags('QUOTE"D')) == ids([symbols])
    for no_wildcards in ("%", "100_", "a%", "a_", "_", "axb", "äit", "%iti"):
        assert await list_ids(uow_factory, tags(no_wildcards)) == [], no_wildcards
    for across_elements in ('a", "b', "a,b", '"a"', "a b", "ab"):
        assert await list_ids(uow_factory, tags(across_elements)) == [], across_elements
    assert await list_ids(uow_factory, tags("a", "b")) == ids([pair])
    assert await list_ids(uow_factory, tags("äiti", "grammar")) == ids([mother])
    assert await list_ids(uow_factory, tags("äiti", "100%")) == []


async def test_tag_filters_combine_with_every_other_filter_sort_and_page(
    uow_factory: UnitOfWorkFactory,
) -> None:
    later = T0 + timedelta(seconds=1)
    a, b, c, d, e, f, _ = await add_items(
        uow_factory,
        make_item("a", difficulty=2, tags=["basics", "travel"]),
        make_item("b", difficulty=3, tags=["Basics"], created_at=later, status=TtsStatus.READY),
        make_item("c", locale="fi-FI", difficulty=2, tags=["basics"]),
        make_item("d", difficulty=4, tags=["travel", "basics"]),
        make_item("e", locale="en", difficulty=2, tags=["basics", "travel"]),
        make_item("f", difficulty=3, tags=["travel"]),
        make_item("g", difficulty=2),
    )
    await add_attempts(uow_factory, make_attempt(a.id or 0))

    def where(*tags: str, **more: Any) -> ItemFilter:
        return ItemFilter(tags=tags, **more)

    fi_2_3: dict[str, Any] = {"locale": "fi", "difficulty_min": 2, "difficulty_max": 3}
    assert await list_ids(uow_factory, where("basics", **fi_2_3)) == ids([a, b])
    assert await list_ids(uow_factory, where("basics", "travel", **fi_2_3)) == ids([a])
    assert await list_ids(uow_factory, where("travel", "basics", **fi_2_3)) == ids([a])
    assert await list_ids(uow_factory, where("basics", "basics", **fi_2_3)) == ids([a, b])
    assert await list_ids(uow_factory, where("basics", "travel")) == ids([a, d, e])
    assert await list_ids(uow_factory, where("travel", locale="fi")) == ids([a, d, f])
    assert await list_ids(uow_factory, where("basics", locale="fi-FI")) == ids([c])
    assert await list_ids(uow_factory, where("basics", locale="fi-fi")) == []  # exact equality
    assert await list_ids(uow_factory, where("basics", difficulty_min=2, difficulty_max=2)) == ids(
        [a, c, e]
    )
    assert await list_ids(uow_factory, where("basics", difficulty_min=3)) == ids([d, b])
    assert await list_ids(uow_factory, where("travel", difficulty_max=3)) == ids([a, e, f])
    assert await list_ids(uow_factory, where("basics", practiced=True, **fi_2_3)) == ids([a])
    assert await list_ids(uow_factory, where("basics", practiced=False, **fi_2_3)) == ids([b])
    ready = where("basics", tts_status=TtsStatus.READY, **fi_2_3)
    assert await list_ids(uow_factory, ready) == ids([b])
    assert await list_ids(uow_factory, where("basics", "travel", q="a", **fi_2_3)) == ids([a])
    assert await list_ids(uow_factory, where("basics", "travel", q="b", **fi_2_3)) == []
    assert await list_ids(uow_factory, where("basics", locale="sv")) == []

    both = where("basics", "travel")
    assert await list_ids(uow_factory, both, ItemSort.CREATED_DESC) == ids([e, d, a])
    assert await list_ids(uow_factory, both, ItemSort.DIFFICULTY_ASC) == ids([a, e, d])
    assert await list_ids(uow_factory, both, ItemSort.DIFFICULTY_DESC) == ids([d, e, a])
    assert await list_ids(uow_factory, where("basics", **fi_2_3), ItemSort.CREATED_DESC) == ids(
        [b, a]
    )
    async with uow_factory() as uow:
        pages = [
            await uow.items.list(both, ItemSort.DIFFICULTY_DESC, PageRequest(n, 2))
            for n in (1, 2, 3)
        ]
        practiced = await uow.items.list(
            where("travel", practiced=True), ItemSort.CREATED_ASC, PageRequest()
        )
    assert [ids(p.rows) for p in pages] == [ids([d, e]), ids([a]), []]
    assert [p.total for p in pages] == [3, 3, 3]
    assert practiced.rows == [replace(a, practiced=True)]  # whole items, with their tags


async def test_tag_filters_sort_by_the_instant_whatever_the_offset(
    uow_factory: UnitOfWorkFactory,
) -> None:
    helsinki = timezone(timedelta(hours=2))
    first, second = await add_items(
        uow_factory,
        make_item("13:00Z", tags=["t"], created_at=datetime(2026, 11, 24, 15, 0, tzinfo=helsinki)),
        make_item("14:00Z", tags=["t"], created_at=datetime(2026, 11, 24, 14, 0, tzinfo=UTC)),
    )
    tagged = ItemFilter(tags=("t",))
    assert await list_ids(uow_factory, tagged, ItemSort.CREATED_ASC) == ids([first, second])
    assert await list_ids(uow_factory, tagged, ItemSort.CREATED_DESC) == ids([second, first])


async def test_tag_filters_follow_difficulty_and_tag_changes_and_deletes(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """What the SQL adapters copy into the tag rows (migration 0004) stays the item's own."""
    item, other = await add_items(
        uow_factory,
        make_item("x", difficulty=2, tags=["basics"]),
        make_item("y", difficulty=3, tags=["basics"], created_at=T0 + timedelta(seconds=1)),
    )
    easy = ItemFilter(tags=("basics",), locale="fi", difficulty_min=2, difficulty_max=2)
    hard = ItemFilter(tags=("basics",), locale="fi", difficulty_min=4, difficulty_max=5)
    assert await list_ids(uow_factory, easy) == ids([item])

    # PATCH …/difficulty
    harder = replace(item, difficulty=5, updated_at=T0 + timedelta(minutes=1))
    async with uow_factory() as uow:
        await uow.items.update(harder)
        assert await list_ids_in(uow, hard) == ids([item])  # inside the transaction too
        await uow.commit()
    assert await list_ids(uow_factory, easy) == []
    assert await list_ids(uow_factory, hard) == ids([item])
    by_difficulty = ItemFilter(tags=("basics",))
    assert await list_ids(uow_factory, by_difficulty, ItemSort.DIFFICULTY_DESC) == ids(
        [item, other]
    )
    assert await list_ids(uow_factory, by_difficulty, ItemSort.DIFFICULTY_ASC) == ids([other, item])
    async with uow_factory() as uow:
        page = await uow.items.list(hard, ItemSort.CREATED_DESC, PageRequest())
    assert page.rows == [harder] and page.total == 1

    # PATCH …/tags: the new rows carry the item's current locale and difficulty
    retagged = replace(harder, tags=["Travel", "food"], updated_at=T0 + timedelta(minutes=2))
    async with uow_factory() as uow:
        await uow.items.update(retagged)
        await uow.commit()
    travel_food = ItemFilter(tags=("travel", "food"), locale="fi", difficulty_min=5)
    assert await list_ids(uow_factory, hard) == []
    assert await list_ids(uow_factory, travel_food) == ids([item])

    # Both at once, then a TTS update that changes neither
    easier = replace(retagged, difficulty=1, tags=["food"], updated_at=T0 + timedelta(minutes=3))
    async with uow_factory() as uow:
        await uow.items.update(easier)
        await uow.commit()
    async with uow_factory() as uow:
        await uow.items.update(replace(easier, tts_status=TtsStatus.READY, audio_key="ab" * 32))
        await uow.commit()
    food_1 = ItemFilter(tags=("food",), locale="fi", difficulty_min=1, difficulty_max=1)
    assert await list_ids(uow_factory, food_1) == ids([item])
    assert await list_ids(uow_factory, travel_food) == []

    async with uow_factory() as uow:
        await uow.items.delete(item.id or 0)
        await uow.commit()
    async with uow_factory() as uow:
        gone = await uow.items.list(food_1, ItemSort.CREATED_DESC, PageRequest())
    assert gone.rows == [] and gone.total == 0
    assert await list_ids(uow_factory, ItemFilter(tags=("food",))) == []
    assert await list_ids(uow_factory, ItemFilter(tags=("basics",), locale="fi")) == ids([other])


async def test_q_matches_folded_text_literally(uow_factory: UnitOfWorkFactory) -> None:
    greeting, street, chinese, percent, nordic, spaced = await add_items(
        uow_factory,
        make_item("Hyvää huomenta!"),
        make_item("Die Straße ist lang"),
        make_item("我喜欢学习中文", locale="zh"),
        make_item("100% sure_thing"),
        make_item("Smørrebrød"),
        make_item("Many   spaced\twords"),
    )

    def q(raw: str) -> ItemFilter:
        return ItemFilter(q=fold(raw))

    assert await list_ids(uow_factory, q("hyvaa")) == ids([greeting])
    assert await list_ids(uow_factory, q("HYVÄÄ")) == ids([greeting])
    assert await list_ids(uow_factory, q("strasse")) == ids([street])
    assert await list_ids(uow_factory, q("STRASSE IST")) == ids([street])
    assert await list_ids(uow_factory, q("中文")) == ids([chinese])
    assert await list_ids(uow_factory, q("100%")) == ids([percent])
    assert await list_ids(uow_factory, q("%")) == ids([percent])
    assert await list_ids(uow_factory, q("_")) == ids([percent])
    assert await list_ids(uow_factory, q("1%")) == []
    assert await list_ids(uow_factory, q("h_vaa")) == []
    assert await list_ids(uow_factory, q("smørre")) == ids([nordic])
    assert await list_ids(uow_factory, q("smorre")) == []  # ø does not fold to o
    assert await list_ids(uow_factory, q("many spaced words")) == ids([spaced])
    assert await list_ids(uow_factory, q("huomenta ist")) == []


async def test_every_sort_breaks_ties_by_id(uow_factory: UnitOfWorkFactory) -> None:
    later = T0 + timedelta(microseconds=1)
    items = await add_items(
        uow_factory,
        make_item("a", difficulty=2, created_at=later),
        make_item("b", difficulty=1, created_at=T0),
        make_item("c", difficulty=2, created_at=T0),
        make_item("d", difficulty=1, created_at=later),
        make_item("e", difficulty=2, created_at=T0),
    )
    a, b, c, d, e = ids(items)

    assert await list_ids(uow_factory, sort=ItemSort.CREATED_ASC) == [b, c, e, a, d]
    assert await list_ids(uow_factory, sort=ItemSort.CREATED_DESC) == [d, a, e, c, b]
    assert await list_ids(uow_factory, sort=ItemSort.DIFFICULTY_ASC) == [b, d, a, c, e]
    assert await list_ids(uow_factory, sort=ItemSort.DIFFICULTY_DESC) == [e, c, a, d, b]


async def test_list_pages_and_totals(uow_factory: UnitOfWorkFactory) -> None:
    items = await add_items(
        uow_factory, *(make_item(f"{n}", created_at=T0 + timedelta(seconds=n)) for n in range(5))
    )
    async with uow_factory() as uow:
        first = await uow.items.list(ItemFilter(), ItemSort.CREATED_DESC, PageRequest(1, 2))
        last = await uow.items.list(ItemFilter(), ItemSort.CREATED_DESC, PageRequest(3, 2))
        past = await uow.items.list(ItemFilter(), ItemSort.CREATED_DESC, PageRequest(4, 2))
        none = await uow.items.list(ItemFilter(locale="xx"), ItemSort.CREATED_DESC, PageRequest())

    assert ids(first.rows) == ids(items)[::-1][:2] and first.total == 5 and first.total_pages == 3
    assert ids(last.rows) == ids(items)[:1] and last.total == 5
    assert past.rows == [] and past.total == 5 and past.total_pages == 3
    assert none.rows == [] and none.total == 0 and none.total_pages == 0


async def test_listed_items_carry_tags_in_stored_order(uow_factory: UnitOfWorkFactory) -> None:
    await add_items(
        uow_factory,
        make_item("x", tags=["zeta", "Alpha", "mu"]),
        make_item("y", tags=[]),
        make_item("z", tags=["b", "a"]),
    )
    async with uow_factory() as uow:
        page = await uow.items.list(ItemFilter(), ItemSort.CREATED_ASC, PageRequest())
    assert [i.tags for i in page.rows] == [["zeta", "Alpha", "mu"], [], ["b", "a"]]


async def test_pending_lists_waiting_items_by_ascending_id(uow_factory: UnitOfWorkFactory) -> None:
    items = await add_items(
        uow_factory,
        make_item("p1", created_at=T0 + timedelta(hours=1)),
        make_item("r", status=TtsStatus.READY),
        make_item("p2", created_at=T0),
        make_item("f", status=TtsStatus.FAILED),
        make_item("p3", tags=["t"]),
    )
    async with uow_factory() as uow:
        first = await uow.items.get(items[0].id or 0)
        assert first is not None
        first.tts_generation = 2  # a refreshed item waits for its second generation
        await uow.items.update(first)
        await uow.commit()
    async with uow_factory() as uow:
        pending = await uow.items.pending()
    assert pending == [(items[0].id, 2), (items[2].id, 1), (items[4].id, 1)]


# ----------------------------------------------------------------------------------------- tags


async def add_tag(factory: UnitOfWorkFactory, name: str) -> Tag:
    async with factory() as uow:
        tag = await uow.tags.add(Tag(name=name, created_at=T0))
        await uow.commit()
    return tag


async def test_tags_are_listed_by_casefolded_name_then_paged(
    uow_factory: UnitOfWorkFactory,
) -> None:
    names = ["beta", "Verbs", "alpha", "Äpfel", "éclair", "Zulu", "alphabet", "ABC"]
    added = {name: await add_tag(uow_factory, name) for name in names}
    assert added["Verbs"].name == "Verbs" and added["Verbs"].created_at == T0

    async with uow_factory() as uow:
        everything, total = await uow.tags.list(100, 0)
        middle, middle_total = await uow.tags.list(3, 2)
        beyond, beyond_total = await uow.tags.list(10, 50)

    # Code-point order of str.casefold(): non-ASCII letters sort after "z".
    expected = ["ABC", "alpha", "alphabet", "beta", "Verbs", "Zulu", "Äpfel", "éclair"]
    assert [t.name for t in everything] == expected
    assert [t.id for t in everything] == [added[n].id for n in expected]
    assert total == middle_total == beyond_total == 8
    assert [t.name for t in middle] == expected[2:5]
    assert beyond == []


async def test_duplicate_tag_names_are_refused_case_insensitively(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await add_tag(uow_factory, "Verbs")
    await add_tag(uow_factory, "Straße")
    for duplicate in ("verbs", "VERBS", "strasse", "STRASSE"):
        with pytest.raises(TagAlreadyExistsError) as raised:
            await add_tag(uow_factory, duplicate)
        assert raised.value.message == f"Tag with name '{duplicate}' already exists"
        if isinstance(uow_factory, SqlUnitOfWorkFactory):
            assert isinstance(raised.value.__cause__, IntegrityError)
    async with uow_factory() as uow:
        assert (await uow.tags.list(10, 0))[1] == 2


async def test_racing_duplicate_tags_end_in_one_conflict(uow_factory: UnitOfWorkFactory) -> None:
    async def add_second() -> Tag:
        async with uow_factory() as uow:
            tag = await uow.tags.add(Tag(name="verbs", created_at=T0))
            await uow.commit()
        return tag

    async with uow_factory() as first:
        await first.tags.add(Tag(name="Verbs", created_at=T0))
        second = asyncio.create_task(add_second())
        await asyncio.sleep(0.2)  # the second insert is now waiting on the first transaction
        await first.commit()
    with pytest.raises(TagAlreadyExistsError):
        await second
    async with uow_factory() as uow:
        tags, total = await uow.tags.list(10, 0)
    assert [t.name for t in tags] == ["Verbs"] and total == 1


async def test_tag_delete_reports_whether_it_existed(uow_factory: UnitOfWorkFactory) -> None:
    tag = await add_tag(uow_factory, "Verbs")
    await add_items(uow_factory, make_item(tags=["Verbs"]))
    async with uow_factory() as uow:
        assert await uow.tags.delete(tag.id or 0) is True
        assert await uow.tags.delete(tag.id or 0) is False
        assert await uow.tags.delete(0) is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tags.list(10, 0) == ([], 0)
        items = await uow.items.list(
            ItemFilter(tags=("verbs",)), ItemSort.CREATED_ASC, PageRequest()
        )
    assert items.total == 1  # item tags are independent of presets
    again = await add_tag(uow_factory, "verbs")
    assert again.name == "verbs"


# ------------------------------------------------------------------------------------- attempts


async def test_attempt_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    [item] = await add_items(uow_factory, make_item())
    moment = datetime(2026, 11, 24, 13, 40, 0, 123456, tzinfo=UTC)
    timed = make_attempt(
        item.id or 0,
        percentage=67,
        wer=1 / 3,
        duration_ms=5400,
        created_at=moment,
        text="  Minä  asun 中文 ",
    )
    untimed = make_attempt(item.id or 0, percentage=0, wer=1.0, created_at=moment)
    added = await add_attempts(uow_factory, timed, untimed)

    async with uow_factory() as uow:
        fetched = [await uow.attempts.get(a.id or 0) for a in added]
        assert await uow.attempts.get(9999) is None
    assert added == [replace(timed, id=added[0].id), replace(untimed, id=added[1].id)]
    assert fetched == added
    assert fetched[0] is not None and fetched[0].score.wer == 0.3333333333333333
    assert fetched[0].created_at.utcoffset() == timedelta(0)


async def test_attempts_list_newest_first_with_id_ties_and_inclusive_window(
    uow_factory: UnitOfWorkFactory,
) -> None:
    one, two = await add_items(uow_factory, make_item("one"), make_item("two"))
    t1, t2 = T0, T0 + timedelta(minutes=1)
    a, b, c, d = await add_attempts(
        uow_factory,
        make_attempt(one.id or 0, created_at=t1),
        make_attempt(two.id or 0, created_at=t2),
        make_attempt(one.id or 0, created_at=t2),
        make_attempt(one.id or 0, created_at=t1),
    )

    async def listed(
        item_id: int | None = None,
        window: TimeWindow | None = None,
        page: PageRequest | None = None,
    ) -> tuple[list[int | None], int]:
        async with uow_factory() as uow:
            result = await uow.attempts.list(item_id, window or TimeWindow(), page or PageRequest())
        return [x.id for x in result.rows], result.total

    assert await listed() == ([c.id, b.id, d.id, a.id], 4)
    assert await listed(item_id=one.id) == ([c.id, d.id, a.id], 3)
    assert await listed(item_id=0) == ([], 0)
    assert await listed(window=TimeWindow(since=t2)) == ([c.id, b.id], 2)
    assert await listed(window=TimeWindow(until=t1)) == ([d.id, a.id], 2)
    assert await listed(window=TimeWindow(since=t1, until=t1)) == ([d.id, a.id], 2)
    just_after = TimeWindow(
        since=t1 + timedelta(microseconds=1), until=t2 - timedelta(microseconds=1)
    )
    assert await listed(window=just_after) == ([], 0)
    assert await listed(page=PageRequest(2, 3)) == ([a.id], 4)
    assert await listed(page=PageRequest(3, 3)) == ([], 4)


# ---------------------------------------------------------------------------------- audio blobs


def make_blob(key: str = "ab" * 32, duration_ms: int = 800) -> AudioBlob:
    return AudioBlob(
        key=key,
        sha256="df" * 32,
        size_bytes=25_644,
        sample_rate=16_000,
        duration_ms=duration_ms,
        written_at=datetime(2026, 11, 24, 13, 40, 1, 654321, tzinfo=UTC),
    )


async def test_audio_blob_put_get_replace_delete(uow_factory: UnitOfWorkFactory) -> None:
    blob = make_blob()
    async with uow_factory() as uow:
        assert await uow.audio.get(blob.key) is None
        await uow.audio.put(blob)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.audio.get(blob.key) == blob
        replacement = replace(blob, sha256="ee" * 32, size_bytes=1, duration_ms=5, written_at=T0)
        await uow.audio.put(replacement)
        assert await uow.audio.get(blob.key) == replacement
        await uow.commit()
    async with uow_factory() as uow:
        fetched = await uow.audio.get(blob.key)
        assert fetched == replacement
        assert fetched is not None and fetched.written_at.utcoffset() == timedelta(0)
        await uow.audio.delete(blob.key)
        await uow.audio.delete("missing")
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.audio.get(blob.key) is None


async def test_audio_blob_writes_roll_back(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.audio.put(make_blob())
    async with uow_factory() as uow:
        assert await uow.audio.get(make_blob().key) is None


async def test_audio_key_references_follow_items(uow_factory: UnitOfWorkFactory) -> None:
    key = "cd" * 32
    [first, second] = await add_items(uow_factory, make_item("one"), make_item("two"))
    async with uow_factory() as uow:
        assert await uow.audio.is_referenced(key) is False
        for item in (first, second):
            await uow.items.update(replace(item, tts_status=TtsStatus.READY, audio_key=key))
        await uow.audio.put(make_blob(key, duration_ms=1234))
        assert await uow.audio.is_referenced(key) is True  # seen inside the transaction
        await uow.commit()

    async with uow_factory() as uow:
        fetched = await uow.items.get(first.id or 0)
        listed = await uow.items.list(ItemFilter(), ItemSort.CREATED_ASC, PageRequest())
        assert fetched is not None and fetched.audio_duration_ms == 1234
        assert [i.audio_duration_ms for i in listed.rows] == [1234, 1234]
        await uow.items.delete(first.id or 0)
        assert await uow.audio.is_referenced(key) is True
        await uow.items.update(replace(second, audio_key=None, tts_status=TtsStatus.PENDING))
        assert await uow.audio.is_referenced(key) is False
        pending = await uow.items.get(second.id or 0)
        assert pending is not None and pending.audio_duration_ms is None
        await uow.commit()


async def test_stored_keys_reports_stored_audio_only(uow_factory: UnitOfWorkFactory) -> None:
    # More keys than one statement may bind (Postgres: 32 767): the adapter must split them.
    keys = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(40_000)]
    stored = {*keys[::997], keys[-1]}
    async with uow_factory() as uow:
        for key in stored:
            await uow.audio.put(make_blob(key))
        await uow.commit()
    # Claims on a key without audio and on one with audio (a forced re-synthesis).
    claimed = [keys[1], keys[997]]
    async with uow_factory() as uow:
        for key in claimed:
            assert await uow.audio.claim(key, "owner", T0, T0 - timedelta(seconds=15))
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.audio.stored_keys(keys) == stored
        assert await uow.audio.stored_keys(claimed) == {keys[997]}
        # SQL keeps a claim under a derived key of 64 hex digits: asked for, it is still no audio.
        assert await uow.audio.stored_keys([claim_key(key) for key in claimed]) == set()
        assert await uow.audio.stored_keys([]) == set()


# ---------------------------------------------------------------------------------------- stats


async def seed_stats_example(factory: UnitOfWorkFactory) -> tuple[Item, Item]:
    """The data set of API §3.16–3.19."""
    asun, hyvaa = await add_items(
        factory,
        make_item("Minä asun Helsingissä.", difficulty=1, tags=[], created_at=T0),
        make_item("Hyvää huomenta!", tags=["greetings", "basics"], created_at=T0),
    )
    await add_attempts(
        factory,
        make_attempt(asun.id or 0, percentage=67, wer=1 / 3, duration_ms=5400, created_at=T0),
        make_attempt(hyvaa.id or 0, percentage=100, wer=0.0, created_at=T0 + timedelta(minutes=2)),
        make_attempt(
            hyvaa.id or 0,
            percentage=50,
            wer=0.5,
            duration_ms=12000,
            created_at=T0 + timedelta(minutes=5),
        ),
    )
    return asun, hyvaa


async def test_summary_matches_the_documented_example(uow_factory: UnitOfWorkFactory) -> None:
    await seed_stats_example(uow_factory)
    async with uow_factory() as uow:
        aggregate, unique = await uow.stats.summary(
            TimeWindow(since=datetime(2026, 11, 1, tzinfo=UTC))
        )
        inclusive, inclusive_unique = await uow.stats.summary(
            TimeWindow(since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=5))
        )
        empty = await uow.stats.summary(TimeWindow(until=T0 - timedelta(microseconds=1)))

    assert unique == 2
    assert (aggregate.count, aggregate.percentage_sum) == (3, 217)
    assert (aggregate.percentage_min, aggregate.percentage_max) == (50, 100)
    assert (aggregate.wer_min, aggregate.wer_max) == (0.0, 0.5)
    assert (aggregate.timed_ms_sum, aggregate.untimed_count) == (17400, 1)
    assert aggregate.first_at == T0 and aggregate.last_at == T0 + timedelta(minutes=5)
    assert aggregate.average_percentage == 72.33
    assert aggregate.average_wer == 0.2778
    assert aggregate.practice_minutes == 0.8
    assert (inclusive.count, inclusive_unique, inclusive.average_percentage) == (2, 1, 75.0)
    assert empty == (AttemptAggregate(), 0)


async def test_practice_log_matches_the_documented_example(uow_factory: UnitOfWorkFactory) -> None:
    asun, hyvaa = await seed_stats_example(uow_factory)
    async with uow_factory() as uow:
        first = await uow.stats.practice_log(TimeWindow(), PageRequest(1, 1))
        second = await uow.stats.practice_log(TimeWindow(), PageRequest(2, 1))
        past = await uow.stats.practice_log(TimeWindow(), PageRequest(3, 1))
        windowed = await uow.stats.practice_log(
            TimeWindow(until=T0 + timedelta(minutes=2)), PageRequest()
        )

    [entry] = first.rows
    assert (first.total, first.total_pages) == (2, 2)
    assert (entry.item_id, entry.text, entry.locale, entry.difficulty) == (
        hyvaa.id,
        "Hyvää huomenta!",
        "fi",
        1,
    )
    assert entry.tags == ["greetings", "basics"]
    agg = entry.aggregate
    assert (agg.count, agg.first_at, agg.last_at) == (
        2,
        T0 + timedelta(minutes=2),
        T0 + timedelta(minutes=5),
    )
    assert (agg.average_percentage, agg.percentage_max, agg.percentage_min) == (75.0, 100, 50)
    assert agg.average_wer == 0.25
    assert [e.item_id for e in second.rows] == [asun.id] and second.rows[0].tags == []
    assert past.rows == [] and past.total == 2
    # Aggregates use in-window attempts only; the order follows the in-window last attempt.
    assert [(e.item_id, e.aggregate.count) for e in windowed.rows] == [(hyvaa.id, 1), (asun.id, 1)]
    assert windowed.rows[0].aggregate.average_percentage == 100.0


async def test_practice_log_ties_break_by_item_id_descending(
    uow_factory: UnitOfWorkFactory,
) -> None:
    items = await add_items(uow_factory, make_item("a"), make_item("b"), make_item("c"))
    await add_attempts(uow_factory, *(make_attempt(i.id or 0, created_at=T0) for i in items))
    async with uow_factory() as uow:
        log = await uow.stats.practice_log(TimeWindow(), PageRequest())
    assert [e.item_id for e in log.rows] == ids(items)[::-1]


async def test_item_stats_match_the_documented_example(uow_factory: UnitOfWorkFactory) -> None:
    _, hyvaa = await seed_stats_example(uow_factory)
    [unpractised] = await add_items(uow_factory, make_item("never"))
    async with uow_factory() as uow:
        stats = await uow.stats.item(hyvaa.id or 0)
        none = await uow.stats.item(unpractised.id or 0)
        unknown = await uow.stats.item(9999)

    assert (stats.count, stats.first_at, stats.last_at) == (
        2,
        T0 + timedelta(minutes=2),
        T0 + timedelta(minutes=5),
    )
    assert (stats.average_percentage, stats.percentage_max, stats.percentage_min) == (75.0, 100, 50)
    assert (stats.average_wer, stats.wer_min, stats.wer_max) == (0.25, 0.0, 0.5)
    assert none == unknown == AttemptAggregate()


async def test_daily_groups_by_utc_date(uow_factory: UnitOfWorkFactory) -> None:
    asun, hyvaa = await seed_stats_example(uow_factory)
    helsinki = timezone(timedelta(hours=2))
    await add_attempts(
        uow_factory,
        # 01:30 in Helsinki on the 25th is still the 24th in UTC.
        make_attempt(
            asun.id or 0, percentage=10, created_at=datetime(2026, 11, 25, 1, 30, tzinfo=helsinki)
        ),
        make_attempt(
            asun.id or 0,
            percentage=20,
            created_at=datetime(2026, 11, 22, 23, 59, 59, 999999, tzinfo=UTC),
        ),
        make_attempt(asun.id or 0, percentage=30, created_at=datetime(2026, 11, 25, tzinfo=UTC)),
        make_attempt(
            asun.id or 0,
            percentage=40,
            created_at=datetime(2026, 11, 21, 23, 59, 59, 999999, tzinfo=UTC),
        ),
    )
    first, last = date(2026, 11, 22), date(2026, 11, 24)
    async with uow_factory() as uow:
        everything = await uow.stats.daily(first, last, None)
        only_hyvaa = await uow.stats.daily(first, last, hyvaa.id)
        nothing = await uow.stats.daily(first, last, 9999)

    assert sorted(everything) == [date(2026, 11, 22), date(2026, 11, 24)]
    assert everything[date(2026, 11, 22)].percentage_sum == 20
    day = everything[date(2026, 11, 24)]
    assert (day.count, day.percentage_sum, day.average_wer) == (4, 227, round((1 / 3 + 0.5) / 4, 4))
    assert list(only_hyvaa) == [date(2026, 11, 24)]
    assert (
        only_hyvaa[date(2026, 11, 24)].count,
        only_hyvaa[date(2026, 11, 24)].average_percentage,
    ) == (
        2,
        75.0,
    )
    assert nothing == {}


async def test_every_backend_computes_identical_statistics(
    migrated_sqlite_url: str, migrated_postgres_url: str
) -> None:
    """A pseudo-random data set through all three adapters: answers agree after rounding."""
    rng = random.Random(20261124)
    start = datetime(2026, 11, 20, 22, tzinfo=UTC)
    items = [make_item(f"item {n}", tags=[f"t{n % 3}"]) for n in range(6)]
    attempt_plan = [
        (
            rng.randrange(len(items)),
            rng.randint(0, 100),
            rng.random(),
            rng.choice([None, rng.randint(0, 90_000)]),
            start
            + timedelta(minutes=rng.randint(0, 5 * 24 * 60), microseconds=rng.randint(0, 999_999)),
        )
        for _ in range(60)
    ]

    async def answers(url: str | None) -> object:
        async for factory in _factory(url):
            added = await add_items(factory, *items)
            await add_attempts(
                factory,
                *(
                    make_attempt(added[i].id or 0, percentage=p, wer=w, duration_ms=d, created_at=t)
                    for i, p, w, d, t in attempt_plan
                ),
            )
            window = TimeWindow(since=start + timedelta(days=1), until=start + timedelta(days=4))
            async with factory() as uow:
                summary, unique = await uow.stats.summary(window)
                log = await uow.stats.practice_log(window, PageRequest(1, 100))
                per_item = [await uow.stats.item(i.id or 0) for i in added]
                daily = await uow.stats.daily(date(2026, 11, 19), date(2026, 11, 26), None)
            return (
                rounded(summary),
                unique,
                [(e.item_id, e.tags, rounded(e.aggregate)) for e in log.rows],
                log.total,
                [rounded(a) for a in per_item],
                {day: rounded(a) for day, a in sorted(daily.items())},
            )
        raise AssertionError("no factory")

    memory = await answers(None)
    assert memory == await answers(migrated_sqlite_url)
    assert memory == await answers(migrated_postgres_url)


def rounded(aggregate: AttemptAggregate) -> tuple[object, ...]:
    """Everything the API shows: exact fields and the domain's rounded means."""
    return (
        aggregate.count,
        aggregate.percentage_sum,
        aggregate.percentage_min,
        aggregate.percentage_max,
        aggregate.wer_min,
        aggregate.wer_max,
        aggregate.timed_ms_sum,
        aggregate.untimed_count,
        aggregate.first_at,
        aggregate.last_at,
        aggregate.average_percentage,
        aggregate.average_wer,
        aggregate.practice_minutes,
    )
