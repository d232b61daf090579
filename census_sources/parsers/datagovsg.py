"""data.gov.sg CSV layouts.

- *Wide* (new data.gov.sg / Census 2020): first column ``Number`` (or ``Thousands``) holds row labels
  (``Total``, planning areas, ``"<PA> - Total"`` rows followed by subzone rows), other columns are categories.
  Quirks: ``Changi- Total`` (missing space); the 25 smallest planning areas pooled as ``Others``; footnote digits
  glued to column names (``Taoism1``, ``Mandarin_Total1``); values in thousands for GHS 2015.
- *Long* (old data.gov.sg, GHS 2015): ``year,level_1,level_2[,level_3[,level_4]],value`` in thousands, each
  dataset split into a national "total" file and a by-planning-area file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from census_sources.errors import WHERE, SourceTableError, located
from census_sources.parsers.common import TOTAL, split_pa_total
from census_sources.readers import check_width, parse_number, read_csv_rows

ColumnMap = Mapping[str, Mapping[str, str]]


def _header(rows: list[list[str]], path: Path, label_col: str) -> list[str]:
    header = [c.strip() for c in rows[0]]
    if not header or header[0] != label_col:
        raise SourceTableError(
            path,
            f"expected the first column to be {label_col!r}, found {header[:1]}",
            row=1,
            column=header[0] if header else None,
        )
    return header


def parse_wide(
    path: Path,
    columns: ColumnMap,
    *,
    label_col: str = "Number",
    geography: str = "planning_area",
    scale: float = 1,
    checks: Callable[[dict[str, int], int, Path], None] | None = None,
) -> pd.DataFrame:
    """Parse a wide data.gov.sg table.

    ``columns`` maps a raw column name to the key values it stands for (e.g. ``{"Chinese_Males":
    {"ethnicity": "Chinese", "sex": "Male"}}``); raw columns not in the map must be listed with an empty map
    to be dropped knowingly (every raw column has to be accounted for). ``geography`` is
    ``"planning_area"`` for a PA table or ``"subzone"`` for a PA/SZ table (with ``- Total`` rows).
    ``checks(values_by_raw_column, line, path)`` may verify the publisher's internal totals per row.
    """
    rows = read_csv_rows(path)
    header = _header(rows, path, label_col)
    unknown = [c for c in header[1:] if c not in columns]
    if unknown:
        raise SourceTableError(path, f"unexpected column {unknown[0]!r}", row=1, column=unknown[0])
    missing = [c for c in columns if c not in header]
    if missing:
        raise SourceTableError(path, f"missing column {missing[0]!r}", row=1, column=missing[0])
    records: list[dict[str, object]] = []
    at = located(path, {"planning_area": label_col, "subzone": label_col})
    current_pa: str | None = None
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        check_width(row, header, file=path, line=n)
        label = row[0].strip()
        if not label:
            raise SourceTableError(path, "empty row label", row=n, column=label_col)
        if geography == "subzone":
            pa = split_pa_total(label)
            if label == TOTAL:
                geo = {"planning_area": TOTAL, "subzone": TOTAL}
            elif pa is not None:
                current_pa = pa
                geo = {"planning_area": pa, "subzone": TOTAL}
            else:
                if current_pa is None:
                    raise SourceTableError(
                        path, f"subzone {label!r} before any planning-area total row", row=n, column=label_col
                    )
                geo = {"planning_area": current_pa, "subzone": label}
        else:
            geo = {"planning_area": label}
        values: dict[str, int] = {}
        for raw_col, cell in zip(header[1:], row[1:], strict=True):
            value, _ = parse_number(cell, file=path, row=n, column=raw_col, scale=scale)
            values[raw_col] = int(value)  # type: ignore[arg-type]
        if checks is not None:
            checks(values, n, path)
        for raw_col, keys in columns.items():
            if keys:
                records.append({**geo, **keys, "count": values[raw_col], WHERE: at(n, raw_col)})
    if not records:
        raise SourceTableError(path, "no data rows", row=2)
    return pd.DataFrame.from_records(records)


def check_sum(
    total_col: str, part_cols: list[str], tolerance: float = 0
) -> Callable[[dict[str, int], int, Path], None]:
    """A row check: ``values[total_col] == sum(values[part_cols])`` within ``tolerance``."""

    def _check(values: dict[str, int], line: int, path: Path) -> None:
        s = sum(values[c] for c in part_cols)
        if abs(values[total_col] - s) > tolerance:
            raise SourceTableError(
                path,
                f"{total_col} = {values[total_col]} but its parts ({', '.join(part_cols)}) sum to {s} "
                f"(tolerance {tolerance:g})",
                row=line,
                column=total_col,
            )

    return _check


def all_checks(*checks: Callable[[dict[str, int], int, Path], None]) -> Callable[[dict[str, int], int, Path], None]:
    def _run(values: dict[str, int], line: int, path: Path) -> None:
        for c in checks:
            c(values, line, path)

    return _run


def parse_long_thousands(
    pa_path: Path,
    total_path: Path,
    levels: Mapping[str, Callable[[str], str | None]],
    *,
    year: str = "2015",
) -> pd.DataFrame:
    """Parse an old data.gov.sg GHS 2015 dataset split into a by-PA file and a national "total" file.

    ``levels`` maps each ``level_i`` column to ``(key_name, normaliser)`` pairs by name: the normaliser turns a
    raw label into the project's label, or ``None`` to drop the row knowingly (e.g. a sub-total we do not keep).
    The last level of the by-PA file is the planning area; in the national file the planning area is ``Total``.
    Values are in thousands and become persons (× 1000).
    """
    frames = []
    for path, national in ((pa_path, False), (total_path, True)):
        rows = read_csv_rows(path)
        header = [c.strip() for c in rows[0]]
        expected_levels = list(levels) + ([] if national else ["planning_area"])
        level_cols = [c for c in header if c.startswith("level_")]
        if not header or header[0] != "year" or header[-1] != "value" or len(level_cols) != len(expected_levels):
            raise SourceTableError(
                path,
                f"unexpected header {header}; expected year, {len(expected_levels)} level columns, value",
                row=1,
            )
        records = []
        key_columns = {key: col for key, col in zip(levels, level_cols, strict=False) if not key.startswith("_")}
        if not national:
            key_columns["planning_area"] = level_cols[len(levels)]
        at = located(path, key_columns)
        for n, row in enumerate(rows[1:], start=2):
            if not any(c.strip() for c in row):
                continue
            check_width(row, header, file=path, line=n)
            if row[0].strip() != year:
                raise SourceTableError(path, f"unexpected year {row[0]!r} (expected {year})", row=n, column="year")
            rec: dict[str, object] = {}
            keep = True
            for (key, norm), col, cell in zip(levels.items(), level_cols, row[1:], strict=False):
                try:
                    label = norm(cell.strip())  # type: ignore[operator]
                except SourceTableError as exc:
                    raise SourceTableError(path, exc.reason, row=n, column=col) from None
                if label is None:
                    keep = False
                    break
                if not key.startswith("_"):  # "_name": a constant level (e.g. "Total"), checked, not kept
                    rec[key] = label
            if not keep:
                continue
            rec["planning_area"] = TOTAL if national else row[len(levels) + 1].strip()
            value, _ = parse_number(row[-1], file=path, row=n, column="value", scale=1000)
            rec["count"] = value
            rec[WHERE] = at(n, "value")
            records.append(rec)
        frames.append(pd.DataFrame.from_records(records))
    return pd.concat(frames, ignore_index=True)


def _read_long_levels(
    path: Path, levels: Mapping[str, Callable[[str], str | None]], year: str
) -> list[tuple[int, tuple[str, ...], float]]:
    """The rows of one old-format long file as ``(line, kept level labels, value in persons)``.

    ``levels`` names every ``level_i`` column in order (names starting with ``_`` are checked constants, not
    kept); a normaliser returning ``None`` drops the row knowingly. A key seen twice fails on its second line.
    """
    rows = read_csv_rows(path)
    header = [c.strip() for c in rows[0]]
    level_cols = [c for c in header if c.startswith("level_")]
    if header[:1] != ["year"] or header[-1:] != ["value"] or len(level_cols) != len(levels):
        raise SourceTableError(
            path, f"unexpected header {header}; expected year, {len(levels)} level columns, value", row=1
        )
    out: list[tuple[int, tuple[str, ...], float]] = []
    seen: dict[tuple[str, ...], int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        check_width(row, header, file=path, line=line)
        if row[0].strip() != year:
            raise SourceTableError(path, f"unexpected year {row[0]!r} (expected {year})", row=line, column="year")
        labels: list[str] = []
        for (name, norm), col, cell in zip(levels.items(), level_cols, row[1:], strict=False):
            try:
                label = norm(cell.strip())
            except SourceTableError as exc:
                raise SourceTableError(path, exc.reason, row=line, column=col) from None
            if label is None:
                break
            if not name.startswith("_"):
                labels.append(label)
        else:
            key = tuple(labels)
            if key in seen:
                raise SourceTableError(
                    path, f"duplicated key {key} (first seen on row {seen[key]})", row=line, column="level_1"
                )
            seen[key] = line
            value, _ = parse_number(row[-1], file=path, row=line, column="value", scale=1000)
            out.append((line, key, float(value)))  # type: ignore[arg-type]
    if not out:
        raise SourceTableError(path, "no data rows", row=2)
    return out


def parse_long_dwelling(
    broad_path: Path,
    hdb_path: Path,
    levels: Mapping[str, Callable[[str], str | None]],
    *,
    broad: Mapping[str, str],
    flat_types: Mapping[str, str],
    hdb: str,
    hdb_other: str,
    year: str = "2015",
) -> pd.DataFrame:
    """An old data.gov.sg GHS 2015 table *by type of dwelling*, published as two files: a "total"/"broad" file
    whose last level is the broad dwelling type (``Total``, ``HDB Dwellings``, condominiums, landed, others) and
    an "hdb" file that splits ``HDB Dwellings`` by flat type (one more level: the constant ``HDB Dwellings``,
    then the flat type). Values in thousands become persons or households (x 1000).

    ``broad`` and ``flat_types`` map lower-cased raw labels to the project's dwelling labels (``broad`` maps the
    HDB total to ``hdb``). Returns ``keys…, dwelling_type, count`` with, per key, the total, the four flat types,
    ``hdb_other`` (the HDB total less its flat types: the publisher's HDB total includes flats outside the four
    types), condominiums, landed properties and others. Cells the download omits are the publisher's nil
    (``-``) and are stored as 0. An HDB total below its flat types beyond the rounding of five published
    figures fails on the HDB-total row.
    """

    def mapper(mapping: Mapping[str, str], what: str) -> Callable[[str], str]:
        def norm(label: str) -> str:
            key = label.strip().strip('"').lower()
            if key not in mapping:
                raise SourceTableError(broad_path, f"unknown {what} {label!r}")
            return mapping[key]

        return norm

    def const(value: str) -> Callable[[str], str]:
        def norm(label: str) -> str:
            if label.strip().strip('"') != value:
                raise SourceTableError(hdb_path, f"expected {value!r}, found {label!r}")
            return value

        return norm

    names = [k for k in levels if not k.startswith("_")]
    broad_at = located(broad_path, {k: f"level_{i + 1}" for i, k in enumerate([*names, "dwelling_type"])})
    hdb_at = located(
        hdb_path, {k: f"level_{i + 1}" for i, k in enumerate([*names, "_hdb", "dwelling_type"]) if k != "_hdb"}
    )
    broad_rows = _read_long_levels(broad_path, {**levels, "dwelling_type": mapper(broad, "dwelling type")}, year)
    hdb_rows = _read_long_levels(
        hdb_path, {**levels, "_hdb": const(hdb), "dwelling_type": mapper(flat_types, "flat type")}, year
    )
    by_key: dict[tuple[str, ...], dict[str, tuple[int, float]]] = {}
    for line, key, value in broad_rows:
        by_key.setdefault(key[:-1], {})[key[-1]] = (line, value)
    flats: dict[tuple[str, ...], dict[str, tuple[int, float]]] = {}
    for line, key, value in hdb_rows:
        if key[:-1] not in by_key:
            raise SourceTableError(
                hdb_path, f"no matching rows for {key[:-1]} in {broad_path.name}", row=line, column="level_1"
            )
        flats.setdefault(key[:-1], {})[key[-1]] = (line, value)
    records: list[dict[str, object]] = []
    for key, cells in by_key.items():
        if TOTAL not in cells:
            first = min(line for line, _ in cells.values())
            raise SourceTableError(broad_path, f"no 'Total' dwelling row for {key}", row=first, column="level_1")
        total_line = cells[TOTAL][0]
        hdb_line, hdb_total = cells.get(hdb, (total_line, 0.0))
        parts = flats.get(key, {})
        flat_sum = sum(v for _, v in parts.values())
        residual = hdb_total - flat_sum
        if residual < -250:  # five published figures, each rounded to the nearest 100
            raise SourceTableError(
                broad_path,
                f"{hdb} {hdb_total:.0f} is less than the sum of its flat types {flat_sum:.0f}",
                row=hdb_line,
                column="value",
            )
        # (count, where it came from): a nil cell the download omits is located at the key's total row
        values = {TOTAL: (cells[TOTAL][1], broad_at(total_line, "value"))}
        for f in dict.fromkeys(flat_types.values()):
            line, v = parts.get(f, (None, 0.0))
            values[f] = (v, hdb_at(line, "value") if line is not None else broad_at(hdb_line, "value"))
        values[hdb_other] = (max(residual, 0.0), broad_at(hdb_line, "value"))
        for b in dict.fromkeys(broad.values()):
            if b not in (TOTAL, hdb):
                line, v = cells.get(b, (total_line, 0.0))
                values[b] = (v, broad_at(line, "value"))
        for dwelling, (count, where) in values.items():
            records.append(
                {**dict(zip(names, key, strict=True)), "dwelling_type": dwelling, "count": int(count), WHERE: where}
            )
    return pd.DataFrame.from_records(records)
