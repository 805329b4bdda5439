"""Attempt request and response bodies (API §2.2, §3.13–3.15)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from domain.attempts import MAX_ATTEMPT_TEXT_LENGTH, MAX_DURATION_MS, Attempt
from domain.pages import Page
from domain.scoring import AlignmentOp
from entrypoints.http.params import INT64_MAX, INT64_MIN
from entrypoints.http.schemas.common import (
    AlignmentKindName,
    Percentage,
    Schema,
    Timestamp,
    WordErrorRate,
    timestamp,
)

# `extra` restates bounds Litestar's OpenAPI would get wrong: it writes them as floats
# (INT64_MAX becomes 9.223372036854776e18, above the real limit) and drops a zero minimum.
ItemId = Annotated[
    int,
    msgspec.Meta(
        ge=INT64_MIN,
        le=INT64_MAX,
        extra_json_schema={"extra": {"minimum": INT64_MIN, "maximum": INT64_MAX}},
    ),
]
AttemptText = Annotated[str, msgspec.Meta(max_length=MAX_ATTEMPT_TEXT_LENGTH)]
DurationMs = Annotated[
    int, msgspec.Meta(ge=0, le=MAX_DURATION_MS, extra_json_schema={"extra": {"minimum": 0}})
]


class AttemptCreate(Schema):
    item_id: ItemId
    text: AttemptText
    duration_ms: DurationMs | None = None


class AlignmentOpRead(Schema):
    op: AlignmentKindName
    ref: str | None
    hyp: str | None

    @classmethod
    def of(cls, op: AlignmentOp) -> AlignmentOpRead:
        return cls(op=op.op.value, ref=op.ref, hyp=op.hyp)


class AttemptRead(Schema):
    id: int
    item_id: int
    text: str
    percentage: Percentage
    wer: WordErrorRate
    words_ref: int
    words_correct: int
    created_at: Timestamp
    substitutions: int
    deletions: int
    insertions: int
    alignment: list[AlignmentOpRead]
    duration_ms: int | None

    @classmethod
    def of(cls, attempt: Attempt) -> AttemptRead:
        assert attempt.id is not None
        score = attempt.score
        return cls(
            id=attempt.id,
            item_id=attempt.item_id,
            text=attempt.text,
            percentage=score.percentage,
            wer=score.wer,
            words_ref=score.words_ref,
            words_correct=score.words_correct,
            created_at=timestamp(attempt.created_at),
            substitutions=score.substitutions,
            deletions=score.deletions,
            insertions=score.insertions,
            alignment=[AlignmentOpRead.of(op) for op in score.alignment],
            duration_ms=attempt.duration_ms,
        )


class AttemptPage(Schema):
    attempts: list[AttemptRead]
    total: int
    page: int
    per_page: int
    total_pages: int

    @classmethod
    def of(cls, page: Page[Attempt]) -> AttemptPage:
        return cls(
            attempts=[AttemptRead.of(a) for a in page.rows],
            total=page.total,
            page=page.request.page,
            per_page=page.request.per_page,
            total_pages=page.total_pages,
        )
