"""Where a row of a tidy table came from, for error messages: the raw file, line and column it was parsed from
(rows carrying a :data:`~census_sources.errors.WHERE` location), else its line in the snapshot file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from census_sources.errors import WHERE, SourceLocation, SourceTableError

#: Line number of the first data row in a snapshot CSV (line 1 is the header).
FIRST_DATA_LINE = 2


def line_of(index: int) -> int:
    return index + FIRST_DATA_LINE


def visible(columns: list[str]) -> list[str]:
    """The table's own columns (hidden ones, like the raw location, start with ``_``)."""
    return [c for c in columns if not c.startswith("_")]


def error_at(df: pd.DataFrame, index: int, file: str | Path, message: str, column: str) -> SourceTableError:
    """The error for row ``index`` of ``df`` and its tidy ``column`` (a key or the value): at the raw place the
    row came from when it carries one, else at its line of the snapshot file."""
    where = df.at[index, WHERE] if WHERE in df.columns else None
    if isinstance(where, SourceLocation):
        return where.error(message, column)
    return SourceTableError(file, message, row=line_of(index), column=column)


def file_of(df: pd.DataFrame, file: str | Path, match: dict[str, object] | None = None) -> str:
    """The raw file of the rows most like ``match`` (same values on the most keys), else ``file``."""
    if WHERE not in df.columns or df.empty:
        return str(file)
    score = pd.Series(0, index=df.index)
    for key, value in (match or {}).items():
        score += (df[key] == value).astype(int)
    where = df.at[score.idxmax(), WHERE]
    return where.file if isinstance(where, SourceLocation) else str(file)


def last_row(df: pd.DataFrame) -> int | None:
    """The last raw line the parsed rows came from (None for a loaded snapshot)."""
    if WHERE not in df.columns:
        return None
    rows = [w.row for w in df[WHERE] if isinstance(w, SourceLocation) and w.row is not None]
    return max(rows) if rows else None
