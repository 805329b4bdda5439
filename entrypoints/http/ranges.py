"""HTTP caching and byte-range rules for the audio endpoint (API §3.10), as pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True, slots=True)
class ByteRange:
    first: int
    last: int  # inclusive

    @property
    def length(self) -> int:
        return self.last - self.first + 1


class Unsatisfiable(Exception):
    pass


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _parse_http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def not_modified(
    etag: str, last_modified: datetime, if_none_match: str | None, if_modified_since: str | None
) -> bool:
    """If-None-Match (weak comparison, `*`) decides; If-Modified-Since only when it is absent."""
    if if_none_match is not None:
        tags = [t.strip() for t in if_none_match.split(",")]
        return "*" in tags or any(_opaque(t) == etag for t in tags if t)
    if if_modified_since is not None:
        since = _parse_http_date(if_modified_since)
        return since is not None and since >= last_modified.replace(microsecond=0)
    return False


def range_applies(etag: str, last_modified: datetime, if_range: str | None) -> bool:
    """If-Range matches by strong ETag or by an HTTP-date equal to Last-Modified."""
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith(('"', "W/")):
        return value == etag  # strong comparison: a weak tag never matches
    since = _parse_http_date(value)
    return since is not None and since == last_modified.replace(microsecond=0)


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """One `bytes=` range; invalid syntax, other units or several ranges are ignored (None)."""
    if header is None:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None
    start, end = match.groups()
    if not start and not end:
        return None
    if not start:  # suffix: the last n bytes
        suffix = int(end)
        if suffix == 0 or size == 0:
            raise Unsatisfiable()
        return ByteRange(max(size - suffix, 0), size - 1)
    first = int(start)
    last = int(end) if end else size - 1
    if end and last < first:
        return None
    if first >= size:
        raise Unsatisfiable()
    return ByteRange(first, min(last, size - 1))
