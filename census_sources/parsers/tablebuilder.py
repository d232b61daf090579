"""SingStat / MOM Table Builder CSV exports.

Layout: ~9-10 metadata lines (``Theme:``, ``Table Title:``, ``Data last updated:``, ``Source:``, a unit cell such
as ``Thousand``), a header row whose first cell is ``Data Series`` followed by years in descending order with a
trailing space (``"2024 "``), indented row labels (leading spaces = nesting; unindented rows open a block), a
blank line, then footnotes and notation (a row with figures but a blank label is an error, not the end of the block).
Cells: ``-`` nil, ``na`` not available. Values in thousands.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from census_sources.errors import SourceTableError
from census_sources.readers import parse_number, read_csv_rows


@dataclass(frozen=True)
class TBRow:
    line: int
    label: str
    indent: int
    value: int | float | None
    flag: str


@dataclass(frozen=True)
class TBTable:
    path: Path
    title: str
    unit: str
    year: str
    rows: list[TBRow]


def read_tablebuilder(path: Path, *, year: str | None = None, scale: float = 1000, integer: bool = True) -> TBTable:
    """Read one year's column of a Table Builder export (the newest year unless ``year`` is given)."""
    rows = read_csv_rows(path)
    title = ""
    unit = ""
    header_at = None
    for i, row in enumerate(rows):
        first = row[0].strip() if row else ""
        if first.startswith("Table Title:"):
            title = first.split(":", 1)[1].strip()
        if first == "Data Series":
            header_at = i
            break
        cells = [c.strip() for c in row if c.strip()]
        if len(cells) == 1 and not first and cells[0] in {"Thousand", "Number", "Per Cent", "Dollar"}:
            unit = cells[0]
    if header_at is None:
        raise SourceTableError(path, "no 'Data Series' header row found (is this a Table Builder export?)")
    header = [c.strip() for c in rows[header_at]]
    years = header[1:]
    if not years:
        raise SourceTableError(path, "no year columns in the 'Data Series' header", row=header_at + 1)
    want = year or years[0]
    if want not in years:
        raise SourceTableError(path, f"year {want} not in the table (years: {years[0]}…{years[-1]})", row=header_at + 1)
    col = years.index(want) + 1
    out: list[TBRow] = []
    for i in range(header_at + 1, len(rows)):
        row = rows[i]
        if not row or not row[0].strip():
            if any(c.strip() for c in row[1:]):  # a lost label, not the blank line that ends the block
                raise SourceTableError(path, "a row with figures but no label", row=i + 1, column="Data Series")
            break  # blank line ends the data block; footnotes follow
        label = row[0]
        indent = len(label) - len(label.lstrip(" "))
        if len(row) <= col:
            raise SourceTableError(path, f"row has {len(row)} fields, expected {len(header)}", row=i + 1, column=want)
        value, flag = parse_number(
            row[col], file=path, row=i + 1, column=want, scale=scale, integer=integer, allow_flags=True
        )
        out.append(TBRow(line=i + 1, label=label.strip(), indent=indent, value=value, flag=flag))
    if not out:
        raise SourceTableError(path, "no data rows after the 'Data Series' header", row=header_at + 2)
    return TBTable(path=path, title=title, unit=unit, year=want, rows=out)


def blocks(table: TBTable) -> list[tuple[TBRow, list[TBRow]]]:
    """Group rows into (unindented block header, indented rows) pairs."""
    out: list[tuple[TBRow, list[TBRow]]] = []
    for r in table.rows:
        if r.indent == 0:
            out.append((r, []))
        elif not out:
            raise SourceTableError(table.path, f"indented row {r.label!r} before any block header", row=r.line)
        else:
            out[-1][1].append(r)
    return out


def leaves(rows: list[TBRow], path: Path, unit: float) -> list[TBRow]:
    """Rows without deeper-indented children. Each parent must equal the sum of its children within the
    publisher's rounding (half a unit per published figure); parents are then dropped."""
    out = []
    for i, r in enumerate(rows):
        children = []
        for c in rows[i + 1 :]:
            if c.indent <= r.indent:
                break
            if not children or c.indent == children[0].indent:
                children.append(c)
        children = [c for c in children if c.indent == (children[0].indent if children else 0)]
        if not children:
            out.append(r)
            continue
        if r.value is None or any(c.value is None for c in children):
            continue
        s = sum(c.value for c in children)  # type: ignore[misc]
        tol = unit / 2 * (len(children) + 1)
        if abs(r.value - s) > tol + 1e-9:
            raise SourceTableError(
                path,
                f"sub-total {r.label!r} = {r.value:g} but its {len(children)} parts sum to {s:g}",
                row=r.line,
            )
    return out


@dataclass(frozen=True)
class CrossTab:
    """A Table Builder cross-tabulation: one row variable (indented labels), columns under a two-level header."""

    path: Path
    title: str
    unit: str
    header_line: int  # 1-based line of the first header row
    columns: list[str]  # "level 1" or "level 1 / level 2" (level 1 carried right over blank cells)
    rows: list[tuple[int, str, dict[str, int]]]  # (line, label stripped, values by column)


def read_crosstab(path: Path, row_variable: str, expected_columns: Collection[str] | None = None) -> CrossTab:
    """Read a Table Builder export with a two-level column header, e.g. *Resident Households by Monthly
    Household Income from Work and Type of Dwelling*: metadata lines, a unit cell (``Number``), the header row
    whose first cell is ``row_variable``, a second header row (blank first cell), data rows (indented labels),
    a blank line, then footnotes. A trailing column that is empty in the header must be empty in every row.
    ``-`` reads as 0; every other cell must be a whole number. With ``expected_columns``, the composed column
    names must be exactly those (checked on the header, before any figure is read)."""
    rows = read_csv_rows(path)
    title, unit, at = "", "", None
    for i, row in enumerate(rows):
        first = row[0].strip() if row else ""
        if first.startswith("Table Title:"):
            title = first.split(":", 1)[1].strip()
        if first == row_variable:
            at = i
            break
        cells = [c.strip() for c in row if c.strip()]
        if len(cells) == 1 and not first:
            unit = cells[0]
    if at is None or at + 1 >= len(rows):
        raise SourceTableError(path, f"no header row starting {row_variable!r} found (is this a Table Builder export?)")
    top, sub = [c.strip() for c in rows[at]], [c.strip() for c in rows[at + 1]]
    if len(sub) != len(top) or sub[0]:
        raise SourceTableError(path, "the second header row must have a blank first cell", row=at + 2, column="A")
    columns: list[str] = []
    current = ""
    for t, s in zip(top[1:], sub[1:], strict=True):
        current = t or current
        columns.append("" if not (t or s) else (f"{current} / {s}" if s else current))
    if expected_columns is not None:
        for col in columns:
            if col and col not in expected_columns:
                raise SourceTableError(path, f"unexpected column {col!r}", row=at + 1, column=col)
        for col in expected_columns:
            if col not in columns:
                raise SourceTableError(path, f"missing column {col!r}", row=at + 1, column=col)
    out: list[tuple[int, str, dict[str, int]]] = []
    for i in range(at + 2, len(rows)):
        row = rows[i]
        if not row or not row[0].strip():
            break
        if len(row) != len(top):
            raise SourceTableError(path, f"row has {len(row)} fields, expected {len(top)}", row=i + 1)
        values: dict[str, int] = {}
        for col, cell in zip(columns, row[1:], strict=True):
            if not col:
                if cell.strip():
                    raise SourceTableError(path, f"figure {cell!r} under no column heading", row=i + 1)
                continue
            value, _ = parse_number(cell, file=path, row=i + 1, column=col)
            values[col] = int(value)  # type: ignore[arg-type]
        out.append((i + 1, row[0].strip(), values))
    if not out:
        raise SourceTableError(path, "no data rows after the header", row=at + 3)
    return CrossTab(path=path, title=title, unit=unit, header_line=at + 1, columns=[c for c in columns if c], rows=out)
