"""Source data the fault campaign of issue 18 got accepted silently, each now refused with the file, row and column.

Build-side cases edit copies of the real raw files (``../shared/data/raw``) the way the issue describes (a file cut
at a line boundary, a recased header, a renamed subzone, a blank label, a year typo, a deleted line…) and are
``raw``-marked; load-side cases edit copies of the committed snapshot and run without the raw files.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from _helpers import assert_located

from census_sources import SNAPSHOT_DIR, TABLES, SourceTableError, load_table
from census_sources.build import build, main
from census_sources.readers import parse_number
from census_sources.snapshot import MANIFEST, sha256_file

URA_TABLES = ("ura_planning_areas", "ura_subzones")
RESPOP = "respop_2025"


# ---------------------------------------------------------------------------------------------- helpers


def raw_copy(raw_root: Path, tmp_path: Path, *names: str) -> Path:
    """A raw root holding copies of these tables' raw files and of the URA MP2019 files (the reference lists)."""
    root = tmp_path / "raw"
    for name in (*names, *URA_TABLES):
        for rel in TABLES[name].raw_files:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(raw_root / rel, root / rel)
    return root


def raw_file(root: Path, name: str, index: int = 0) -> Path:
    return root / TABLES[name].raw_files[index]


def edit_lines(path: Path, edit) -> None:
    """Rewrite a raw text file line by line (``edit(lines) -> lines``), keeping its BOM and line endings."""
    data = path.read_bytes()
    bom = data.startswith(b"\xef\xbb\xbf")
    text = data[3:].decode("utf-8") if bom else data.decode("utf-8")
    ending = "\r\n" if "\r\n" in text else "\n"
    lines = edit(text.split(ending))
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + ending.join(lines).encode("utf-8"))


def line_of(path: Path, prefix: str) -> int:
    """1-based number of the first line of ``path`` that starts with ``prefix``."""
    text = path.read_bytes().decode("utf-8-sig")
    return next(i for i, line in enumerate(text.splitlines(), start=1) if line.startswith(prefix))


def replace_in_line(path: Path, prefix: str, old: str, new: str) -> int:
    line = line_of(path, prefix)

    def edit(lines: list[str]) -> list[str]:
        assert old in lines[line - 1], lines[line - 1]
        lines[line - 1] = lines[line - 1].replace(old, new, 1)
        return lines

    edit_lines(path, edit)
    return line


def parse_error(root: Path, name: str) -> SourceTableError:
    with pytest.raises(SourceTableError) as exc:
        build(root, root.parent / "out", [name])
    return exc.value


# ---------------------------------------------------------------------------------------------- snapshot copies


def snapshot_copy(tmp_path: Path, name: str, edit) -> Path:
    """A copy of the committed snapshot with ``edit(frame) -> frame`` applied to one table (written as the builder
    writes it) and the manifest re-signed, so that the loader's checks, not the checksum, are what refuse it."""
    folder = tmp_path / "snapshot"
    shutil.copytree(SNAPSHOT_DIR, folder)
    path = folder / TABLES[name].file_name
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    edit(df).to_csv(path, index=False, lineterminator="\n")
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    manifest["tables"][name]["sha256"] = sha256_file(path)
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def load_error(folder: Path, name: str) -> SourceTableError:
    with pytest.raises(SourceTableError) as exc:
        load_table(name, folder)
    assert "does not match the manifest" not in str(exc.value)
    return exc.value


# ---------------------------------------------------------------------------------------------- one raw cell edited

MEDIAN = "mom_median_income_occupation_sex"
LF_STATUS = "mom_labour_force_status_age_sex"

#: (table, the line's start, old text, new text, the column named, the reason), each an edit the campaign made
CELL_EDITS = {
    "7-recased-header": (
        "ghs2015_income_employed_pa", "Thousands,", "Below_1_000", "BELOW_1_000", "BELOW_1_000",
        "unexpected column 'BELOW_1_000'",
    ),
    "7-unknown-header": (
        "census2020_income_households_pa", "Number,", "NoEmployedPerson", "NoEmployedPersons", "NoEmployedPersons",
        "unexpected column 'NoEmployedPersons'",
    ),
    "8-subzone-not-in-ura": (
        RESPOP, "Bedok,Bedok North,30,Females,", "Bedok North", "Atlantis", "SZ",
        "subzone 'Atlantis' is not a URA MP2019 subzone of 'Bedok' (closest:",
    ),
    "9-blank-table-builder-label": (
        MEDIAN, "Service & Sales Workers - Male,", "Service & Sales Workers - Male", "", "Data Series",
        "a row with figures but no label",
    ),
    "9-year-typo": (LF_STATUS, "2023,female,25-29,", "2023", "2O23", "year", "not a year: '2O23'"),
}  # fmt: skip


@pytest.mark.raw
@pytest.mark.parametrize(("name", "prefix", "old", "new", "column", "reason"), CELL_EDITS.values(), ids=CELL_EDITS)
def test_one_edited_raw_cell_is_refused_at_its_place(raw_root, tmp_path, name, prefix, old, new, column, reason):
    root = raw_copy(raw_root, tmp_path, name)
    path = raw_file(root, name)
    line = replace_in_line(path, prefix, old, new)
    err = parse_error(root, name)
    assert_located(err, path, line, column)
    assert reason in err.reason


# ---------------------------------------------------------------------------------------------- 6: completeness


@pytest.mark.raw
def test_6_population_table_cut_at_a_line_boundary_fails_the_build(raw_root, tmp_path):
    root = raw_copy(raw_root, tmp_path, RESPOP)
    path = raw_file(root, RESPOP)
    edit_lines(path, lambda lines: lines[:55_000])  # 55,000 of 60,425 lines: the header and 54,999 data rows
    err = parse_error(root, RESPOP)
    assert err.file == str(path) and err.column == "PA"
    areas = "Western Islands, Western Water Catchment, Woodlands, Yishun"
    assert f"4 of the 55 URA MP2019 planning areas have no rows: {areas};" in err.reason
    assert "the last data row read is line 55000" in err.reason
    assert not (root.parent / "out").exists()


DELETED_LINES = {
    "6-population": (
        RESPOP, "Bedok,Bedok North,30,Females,",
        "1 expected row missing", "planning_area='Bedok', subzone='Bedok North', age='30', sex='Female'",
    ),
    "9-labour-force-status": (
        LF_STATUS, "2023,female,25-29,",
        "3 expected rows missing", "first: sex='Female', age_group='25-29', labour_force_status='employed'",
    ),
}  # fmt: skip


@pytest.mark.raw
@pytest.mark.parametrize(("name", "prefix", "count", "first"), DELETED_LINES.values(), ids=DELETED_LINES)
def test_a_deleted_raw_line_fails_the_build(raw_root, tmp_path, name, prefix, count, first):
    root = raw_copy(raw_root, tmp_path, name)
    path = raw_file(root, name)
    line = line_of(path, prefix)
    edit_lines(path, lambda lines: lines[: line - 1] + lines[line:])
    err = parse_error(root, name)
    assert err.file == str(path) and err.row is None
    assert count in err.reason and first in err.reason


def test_6_population_snapshot_without_an_area_fails_its_recorded_total(tmp_path):
    folder = snapshot_copy(tmp_path, RESPOP, lambda df: df[df.planning_area != "Woodlands"])
    err = load_error(folder, RESPOP)
    assert_located(err, folder / TABLES[RESPOP].file_name, None, "count")
    assert "4,217,720 recorded for the official file" in err.reason


def test_6_ethnicity_snapshot_without_a_subzone_fails_the_ura_coverage(tmp_path):
    name = "census2020_ethnicity_sex"
    folder = snapshot_copy(tmp_path, name, lambda df: df[df.subzone != "Yishun West"])
    err = load_error(folder, name)
    assert "1 of the 332 URA MP2019 subzones have no rows: Yishun/Yishun West" in err.reason


# ---------------------------------------------------------------------------------------------- 7: exact sets


def test_7_an_unknown_category_in_the_snapshot_is_refused(tmp_path):
    name = "ghs2015_income_employed_pa"

    def recase(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[df.index[1], "income_band"] = "BELOW 1,000"
        return df

    err = load_error(snapshot_copy(tmp_path, name, recase), name)
    assert_located(err, tmp_path / "snapshot" / TABLES[name].file_name, 3, "income_band")
    assert "unknown value 'BELOW 1,000'" in err.reason


def test_7_every_key_of_every_table_has_a_closed_set_or_is_declared_open():
    from census_sources.spec import GEOGRAPHY_KEYS

    for spec in TABLES.values():
        for key in spec.keys:
            assert key in spec.key_values or key in GEOGRAPHY_KEYS or key in spec.open_keys, (spec.name, key)
        assert set(spec.complete) <= set(spec.key_values), spec.name


# ---------------------------------------------------------------------------------------------- 8: URA names


@pytest.mark.raw
def test_8_a_no_break_space_is_normalised_to_the_ura_spelling(raw_root, tmp_path):
    root = raw_copy(raw_root, tmp_path, RESPOP)
    replace_in_line(raw_file(root, RESPOP), "Bedok,Bedok North,30,Females,", "Bedok North", "Bedok\u00a0north")
    build(root, tmp_path / "out", [RESPOP])
    assert (tmp_path / "out" / "respop_2025.csv").read_bytes() == (SNAPSHOT_DIR / "respop_2025.csv").read_bytes()


def test_8_every_subzone_of_the_snapshot_is_spelled_as_in_the_ura_list():
    ura = set(map(tuple, load_table("ura_subzones")[["planning_area", "subzone"]].to_numpy()))
    assert ("Jurong East", "Lakeside (Leisure)") in ura and ("Marine Parade", "Marina East (Mp)") in ura
    for name in (RESPOP, "census2020_ethnicity_sex"):
        df = load_table(name)
        pairs = set(map(tuple, df.loc[df.subzone != "Total", ["planning_area", "subzone"]].to_numpy()))
        assert pairs <= ura, (name, sorted(pairs - ura))


def test_8_a_renamed_subzone_in_the_snapshot_is_refused(tmp_path):
    def rename(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[df.subzone == "Bedok North", "subzone"] = "Atlantis"
        return df

    err = load_error(snapshot_copy(tmp_path, RESPOP, rename), RESPOP)
    first = pd.read_csv(SNAPSHOT_DIR / "respop_2025.csv", dtype=str).subzone.eq("Bedok North").idxmax() + 2
    assert_located(err, tmp_path / "snapshot" / "respop_2025.csv", first, "subzone")
    assert "subzone 'Atlantis' is not a URA MP2019 subzone of 'Bedok'" in err.reason


# ---------------------------------------------------------------------------------------------- 9: row sets


def test_9_a_deleted_row_of_the_snapshot_is_refused_at_load_not_a_key_error_later(tmp_path):
    err = load_error(snapshot_copy(tmp_path, MEDIAN, lambda df: df.drop(index=8)), MEDIAN)
    assert err.file == str(tmp_path / "snapshot" / TABLES[MEDIAN].file_name)
    assert "1 expected row missing" in err.reason and "occupation='Service & Sales Workers', sex='Male'" in err.reason


# ---------------------------------------------------------------------------------------------- 10, 11: the build


def failing_raw_root(raw_root: Path, tmp_path: Path) -> tuple[Path, int]:
    """Every raw file, with M182271's degree holders tripled: each parser reads it, its totals do not reconcile."""
    root = tmp_path / "raw"
    for spec in TABLES.values():
        for rel in spec.raw_files:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(raw_root / rel, root / rel)
    path = raw_file(root, "mom_labour_force_education_sex")
    return root, replace_in_line(path, "  Degree,", "1060.5", "3181.5")


@pytest.mark.raw
def test_10_only_still_checks_planning_areas_against_ura(raw_root, tmp_path, capsys):
    root = raw_copy(raw_root, tmp_path, RESPOP)
    path = raw_file(root, RESPOP)
    line = replace_in_line(path, "Ang Mo Kio,Ang Mo Kio Town Centre,0,Males,", "Ang Mo Kio,", "Atlantis,")
    out = tmp_path / "out"
    shutil.copytree(SNAPSHOT_DIR, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(["--raw", str(root), "--out", str(out), "--only", RESPOP]) == 1
    err = capsys.readouterr().err
    assert f"error: {path}, row {line}, column 'PA': planning area 'Atlantis' is not a URA MP2019 planning area" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # manifest not rewritten


@pytest.mark.raw
def test_11_a_failed_build_writes_nothing(raw_root, tmp_path):
    root, line = failing_raw_root(raw_root, tmp_path)
    out = tmp_path / "snapshot"
    shutil.copytree(SNAPSHOT_DIR, out)
    (out / "respop_2025.csv").write_text("an older file that must survive\n")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(SourceTableError) as exc:
        build(root, out)
    assert exc.value.file == str(raw_file(root, "mom_labour_force_education_sex"))
    assert "totals do not reconcile" in exc.value.reason
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw", "snapshot"]  # no temporary folder left


@pytest.mark.raw
def test_11_a_successful_build_replaces_the_folder_whole(raw_root, tmp_path):
    root = raw_copy(raw_root, tmp_path, "chinese_surnames_2000")
    out = tmp_path / "snapshot"
    shutil.copytree(SNAPSHOT_DIR, out)
    build(root, out, ["chinese_surnames_2000"])
    assert {p.name: p.read_bytes() for p in out.iterdir()} == {p.name: p.read_bytes() for p in SNAPSHOT_DIR.iterdir()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw", "snapshot"]


# ---------------------------------------------------------------------------------------------- 12: locations


@pytest.mark.raw
def test_12_a_duplicated_raw_line_names_the_raw_file_and_both_lines(raw_root, tmp_path):
    name = "census2020_religion_pa"
    root = raw_copy(raw_root, tmp_path, name)
    path = raw_file(root, name)
    line = line_of(path, "Ang Mo Kio,")
    edit_lines(path, lambda lines: [*lines[:line], lines[line - 1], *lines[line:]])
    err = parse_error(root, name)
    assert_located(err, path, line + 1, "Number")
    assert f"(first seen on row {line})" in err.reason


@pytest.mark.raw
def test_12_totals_that_do_not_reconcile_name_the_raw_cell_of_the_total(raw_root, tmp_path):
    root, line = failing_raw_root(raw_root, tmp_path)
    err = parse_error(root, "mom_labour_force_education_sex")
    # the first total that misses its parts: degree holders of both sexes, the very cell edited (Male + Female)
    assert_located(err, raw_file(root, "mom_labour_force_education_sex"), line, "2024")
    assert "the published total 3181500 (sex=Total, education=Degree)" in err.reason


@pytest.mark.raw
def test_12_an_extra_raw_column_is_refused(raw_root, tmp_path):
    name = "chinese_surnames_2000"
    root = raw_copy(raw_root, tmp_path, name)
    path = raw_file(root, name)
    edit_lines(path, lambda lines: [f"{x},note" if i == 0 else f"{x}," if x else x for i, x in enumerate(lines)])
    err = parse_error(root, name)
    assert_located(err, path, 1, "note")
    assert "unexpected column 'note'" in err.reason


@pytest.mark.parametrize("cell", ["5e2", "5_00", "+500", "1,00", "5 0", ".5", "0x1F", "500-"])
def test_12_odd_numerals_are_not_figures(cell):
    with pytest.raises(SourceTableError, match=re.escape(f"not a number: {cell!r}")):
        parse_number(cell, file="f.csv", row=2, column="Pop")


@pytest.mark.parametrize(("cell", "value"), [("500", 500), ("1,234", 1234), ("12,345.6", 12345.6), (" 7 ", 7)])
def test_12_publishers_numerals_still_read(cell, value):
    assert parse_number(cell, file="f.csv", row=2, column="Pop", integer=False)[0] == value


@pytest.mark.parametrize("cell", ["5e2", "5_00", "+500", " 500"])
def test_12_odd_numerals_in_the_snapshot_are_refused(tmp_path, cell):
    name = "chinese_surnames_2000"
    folder = tmp_path / "snapshot"
    shutil.copytree(SNAPSHOT_DIR, folder)
    path = folder / TABLES[name].file_name
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    rows[1][1] = cell
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    with pytest.raises(SourceTableError) as exc:
        load_table(name, folder, verify_checksum=False)
    assert_located(exc.value, path, 2, "count")
    assert f"not a whole number: {cell!r}" in exc.value.reason


def test_12_the_build_refuses_a_parser_that_does_not_say_where_its_rows_came_from():
    from census_sources.build import check_located

    frame = pd.DataFrame({"surname": ["Tan"], "count": [237800]})
    with pytest.raises(TypeError, match="returns rows without their raw location"):
        check_located(frame, TABLES["chinese_surnames_2000"])
    assert check_located(frame, TABLES["cea_name_tokens"]) is frame  # declared located=False
