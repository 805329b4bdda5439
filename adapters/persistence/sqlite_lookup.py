"""`ItemLookup` for a SQLite file: the hot reads on the event loop's own thread.

Through SQLAlchemy and aiosqlite one item costs about a dozen hops to the driver's thread and
back (session, connection, two statements, rollback), ~2 ms for a read SQLite answers in tens of
microseconds. This lookup keeps one plain `sqlite3` connection and reads inline instead. It can
never wait on a lock: in WAL mode readers do not take the writer's lock, and `busy_timeout=0`
turns the rare moments a reader would have to wait (WAL recovery, another journal mode) into an
immediate error, on which the read goes the portable way (`fallback`) on the driver's thread.

The item list runs the repository's own statements (`list_items`) in a synchronous session on
the same connection. Filters no index serves well (a text search, say) can make SQLite work for
long, which must not stall the event loop: SQLite interrupts a statement of an inline list once
it has used `INLINE_LIST_SECONDS` of CPU, and the list is read again on the driver's thread.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from adapters.persistence.inline_sqlite import connect_inline, sqlite_error_code
from adapters.persistence.items import list_items
from application.ports import ItemLookup
from domain.items import Item, ItemText, TtsStatus
from domain.listing import ItemFilter, ItemSort
from domain.pages import Page, PageRequest

# One statement, so one snapshot: the item, its tags (in position order: the subquery walks the
# primary key (item_id, position)), whether it has attempts and its audio's duration.
_ITEM = """
SELECT id, locale, text, difficulty, tts_status, tts_error, tts_generation, audio_key,
       tts_provider, tts_voice, created_at, updated_at,
       EXISTS (SELECT 1 FROM attempts WHERE attempts.item_id = items.id),
       (SELECT duration_ms FROM audio_blobs WHERE audio_blobs.key = items.audio_key),
       (SELECT json_group_array(name) FROM (
           SELECT name FROM item_tags WHERE item_tags.item_id = items.id ORDER BY position
       ))
FROM items WHERE id = ?
"""
# Scoring reads only this: one B-tree, and no pages of the attempts that are being written.
_ITEM_TEXT = "SELECT text, locale FROM items WHERE id = ?"


# The most CPU time one statement of an inline list may take on the event loop's thread. The
# benchmark's filtered list (100,000 items) needs 0.5 ms for its slowest statement, and once in
# a few thousand runs 2 ms on this VM; a list sent to the driver's thread instead waits for a
# dozen turns of the event loop, which under load take long. A list that needs more pays this
# much again (a text search over 100,000 items: 12.7 -> 18 ms).
INLINE_LIST_SECONDS = 0.005
_PROGRESS_STEPS = 1_000  # SQLite virtual-machine steps between two looks at the clock

_STATUSES = {status.value: status for status in TtsStatus}  # a dict lookup: Enum() is slow


def _instant(stored: str) -> datetime:
    # `DateTimeUTC` stores naive UTC text on SQLite. Parsing it with the offset appended is
    # five times faster than parsing and then `.replace(tzinfo=...)`.
    return datetime.fromisoformat(stored if stored[-6] in "+-" else stored + "+00:00")


def _item(row: Any) -> Item:
    (
        id_,
        locale,
        text,
        difficulty,
        status,
        error,
        generation,
        audio_key,
        provider,
        voice,
        created_at,
        updated_at,
        practiced,
        duration_ms,
        tags,
    ) = row
    return Item(
        id=id_,
        locale=locale,
        text=text,
        difficulty=difficulty,
        tags=[] if tags == "[]" else json.loads(tags),
        created_at=_instant(created_at),
        updated_at=_instant(updated_at),
        tts_provider=provider,
        tts_voice=voice,
        tts_status=_STATUSES[status],
        tts_error=error,
        tts_generation=generation,
        audio_key=audio_key,
        practiced=bool(practiced),
        audio_duration_ms=duration_ms,
    )


class SqliteItemLookup(ItemLookup):
    def __init__(self, path: Path, fallback: ItemLookup) -> None:
        self._path = path
        self._fallback = fallback
        self._connection: sqlite3.Connection | None = None
        self._engine: Engine | None = None
        self._deadline = 0.0

    async def get(self, item_id: int) -> Item | None:
        try:
            row = self._row(_ITEM, item_id)
        except sqlite3.Error:
            # Busy, or not readable yet (no file, no tables): start afresh next time and let
            # the portable path answer (or raise) now.
            self.close()
            return await self._fallback.get(item_id)
        return None if row is None else _item(row)

    async def text(self, item_id: int) -> ItemText | None:
        try:
            row = self._row(_ITEM_TEXT, item_id)
        except sqlite3.Error:
            self.close()
            return await self._fallback.text(item_id)
        return None if row is None else ItemText(*row)

    async def list(self, where: ItemFilter, sort: ItemSort, page: PageRequest) -> Page[Item]:
        try:
            return self._list(where, sort, page)
        except (sqlite3.Error, DBAPIError) as exc:  # SQLAlchemy wraps the errors of statements
            if not _interrupted(exc):
                self.close()
            return await self._fallback.list(where, sort, page)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _connect(self) -> sqlite3.Connection:
        # Autocommit: each read sees the latest commit, and no read transaction stays open to
        # hold back WAL checkpoints. Pages come through the memory map (`SQLITE_PRAGMAS`): a
        # single item in process, over 100,000 items, 145 -> 131 µs.
        connection = connect_inline(self._path)
        connection.execute("PRAGMA query_only=ON")
        return connection

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = self._connect()
        return self._connection

    def _row(self, statement: str, item_id: int) -> Any:
        return self._open().execute(statement, (item_id,)).fetchone()

    def _list(self, where: ItemFilter, sort: ItemSort, page: PageRequest) -> Page[Item]:
        connection = self._open()
        if self._engine is None:
            # The connection itself, never a second one: StaticPool hands out only this.
            self._engine = create_engine(
                "sqlite://", creator=lambda: connection, poolclass=StaticPool
            )
            event.listen(self._engine, "before_cursor_execute", self._start_clock)
        self._start_clock()  # for what SQLAlchemy runs on a new connection, too
        connection.set_progress_handler(self._over_time, _PROGRESS_STEPS)
        try:
            with Session(self._engine) as session:
                return list_items(session, where, sort, page)
        finally:
            connection.set_progress_handler(None, 0)

    def _start_clock(self, *_: object) -> None:
        # Per statement, once compiled: building and compiling SQL is the same work inline or
        # not, and the first use of a statement compiles it. CPU time of this thread, so that
        # moments the process is not running (a loaded machine) do not count.
        self._deadline = time.thread_time() + INLINE_LIST_SECONDS

    def _over_time(self) -> bool:
        return time.thread_time() > self._deadline


def _interrupted(exc: sqlite3.Error | DBAPIError) -> bool:
    return sqlite_error_code(exc) == sqlite3.SQLITE_INTERRUPT
