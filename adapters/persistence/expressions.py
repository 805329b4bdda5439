"""SQL expressions whose spelling differs between SQLite and Postgres, compiled per dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class utc_date(FunctionElement[Any]):  # named like the SQL function it stands for
    """The UTC calendar date of a timestamp column (`DateTimeUTC`)."""

    type = Date()
    inherit_cache = True
    name = "utc_date"


@compiles(utc_date, "sqlite")
def _utc_date_sqlite(element: utc_date, compiler: SQLCompiler, **kw: Any) -> str:
    # DateTimeUTC stores UTC text ('YYYY-MM-DD HH:MM:SS.ffffff') on SQLite.
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(utc_date, "postgresql")
def _utc_date_postgresql(element: utc_date, compiler: SQLCompiler, **kw: Any) -> str:
    # timestamptz → wall-clock time in UTC → date, independent of the session's TimeZone.
    return f"CAST(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC' AS DATE)"


class _position(FunctionElement[int]):
    """1-based position of `needle` in `haystack`, 0 when absent."""

    type = Integer()
    inherit_cache = True
    name = "position"


@compiles(_position, "sqlite")
def _position_sqlite(element: _position, compiler: SQLCompiler, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)})"


@compiles(_position, "postgresql")
def _position_postgresql(element: _position, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strpos({compiler.process(element.clauses, **kw)})"


def contains_literal(
    haystack: ColumnElement[str] | QueryableAttribute[str], needle: str
) -> ColumnElement[bool]:
    """`needle` occurs in `haystack` as is: no LIKE wildcards, no collation-dependent matching."""
    return _position(haystack, needle) > 0
