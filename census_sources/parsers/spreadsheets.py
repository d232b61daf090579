"""Print-layout spreadsheets: GHS 2015 ``t1-9.xls`` (SingStat) and MOM *Labour Force in Singapore 2024* XLSX.

Quirks handled: page-number cells and repeated titles/headers on every printed page ("-continued"); labels
padded with spaces (``'5 - 9        '``); ``-`` for nil; MOM's ``s`` (suppressed) cells; values in thousands
(MOM) or persons rounded to 10 (GHS); the sex label written only on the first row of each block.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from census_sources.errors import WHERE, SourceTableError, located
from census_sources.parsers.common import ETHNICITY, SEX, TOTAL, age_group
from census_sources.readers import parse_number


def read_sheet(path: Path, sheet: str) -> pd.DataFrame:
    if not path.exists():
        raise SourceTableError(path, "file not found")
    if path.stat().st_size == 0:
        raise SourceTableError(path, "file is empty")
    engine = "xlrd" if path.suffix.lower() == ".xls" else "openpyxl"
    try:
        book = pd.ExcelFile(path, engine=engine)
    except Exception as exc:  # the readers raise many types for a corrupt file
        raise SourceTableError(path, f"cannot open as a spreadsheet ({type(exc).__name__}: {exc})") from exc
    if sheet not in book.sheet_names:
        raise SourceTableError(path, f"sheet {sheet!r} not found (sheets: {', '.join(book.sheet_names)})")
    return book.parse(sheet, header=None, dtype=object)


def _text(cell: object) -> str:
    return "" if cell is None or (isinstance(cell, float) and pd.isna(cell)) else str(cell).strip()


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def parse_ghs_t1(path: Path) -> pd.DataFrame:
    """GHS 2015 Table 1, first block (all residents): age group × ethnic group × sex, persons."""
    sheet = "T1"
    t = read_sheet(path, sheet)
    starts = [i for i in range(len(t)) if _text(t.iat[i, 1]).startswith("Age Group")]
    if not starts:
        raise SourceTableError(path, "header 'Age Group (Years)' not found", sheet=sheet)
    h = starts[0]
    eth_row, sex_row = t.iloc[h], t.iloc[h + 1]
    if _text(t.iat[h + 2, 2]) != TOTAL:
        raise SourceTableError(
            path, "expected the first block to be residential status 'Total'", sheet=sheet, row=h + 3, column="C"
        )
    cols: list[tuple[int, str, str]] = []
    eth, eth_col = "", 2
    for j in range(2, t.shape[1]):
        if _text(eth_row.iat[j]):
            eth, eth_col = _text(eth_row.iat[j]), j
        sx = _text(sex_row.iat[j])
        if not sx:
            continue
        if eth.lower() not in ETHNICITY:
            raise SourceTableError(
                path, f"unexpected ethnic group {eth!r}", sheet=sheet, row=h + 1, column=_col_letter(eth_col)
            )
        if sx.lower() not in SEX:
            raise SourceTableError(path, f"unexpected sex {sx!r}", sheet=sheet, row=h + 2, column=_col_letter(j))
        cols.append((j, ETHNICITY[eth.lower()], SEX[sx.lower()]))
    at = located(path, {"age_group": "B"}, sheet)
    records = []
    for i in range(h + 3, len(t)):
        label = _text(t.iat[i, 1])
        if not label:
            break
        age = TOTAL if label == TOTAL else age_group(label)
        if age is None:
            raise SourceTableError(path, f"unexpected age-group label {label!r}", sheet=sheet, row=i + 1, column="B")
        for j, e, s in cols:
            v, _ = parse_number(t.iat[i, j], file=path, row=i + 1, column=_col_letter(j), sheet=sheet)
            records.append({"age_group": age, "ethnicity": e, "sex": s, "count": v, WHERE: at(i + 1, _col_letter(j))})
    return pd.DataFrame.from_records(records)


HDB_OTHER = "HDB Other Flats (not in flat-type columns)"
NOT_SHOWN = "Not shown (published as '-')"

T9_COLUMNS = {  # sheet column index → dwelling type (column 5 is "Total HDB", checked then dropped)
    6: "HDB 1- and 2-Room Flats",
    7: "HDB 3-Room Flats",
    8: "HDB 4-Room Flats",
    9: "HDB 5-Room and Executive Flats",
    10: "Condominiums and Other Apartments",
    11: "Landed Properties",
    12: "Others",
}


def parse_ghs_t9(path: Path) -> pd.DataFrame:
    """GHS 2015 Table 9: persons by planning area × type of dwelling (planning-area rows and the national row;
    subzone rows are read and checked for well-formedness but not kept). Figures rounded to 10."""
    sheet = "T9"
    t = read_sheet(path, sheet)
    at = located(path, {"planning_area": "C"}, sheet)
    records = []
    for i in range(len(t)):
        pa, sz = _text(t.iat[i, 2]), _text(t.iat[i, 3])
        if sz != TOTAL or not pa or pa == "Planning Area":
            continue
        vals = {}
        for j in range(4, 13):
            v, _ = parse_number(t.iat[i, j], file=path, row=i + 1, column=_col_letter(j), sheet=sheet)
            vals[j] = v
        hdb = sum(vals[j] for j in (6, 7, 8, 9))
        # Footnote 1/ of T9: "Total HDB" includes HDB flats not in the four flat-type columns, so Total HDB
        # exceeds their sum. The difference is kept as its own category; a negative one beyond the rounding of
        # five published cells (5 x 5) means the row is malformed.
        residual = vals[5] - hdb
        if residual < -25:
            raise SourceTableError(
                path,
                f"Total HDB {vals[5]} is less than the sum of flat types {hdb}",
                sheet=sheet,
                row=i + 1,
                column="F",
            )
        # '-' means nil *or negligible*; in this survey table a row of dashes can stand under a non-zero total
        # (Lim Chu Kang: total 90, every dwelling column '-'). Where dashes are present, the shortfall of the
        # parts against the total is kept as its own category rather than invented away.
        dashes = sum(_text(t.iat[i, j]) == "-" for j in (5, 10, 11, 12))
        shortfall = vals[4] - (vals[5] + vals[10] + vals[11] + vals[12])
        if shortfall < -25 or (not dashes and shortfall > 25):
            raise SourceTableError(
                path,
                f"Total {vals[4]} != HDB + condominiums + landed + others ({vals[4] - shortfall})",
                sheet=sheet,
                row=i + 1,
                column="E",
            )
        line = i + 1
        records.append(
            {
                "planning_area": pa,
                "dwelling_type": NOT_SHOWN,
                "count": max(shortfall, 0) if dashes else 0,
                WHERE: at(line, "E"),  # derived from the total (E) and the parts shown
            }
        )
        records.append(
            {"planning_area": pa, "dwelling_type": HDB_OTHER, "count": max(residual, 0), WHERE: at(line, "F")}
        )
        for j, tod in T9_COLUMNS.items():
            records.append(
                {"planning_area": pa, "dwelling_type": tod, "count": vals[j], WHERE: at(line, _col_letter(j))}
            )
        records.append({"planning_area": pa, "dwelling_type": TOTAL, "count": vals[4], WHERE: at(line, "E")})
    if not records:
        raise SourceTableError(path, "no planning-area rows found", sheet=sheet)
    df = pd.DataFrame.from_records(records)
    # The national row is checked against the planning areas, then dropped: its derived categories (HDB other
    # flats, cells shown as '-') are not the sums of the planning areas' and would not reconcile by construction.
    national = df[(df.planning_area == TOTAL) & (df.dwelling_type == TOTAL)]["count"]
    areas = df[(df.planning_area != TOTAL) & (df.dwelling_type == TOTAL)]["count"]
    if len(national) != 1:
        raise SourceTableError(path, "national 'Total' row not found", sheet=sheet)
    if abs(int(national.iloc[0]) - int(areas.sum())) > 5 * (len(areas) + 1):
        raise SourceTableError(
            path,
            f"national total {int(national.iloc[0])} != sum of planning areas {int(areas.sum())}",
            sheet=sheet,
            column="E",
        )
    return df[df.planning_area != TOTAL].reset_index(drop=True)


def parse_mom_block_sheet(
    path: Path,
    sheet: str,
    *,
    category_key: str,
    categories: dict[str, str],
    scale: float,
    integer: bool,
    keep_aggregate_ages: bool = False,
) -> pd.DataFrame:
    """MOM LFS 2024 sheets G4/G7/B2: blocks Total/Male/Female, rows = age groups, columns = categories.

    Header row: the first row whose columns C.. hold category names. Aggregate age rows (``15 - 24``,
    ``25 - 64``…), which follow a blank row in B2, are dropped unless ``keep_aggregate_ages``.
    """
    t = read_sheet(path, sheet)
    header_at = None
    for i in range(min(len(t), 15)):
        if _text(t.iat[i, 2]) == TOTAL and all(_text(t.iat[i, j]) for j in range(3, t.shape[1])):
            header_at = i
            break
    if header_at is None:
        raise SourceTableError(path, "category header row not found", sheet=sheet)
    cols = {}
    for j in range(2, t.shape[1]):
        name = _text(t.iat[header_at, j])
        if name not in categories:
            raise SourceTableError(
                path, f"unexpected category {name!r}", sheet=sheet, row=header_at + 1, column=_col_letter(j)
            )
        cols[j] = categories[name]
    at = located(path, {"sex": "A", "age_group": "B"}, sheet)
    records = []
    sex = None
    in_aggregates = False
    for i in range(header_at + 1, len(t)):
        first, age_label = _text(t.iat[i, 0]), _text(t.iat[i, 1])
        if first.startswith("Source"):
            break
        if first:
            if first.lower() not in SEX:
                raise SourceTableError(path, f"unexpected sex label {first!r}", sheet=sheet, row=i + 1, column="A")
            sex = SEX[first.lower()]
            in_aggregates = False
        if not age_label:
            in_aggregates = True  # a blank row separates the aggregate age groups
            continue
        if sex is None:
            raise SourceTableError(path, "data row before any sex label", sheet=sheet, row=i + 1, column="A")
        if in_aggregates and not keep_aggregate_ages:
            continue
        age = TOTAL if age_label == TOTAL else age_group(age_label)
        if age is None:
            raise SourceTableError(path, f"unexpected age label {age_label!r}", sheet=sheet, row=i + 1, column="B")
        for j, cat in cols.items():
            v, flag = parse_number(
                t.iat[i, j],
                file=path,
                row=i + 1,
                column=_col_letter(j),
                sheet=sheet,
                scale=scale,
                integer=integer,
                allow_flags=True,
            )
            records.append(
                {
                    "sex": sex,
                    "age_group": age,
                    category_key: cat,
                    "value": v,
                    "flag": flag,
                    WHERE: at(i + 1, _col_letter(j)),
                }
            )
    if not records:
        raise SourceTableError(path, "no data rows", sheet=sheet)
    return pd.DataFrame.from_records(records)
