"""Single-purpose layouts: SingStat ``respopagesex``, URA Master Plan 2019 GeoJSON, and small CSVs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from census_sources.errors import WHERE, SourceLocation, SourceTableError, located
from census_sources.parsers.common import ETHNICITY, SEX, TOTAL, age_group, title_pa
from census_sources.readers import check_width, parse_number, read_csv_rows, read_text


def _expect_header(rows: list[list[str]], path: Path, expected: list[str], ignored: tuple[str, ...] = ()) -> None:
    """The header must hold exactly the ``expected`` columns, plus any of ``ignored`` (columns the parser does
    not use, named here so that they are dropped knowingly); any other column is an error."""
    header = [c.strip() for c in rows[0]]
    for name in expected:
        if name not in header:
            raise SourceTableError(path, f"missing column {name!r} (header: {', '.join(header)})", row=1, column=name)
    for name in header:
        if name not in expected and name not in ignored:
            raise SourceTableError(
                path, f"unexpected column {name!r} (expected: {', '.join(expected)})", row=1, column=name or None
            )


def parse_respop(path: Path, year: str) -> pd.DataFrame:
    """``respopagesex<year>.csv``: PA, SZ, single year of age (``90_and_Over`` → 90, meaning 90+), sex, count.

    Every row is kept, zero counts too, so that the builder can check the table is complete (every subzone, every
    age, both sexes); the snapshot then leaves out the zero rows (``TableSpec.drop_zero_rows``). The ``Time``
    column must equal ``year`` on every row.
    """
    rows = read_csv_rows(path)
    cols = ["PA", "SZ", "Age", "Sex", "Pop", "Time"]
    _expect_header(rows, path, cols)
    header = [c.strip() for c in rows[0]]
    idx = {c: header.index(c) for c in cols}
    at = located(path, {"planning_area": "PA", "subzone": "SZ", "age": "Age", "sex": "Sex"})
    records = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        check_width(row, header, file=path, line=n)
        if row[idx["Time"]].strip() != year:
            raise SourceTableError(path, f"Time is {row[idx['Time']]!r}, expected {year}", row=n, column="Time")
        age_raw = row[idx["Age"]].strip()
        if age_raw == "90_and_Over":
            age = 90
        elif age_raw.isdigit() and int(age_raw) < 90:
            age = int(age_raw)
        else:
            raise SourceTableError(path, f"unexpected age {age_raw!r}", row=n, column="Age")
        sex_raw = row[idx["Sex"]].strip()
        if sex_raw not in {"Males", "Females"}:
            raise SourceTableError(path, f"unexpected sex {sex_raw!r}", row=n, column="Sex")
        pop, _ = parse_number(row[idx["Pop"]], file=path, row=n, column="Pop")
        pa, sz = row[idx["PA"]].strip(), row[idx["SZ"]].strip()
        if not pa or not sz:
            raise SourceTableError(path, "empty planning area or subzone", row=n, column="PA" if not pa else "SZ")
        records.append(
            {
                "planning_area": pa,
                "subzone": sz,
                "age": str(age),
                "sex": SEX[sex_raw.lower()],
                "count": pop,
                WHERE: at(n, "Pop"),
            }
        )
    if not records:
        raise SourceTableError(path, "no data rows", row=2)
    return pd.DataFrame.from_records(records)


def _features(path: Path) -> list[dict[str, object]]:
    """The ``properties`` of every feature of a GeoJSON FeatureCollection."""
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise SourceTableError(path, f"not valid JSON: {exc.msg}", row=exc.lineno) from exc
    if not isinstance(data, dict) or "features" not in data:
        raise SourceTableError(path, "not a GeoJSON FeatureCollection")
    return [f.get("properties", {}) for f in data["features"]]


def parse_ura_planning_areas(pa_path: Path, sz_path: Path) -> pd.DataFrame:
    """URA MP2019 planning areas (55) with region, and their subzone counts (count = number of subzones)."""
    pas = _features(pa_path)
    szs = _features(sz_path)
    n_sz: dict[str, int] = {}
    for i, p in enumerate(szs, start=1):
        if not p.get("PLN_AREA_N") or not p.get("SUBZONE_N"):
            raise SourceTableError(sz_path, f"feature {i} lacks PLN_AREA_N/SUBZONE_N", column="PLN_AREA_N")
        n_sz[str(p["PLN_AREA_N"])] = n_sz.get(str(p["PLN_AREA_N"]), 0) + 1
    records = []
    for i, p in enumerate(pas, start=1):
        for k in ("PLN_AREA_N", "PLN_AREA_C", "REGION_N", "REGION_C"):
            if not p.get(k):
                raise SourceTableError(pa_path, f"feature {i} lacks {k}", column=k)
        name = str(p["PLN_AREA_N"])
        if name not in n_sz:
            raise SourceTableError(
                pa_path, f"planning area {name!r} has no subzones in the subzone layer", column="PLN_AREA_N"
            )
        region = title_pa(str(p["REGION_N"]).removesuffix(" REGION"))
        records.append(
            {
                "planning_area": title_pa(name),
                "planning_area_code": str(p["PLN_AREA_C"]),
                "region": region,
                "region_code": str(p["REGION_C"]),
                "count": n_sz[name],
                WHERE: SourceLocation(str(pa_path), None, "PLN_AREA_N"),
            }
        )
    return pd.DataFrame.from_records(records)


def parse_ura_subzones(sz_path: Path) -> pd.DataFrame:
    """URA MP2019 subzones (332) with their planning area; count = 1 per subzone."""
    records = []
    for i, p in enumerate(_features(sz_path), start=1):
        for k in ("PLN_AREA_N", "SUBZONE_N", "SUBZONE_C"):
            if not p.get(k):
                raise SourceTableError(sz_path, f"feature {i} lacks {k}", column=k)
        records.append(
            {
                "planning_area": title_pa(str(p["PLN_AREA_N"])),
                "subzone": title_pa(str(p["SUBZONE_N"])),
                "subzone_code": str(p["SUBZONE_C"]),
                "count": 1,
                WHERE: SourceLocation(str(sz_path), None, "SUBZONE_N", keys={"planning_area": "PLN_AREA_N"}),
            }
        )
    return pd.DataFrame.from_records(records)


def parse_simple_wide(
    path: Path, label_col: str, key: str, label_map: dict[str, str] | None, col_key: str, col_map: dict[str, str]
) -> pd.DataFrame:
    """A plain wide CSV: first column labels (mapped through ``label_map``), other columns categories."""
    rows = read_csv_rows(path)
    header = [c.strip() for c in rows[0]]
    if not header or header[0] != label_col:
        raise SourceTableError(
            path, f"first column should be {label_col!r}", row=1, column=header[0] if header else None
        )
    for c in header[1:]:
        if c not in col_map:
            raise SourceTableError(path, f"unexpected column {c!r}", row=1, column=c)
    missing = [c for c in col_map if c not in header]
    if missing:
        raise SourceTableError(path, f"missing column {missing[0]!r}", row=1, column=missing[0])
    at = located(path, {key: label_col})
    records = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        check_width(row, header, file=path, line=n)
        label = row[0].strip()
        if label_map is not None:
            if label.lower() not in label_map:
                raise SourceTableError(path, f"unknown label {label!r}", row=n, column=label_col)
            label = label_map[label.lower()]
        for c, cell in zip(header[1:], row[1:], strict=True):
            v, _ = parse_number(cell, file=path, row=n, column=c)
            records.append({key: label, col_key: col_map[c], "count": v, WHERE: at(n, c)})
    return pd.DataFrame.from_records(records)


LF_AGE = {"70_and_over": "70+"}


def parse_lf_status(path: Path, year: str) -> pd.DataFrame:
    """MOM resident labour force by status × age × sex (long, persons rounded to 100), one year."""
    rows = read_csv_rows(path)
    cols = ["year", "sex", "age", "labour_force", "employed", "unemployed", "outside_labour_force"]
    _expect_header(rows, path, cols)
    header = [c.strip() for c in rows[0]]
    at = located(path, {"sex": "sex", "age_group": "age"})
    records = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        check_width(row, header, file=path, line=n)
        row_year = row[header.index("year")].strip()
        if not re.fullmatch(r"(19|20)[0-9]{2}", row_year):  # a typo must not drop the row silently
            raise SourceTableError(path, f"not a year: {row_year!r}", row=n, column="year")
        if row_year != year:
            continue
        sex = SEX.get(row[header.index("sex")].strip().lower())
        if sex is None:
            raise SourceTableError(path, f"unknown sex {row[header.index('sex')]!r}", row=n, column="sex")
        age_raw = row[header.index("age")].strip()
        age = LF_AGE.get(age_raw) or age_group(age_raw)
        if age is None:
            raise SourceTableError(path, f"unknown age group {age_raw!r}", row=n, column="age")
        vals = {}
        for c in cols[3:]:
            vals[c], _ = parse_number(row[header.index(c)], file=path, row=n, column=c)
        # Published to the nearest 100: employed + unemployed may miss the labour force by one unit.
        if abs(vals["labour_force"] - vals["employed"] - vals["unemployed"]) > 150:
            raise SourceTableError(path, "labour_force != employed + unemployed", row=n, column="labour_force")
        for status in ("employed", "unemployed", "outside_labour_force"):
            records.append(
                {
                    "sex": sex,
                    "age_group": age,
                    "labour_force_status": status,
                    "count": vals[status],
                    WHERE: at(n, status),
                }
            )
    if not records:
        raise SourceTableError(path, f"no rows for year {year}", row=2, column="year")
    return pd.DataFrame.from_records(records)


def parse_surnames(path: Path) -> pd.DataFrame:
    rows = read_csv_rows(path)
    cols = ["rank", "dialect_romanisation", "number", "pct_of_chinese_population"]
    _expect_header(rows, path, cols, ignored=("mandarin_pinyin_as_shown",))
    header = [c.strip() for c in rows[0]]
    at = located(path, {"surname": "dialect_romanisation"})
    records = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        check_width(row, header, file=path, line=n)
        name = row[header.index("dialect_romanisation")].strip()
        if not name:
            raise SourceTableError(path, "empty surname", row=n, column="dialect_romanisation")
        v, _ = parse_number(row[header.index("number")], file=path, row=n, column="number")
        records.append({"surname": name, "count": v, WHERE: at(n, "number")})
    return pd.DataFrame.from_records(records)


def parse_timlrx_industry(path: Path) -> pd.DataFrame:
    """GHS 2015 working persons by planning area × industry (thousands → persons), from the compiled file."""
    rows = read_csv_rows(path)
    # "Year" is not used: "survey" (GHS2015) says which year a row is
    _expect_header(rows, path, ["survey", "content", "Level_1", "Level_2", "Level_3", "Value"], ignored=("Year",))
    header = [c.strip() for c in rows[0]]
    i = {c: header.index(c) for c in header}
    at = located(path, {"planning_area": "Level_3", "industry": "Level_1"})
    records = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        check_width(row, header, file=path, line=n)
        if row[i["survey"]] != "GHS2015" or row[i["content"]] != "resident_pop_industry":
            continue
        industry = row[i["Level_1"]].strip().replace("Services- ", "Services - ")
        if industry == "Services - Total":
            continue  # a published sub-total; its parts are kept
        if row[i["Level_2"]].strip() != TOTAL:
            raise SourceTableError(path, f"unexpected Level_2 {row[i['Level_2']]!r}", row=n, column="Level_2")
        pa = row[i["Level_3"]].strip()
        v, _ = parse_number(row[i["Value"]], file=path, row=n, column="Value", scale=1000)
        records.append({"planning_area": pa, "industry": industry, "count": v, WHERE: at(n, "Value")})
    if not records:
        raise SourceTableError(path, "no GHS2015 resident_pop_industry rows", row=2)
    return pd.DataFrame.from_records(records)


__all__ = ["ETHNICITY", "parse_respop"]
