"""The base struct, timestamps and the error body shared by every schema module."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec


class Schema(msgspec.Struct):
    """Base of every body: snake_case fields, unknown request fields ignored."""


def timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with exactly 6 fractional digits and `Z` (API §1.4)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ErrorProblem(Schema):
    key: str
    message: str
    source: str


class ErrorBody(Schema, omit_defaults=True):
    status_code: int
    detail: str
    extra: list[ErrorProblem] | dict[str, Any] | None = None
