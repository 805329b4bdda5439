"""The base struct, timestamps and the error body shared by every schema module."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from domain.items import TtsStatus
from domain.scoring import AlignmentKind


class Schema(msgspec.Struct):
    """Base of every body: snake_case fields, unknown request fields ignored."""


# Response-only field types. Their constraints are documentation: msgspec checks them only when
# decoding, and responses are only encoded. They put API §1.4 and the enumerations into the
# OpenAPI schema, where clients and the fuzz test (tests/fuzz) can check them.
Timestamp = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{6}Z$",
        extra_json_schema={"extra": {"format": "date-time"}},
    ),
]
CalendarDate = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", extra_json_schema={"extra": {"format": "date"}}
    ),
]
TtsStatusName = Annotated[
    str, msgspec.Meta(extra_json_schema={"extra": {"enum": [s.value for s in TtsStatus]}})
]
AlignmentKindName = Annotated[
    str, msgspec.Meta(extra_json_schema={"extra": {"enum": [k.value for k in AlignmentKind]}})
]
HealthWord = Annotated[
    str, msgspec.Meta(extra_json_schema={"extra": {"enum": ["healthy", "unhealthy"]}})
]
# Litestar's OpenAPI drops a zero minimum, hence the `extra`.
Percentage = Annotated[int, msgspec.Meta(ge=0, le=100, extra_json_schema={"extra": {"minimum": 0}})]
WordErrorRate = Annotated[
    float, msgspec.Meta(ge=0, le=1, extra_json_schema={"extra": {"minimum": 0}})
]


def timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with exactly 6 fractional digits and `Z` (API §1.4)."""
    # %-formatting the fields: 0.8 µs, against 1.4 µs for an f-string with the same specifiers
    # and 2.3 µs for isoformat (which asks the zone for its offset) or strftime. An item has two
    # timestamps, a page of items forty and more.
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
    )


class ErrorProblem(Schema):
    key: str
    message: str
    source: str


class ErrorBody(Schema, omit_defaults=True):
    status_code: int
    detail: str
    extra: list[ErrorProblem] | dict[str, Any] | None = None
