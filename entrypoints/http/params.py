"""Parsing of path and query values whose rules differ from Litestar's defaults (API §1.1, §1.3)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time

from domain.errors import InvalidInputError, Problem

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "off", "0"})


class EdgeInputError(InvalidInputError):
    """An invalid path or query value; `source` says which."""

    def __init__(self, source: str, key: str, message: str) -> None:
        super().__init__(Problem(key, message))
        self.source = source


def path_id(raw: str, key: str) -> int:
    """A decimal id in the signed 64-bit range; anything else is a 422, not a 404."""
    text = raw.strip()
    digits = text[1:] if text[:1] in "+-" else text
    if not digits.isascii() or not digits.isdigit():
        raise EdgeInputError("path", key, "Expected a decimal integer")
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise EdgeInputError("path", key, "Integer out of the signed 64-bit range")
    return value


def text_query(raw: str | None) -> str | None:
    """An empty string query value counts as not given."""
    return raw if raw else None


def bool_query(raw: str | None, key: str) -> bool | None:
    if not raw:
        return None
    word = raw.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise EdgeInputError("query", key, "Expected a boolean (true/false, yes/no, on/off, 1/0)")


def datetime_query(raw: str | None, key: str) -> datetime | None:
    """ISO 8601 with or without offset, or a bare date; naive values are UTC."""
    if not raw:
        return None
    text = raw.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise EdgeInputError(
            "query", key, "Expected an ISO 8601 datetime or date, e.g. 2026-11-24T15:00:00+02:00"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def as_query_error(exc: InvalidInputError) -> EdgeInputError:
    """Re-label a domain rule's problem (e.g. an invalid locale filter) as a query problem."""
    problem = exc.problems[0]
    return EdgeInputError("query", problem.key, problem.message)


def tag_filters(raw: Sequence[str] | None) -> tuple[str, ...]:
    values = [v.strip() for v in raw or () if v.strip()]
    if len(values) > 20:
        raise EdgeInputError("query", "tag", "At most 20 tag filters allowed")
    return tuple(dict.fromkeys(v.casefold() for v in values))
