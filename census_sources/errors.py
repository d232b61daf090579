"""One error type for every malformed source table: it names the file, the row and the column; and the place in a
raw file that each parsed row came from, so that checks run after parsing can name it too."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: Hidden column of a parsed (not yet written) table: the :class:`SourceLocation` of each row's figure.
WHERE = "_where"


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


@dataclass(frozen=True)
class SourceLocation:
    """Where a parsed row came from: the raw ``file``, its ``row`` (as :class:`SourceTableError` counts rows) and
    the ``column`` of the figure (its name in the file, or its letter in a spreadsheet), the ``sheet``, and the
    raw column each key was read from (``keys``, e.g. ``{"planning_area": "PA"}``; keys not listed were read from
    the figure's column, as in a wide table whose header names the category)."""

    file: str
    row: int | None = None
    column: str | None = None
    sheet: str | None = None
    keys: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def column_of(self, key: str | None) -> str | None:
        return self.keys.get(key, self.column) if key is not None else self.column

    def error(self, message: str, key: str | None = None, *, row: bool = True) -> SourceTableError:
        """The error for this place; ``key``: name the raw column of that key instead of the figure's."""
        return SourceTableError(
            self.file, message, row=self.row if row else None, column=self.column_of(key), sheet=self.sheet
        )


def located(file: str | Path, keys: Mapping[str, str] | None = None, sheet: str | None = None):
    """A maker of :class:`SourceLocation` for one raw file: ``at(row, column)``; ``keys`` is shared by all."""
    shared = dict(keys or {})

    def at(row: int | None, column: str | None) -> SourceLocation:
        return SourceLocation(str(file), row, column, sheet, shared)

    return at
