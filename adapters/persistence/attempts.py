"""Attempts in SQL (API §2.2, §3.14)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.records import AttemptRecord
from application.ports import AttemptRepository
from domain.attempts import Attempt
from domain.pages import Page, PageRequest
from domain.scoring import AlignmentKind, AlignmentOp, Score
from domain.stats import TimeWindow


def window_conditions(window: TimeWindow) -> list[ColumnElement[bool]]:
    """`since <= created_at <= until`, each bound optional (API §1.4)."""
    conditions: list[ColumnElement[bool]] = []
    if window.since is not None:
        conditions.append(AttemptRecord.created_at >= window.since)
    if window.until is not None:
        conditions.append(AttemptRecord.created_at <= window.until)
    return conditions


def _alignment_document(alignment: tuple[AlignmentOp, ...]) -> list[dict[str, Any]]:
    return [{"op": op.op.value, "ref": op.ref, "hyp": op.hyp} for op in alignment]


def _alignment(document: list[dict[str, Any]]) -> tuple[AlignmentOp, ...]:
    return tuple(AlignmentOp(AlignmentKind(op["op"]), op["ref"], op["hyp"]) for op in document)


def _to_record(attempt: Attempt) -> AttemptRecord:
    score = attempt.score
    return AttemptRecord(
        item_id=attempt.item_id,
        text=attempt.text,
        percentage=score.percentage,
        wer=score.wer,
        words_ref=score.words_ref,
        words_correct=score.words_correct,
        substitutions=score.substitutions,
        deletions=score.deletions,
        insertions=score.insertions,
        alignment=_alignment_document(score.alignment),
        duration_ms=attempt.duration_ms,
        created_at=attempt.created_at,
    )


def _to_entity(record: AttemptRecord) -> Attempt:
    return Attempt(
        id=record.id,
        item_id=record.item_id,
        text=record.text,
        score=Score(
            wer=record.wer,
            percentage=record.percentage,
            words_ref=record.words_ref,
            words_correct=record.words_correct,
            substitutions=record.substitutions,
            deletions=record.deletions,
            insertions=record.insertions,
            alignment=_alignment(record.alignment),
        ),
        created_at=record.created_at.astimezone(UTC),  # fresh records hold the caller's value
        duration_ms=record.duration_ms,
    )


class SqlAttemptRepository(AttemptRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, attempt: Attempt) -> Attempt:
        record = _to_record(attempt)
        self._session.add(record)
        await self._session.flush()
        return _to_entity(record)

    async def get(self, attempt_id: int) -> Attempt | None:
        record = await self._session.get(AttemptRecord, attempt_id)
        return None if record is None else _to_entity(record)

    async def list(
        self, item_id: int | None, window: TimeWindow, page: PageRequest
    ) -> Page[Attempt]:
        conditions = window_conditions(window)
        if item_id is not None:
            conditions.append(AttemptRecord.item_id == item_id)
        total = int(
            await self._session.scalar(
                select(func.count()).select_from(AttemptRecord).where(*conditions)
            )
            or 0
        )
        if page.offset >= total:
            return Page(rows=[], total=total, request=page)
        records = await self._session.scalars(
            select(AttemptRecord)
            .where(*conditions)
            .order_by(AttemptRecord.created_at.desc(), AttemptRecord.id.desc())
            .limit(page.per_page)
            .offset(page.offset)
        )
        return Page(rows=[_to_entity(r) for r in records], total=total, request=page)
