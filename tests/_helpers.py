"""Assertions shared by the test modules."""

from __future__ import annotations

from pathlib import Path

from census_sources.errors import SourceTableError


def assert_located(
    err: SourceTableError, file: Path | str, row: int | None, column: str | None, sheet: str | None = None
) -> None:
    """The error names exactly this file, row, column (and sheet), in its attributes and in its message."""
    assert isinstance(err, SourceTableError)
    msg = str(err)
    assert err.file == str(file)
    assert msg.startswith(str(file))
    assert err.row == row, msg
    assert err.column == column, msg
    if row is not None:
        assert f"row {row}" in msg
    if column is not None:
        assert f"column {column!r}" in msg
    if sheet is not None:
        assert err.sheet == sheet
        assert f"sheet {sheet!r}" in msg
