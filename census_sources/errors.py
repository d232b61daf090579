"""One error type for every malformed source table: it names the file, the row and the column."""

from __future__ import annotations

from pathlib import Path


class SourceTableError(ValueError):
    """A source table that cannot be used as it is.

    ``row`` is the 1-based line number in the file as a person sees it in an editor (the header of a CSV is
    line 1; for spreadsheets, the 1-based row of the sheet). ``column`` is the column's name as written in
    the file (or its letter/number where the file has no name for it).
    """

    def __init__(
        self,
        file: str | Path,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        sheet: str | None = None,
    ) -> None:
        self.file = str(file)
        self.row = row
        self.column = column
        self.sheet = sheet
        self.reason = message
        where = [self.file]
        if sheet is not None:
            where.append(f"sheet {sheet!r}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}")
