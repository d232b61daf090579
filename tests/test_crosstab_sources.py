"""The joint cross-tabs (dwelling by qualification / occupation / marital status of the head, persons by dwelling x
religion x sex, households by income x dwelling, the 2015 labour force by qualification): parsers on tiny fixtures
and on corrupted copies of the raw files, and the strict loader on malformed snapshot copies. Every failure names the
file, the row and the column."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _helpers import assert_located
from test_snapshot import find, malformed_snapshot, rows_of, to_bytes

from census_sources import SNAPSHOT_DIR, TABLES, SourceTableError, load_table
from census_sources.parsers import datagovsg as dg
from census_sources.parsers.spreadsheets import HDB_OTHER
from census_sources.parsers.tablebuilder import read_crosstab
from census_sources.registry import (
    GHS_BROAD_DWELLING,
    GHS_FLAT_TYPES,
    HDB_DWELLINGS,
    HQA_GHS,
    SPEC_FILES,
    _label,
)
from census_sources.snapshot import to_csv_text

NEW_TABLES = (
    "ghs2015_dwelling_education_households",
    "ghs2015_dwelling_occupation_households",
    "ghs2015_dwelling_marital_tenancy_households",
    "ghs2015_dwelling_religion_sex",
    "census2020_income_dwelling_households",
    "mom_labour_force_education_sex_2015",
)


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------- GHS long, by dwelling

BROAD = (
    "year,level_1,level_2,value\n"
    '2015,Total,"Total",10.0\n'
    '2015,Total,"HDB Dwellings",8.0\n'
    '2015,Total,"Condominiums and Other Apartments",1.5\n'
    '2015,Total,"Landed Properties",0.5\n'
    '2015,University,"Total",4.0\n'
    '2015,University,"HDB Dwellings",2.5\n'
    '2015,University,"Condominiums and Other Apartments",1.2\n'
    '2015,University,"Landed Properties",0.3\n'
)
HDB = (
    "year,level_1,level_2,level_3,value\n"
    "2015,Total,HDB Dwellings,1- and 2-Room Flats,1.0\n"
    "2015,Total,HDB Dwellings,3-Room Flats,2.0\n"
    "2015,Total,HDB Dwellings,4-Room Flats,3.0\n"
    "2015,Total,HDB Dwellings,5-Room and Executive Flats,1.8\n"
    "2015,University,HDB Dwellings,3-Room Flats,0.5\n"
    "2015,University,HDB Dwellings,4-Room Flats,1.0\n"
    "2015,University,HDB Dwellings,5-Room & Executive Flats,1.0\n"
)
LEVELS = {"education": _label(HQA_GHS, "qualification")}


def parse_dwelling(tmp_path: Path, broad: str = BROAD, hdb: str = HDB):
    b, h = write(tmp_path, "broad.csv", broad), write(tmp_path, "hdb.csv", hdb)
    return (
        b,
        h,
        lambda: dg.parse_long_dwelling(
            b, h, LEVELS, broad=GHS_BROAD_DWELLING, flat_types=GHS_FLAT_TYPES, hdb=HDB_DWELLINGS, hdb_other=HDB_OTHER
        ),
    )


def test_parse_long_dwelling_splits_hdb_keeps_its_remainder_and_fills_nil_cells(tmp_path):
    *_, parse = parse_dwelling(tmp_path)
    df = parse().set_index(["education", "dwelling_type"])["count"]
    assert df[("Total", "Total")] == 10_000
    assert df[("Total", "HDB 4-Room Flats")] == 3_000
    assert df[("Total", HDB_OTHER)] == 200  # HDB total 8.0k less its four flat types 7.8k
    assert df[("Total", "Others")] == 0  # absent from the download: the publisher's nil
    assert df[("University", "HDB 1- and 2-Room Flats")] == 0
    assert df[("University", "HDB 5-Room and Executive Flats")] == 1_000  # the '&' spelling of the flat type
    assert df[("University", "Condominiums and Other Apartments")] == 1_200
    assert len(df) == 2 * 9  # total, four flat types, HDB other, condominiums, landed, others per key


@pytest.mark.parametrize(
    "which, old, new, bad, row, column, reason",
    [
        pytest.param("broad", '2015,University,"Total"', '2015,Universe,"Total"', "broad", 6, "level_1",
                     "unknown label 'Universe'", id="unknown-qualification"),
        pytest.param("broad", '"Landed Properties",0.5', '"Caravans",0.5', "broad", 5, "level_2",
                     "unknown dwelling type", id="unknown-dwelling"),
        pytest.param("hdb", "2015,Total,HDB Dwellings,3-Room Flats", "2015,Total,HDB Dwellings,3-Room Flat", "hdb", 3,
                     "level_3", "unknown flat type", id="unknown-flat-type"),
        pytest.param("hdb", "2015,Total,HDB Dwellings,1- and", "2015,Total,HDB Flats,1- and", "hdb", 2, "level_2",
                     "expected 'HDB Dwellings'", id="wrong-constant-level"),
        pytest.param("broad", '"Total",10.0', '"Total",-10.0', "broad", 2, "value", "negative figure",
                     id="negative"),
        pytest.param("hdb", "4-Room Flats,3.0", "4-Room Flats,3.O", "hdb", 4, "value", "not a number",
                     id="non-numeric"),
        pytest.param("broad", '2015,University,"Landed', '2014,University,"Landed', "broad", 9, "year", "2014",
                     id="wrong-year"),
        pytest.param("hdb", "3-Room Flats,2.0", "3-Room Flats", "hdb", 3, "value", "row has 4 fields, expected 5",
                     id="short-row"),
        pytest.param("broad", '"HDB Dwellings",8.0', '"HDB Dwellings",7.0', "broad", 3, "value",
                     "HDB Dwellings 7000 is less than the sum of its flat types 7800", id="hdb-below-flat-types"),
        pytest.param("hdb", "2015,University,HDB Dwellings,3-Room", "2015,Polytechnic,HDB Dwellings,3-Room", "hdb",
                     6, "level_1", "no matching rows for ('Polytechnic',)", id="hdb-key-without-broad-rows"),
        pytest.param("broad", '2015,University,"Total",4.0', '2015,Total,"Total",4.0', "broad", 6, "level_1",
                     "duplicated key ('Total', 'Total') (first seen on row 2)", id="duplicated-key"),
        pytest.param("broad", '2015,University,"Total",4.0\n', "", "broad", 6, "level_1",
                     "no 'Total' dwelling row", id="no-total-row"),
    ],
)  # fmt: skip
def test_parse_long_dwelling_malformed(tmp_path, which, old, new, bad, row, column, reason):
    files = {"broad": BROAD, "hdb": HDB}
    assert old in files[which]
    files[which] = files[which].replace(old, new, 1)
    b, h, parse = parse_dwelling(tmp_path, files["broad"], files["hdb"])
    with pytest.raises(SourceTableError) as exc:
        parse()
    assert_located(exc.value, {"broad": b, "hdb": h}[bad], row, column)
    assert reason in exc.value.reason


def test_parse_long_dwelling_refuses_a_header_without_the_flat_type_level(tmp_path):
    hdb = "year,level_1,level_2,value\n" + "\n".join(line.rsplit(",", 2)[0] + ",1" for line in HDB.splitlines()[1:])
    _, h, parse = parse_dwelling(tmp_path, hdb=hdb)
    with pytest.raises(SourceTableError, match="unexpected header") as exc:
        parse()
    assert (exc.value.file, exc.value.row) == (str(h), 1)


# ---------------------------------------------------------------------------------------------- Table Builder cross-tab

CROSSTAB = (
    ",,,,,,,,,,\n"
    "Table Title: Resident Households by Monthly Household Income from Work and Type of Dwelling,,,,,,,,,,\n"
    ",,,,,,,,,Number,\n"
    "Monthly Household Income from Work,Total,HDB Dwellings,,,,,Condominiums & Other Apartments,"
    "Landed Properties,Others,\n"
    ",,Total,1- & 2- Room Flats2/,3-Room Flats,4-Room Flats,5-Room & Executive Flats,,,,\n"
    "Total,100,80,5,20,30,25,15,4,1,\n"
    "  No Employed Person,40,35,5,10,10,10,3,2,0,\n"
    '"  1,000 - 1,999",60,45,0,10,20,15,12,2,1,\n'
    ",,,,,,,,,,\n"
    "Footnotes:,,,,,,,,,,\n"
)


def crosstab_raw(tmp_path: Path, content: str = CROSSTAB) -> tuple[Path, Path]:
    """A raw root holding only the income x dwelling export (at its registered path)."""
    path = tmp_path / "raw" / SPEC_FILES["census2020_income_dwelling_households"]
    path.parent.mkdir(parents=True)
    path.write_text(content, encoding="utf-8")
    return tmp_path / "raw", path


def test_read_crosstab_composes_the_two_level_header(tmp_path):
    tab = read_crosstab(write(tmp_path, "x.csv", CROSSTAB), "Monthly Household Income from Work")
    assert tab.unit == "Number" and tab.header_line == 4
    assert tab.columns[:3] == ["Total", "HDB Dwellings / Total", "HDB Dwellings / 1- & 2- Room Flats2/"]
    assert tab.columns[-3:] == ["Condominiums & Other Apartments", "Landed Properties", "Others"]
    assert [(line, label) for line, label, _ in tab.rows] == [
        (6, "Total"),
        (7, "No Employed Person"),
        (8, "1,000 - 1,999"),
    ]


def test_census_income_dwelling_parses_and_drops_the_checked_hdb_total(tmp_path):
    raw, _ = crosstab_raw(tmp_path)
    df = TABLES["census2020_income_dwelling_households"].parse(raw).set_index(["income_band", "dwelling_type"])
    assert df.loc[("1,000-1,999", "HDB 4-Room Flats"), "count"] == 20
    assert df.loc[("No Employed Person", "Total"), "count"] == 40
    assert "HDB Dwellings" not in set(df.index.get_level_values("dwelling_type"))
    assert len(df) == 3 * 8


@pytest.mark.parametrize(
    "old, new, row, column, reason",
    [
        pytest.param("  No Employed Person,40,35,5,10", "  No Employed Person,40,35,5,1O", 7,
                     "HDB Dwellings / 3-Room Flats", "not a number: '1O'", id="non-numeric"),
        pytest.param("  No Employed Person,40,35", "  No Employed Person,40,-35", 7, "HDB Dwellings / Total",
                     "negative figure", id="negative"),
        pytest.param('"  1,000 - 1,999"', '"  1,000 - 1,998"', 8, "Monthly Household Income from Work",
                     "unknown income band", id="unknown-band"),
        pytest.param("Total,100,80,5", "Total,100,70,5", 6, "HDB Dwellings / Total",
                     "HDB Dwellings / Total = 70 but its parts", id="hdb-total-mismatch"),
        pytest.param("Landed Properties,Others,", "Landed Properties,Caravans,", 4, "Caravans",
                     "unexpected column 'Caravans'", id="unexpected-column"),
        pytest.param("Landed Properties,Others,\n", "Landed Properties,,\n", 4, "Others", "missing column 'Others'",
                     id="missing-column"),
        pytest.param(",15,4,1,\n", ",15,4,1,7\n", 6, None, "figure '7' under no column heading",
                     id="figure-without-heading"),
        pytest.param(",,,,,,,,,Number,", ",,,,,,,,,Per Cent,", None, None, "found unit 'Per Cent'", id="unit"),
        pytest.param("Monthly Household Income from Work,Total", "Income,Total", None, None,
                     "no header row starting", id="no-header"),
    ],
)  # fmt: skip
def test_census_income_dwelling_malformed(tmp_path, old, new, row, column, reason):
    assert old in CROSSTAB
    raw, path = crosstab_raw(tmp_path, CROSSTAB.replace(old, new, 1))
    with pytest.raises(SourceTableError) as exc:
        TABLES["census2020_income_dwelling_households"].parse(raw)
    assert_located(exc.value, path, row, column)
    assert reason in exc.value.reason


# ---------------------------------------------------------------------------------------------- real raw files


def raw_copy(raw_root: Path, tmp_path: Path, name: str) -> Path:
    root = tmp_path / "raw"
    for rel in TABLES[name].raw_files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(raw_root / rel, root / rel)
    return root


@pytest.mark.parametrize("name", NEW_TABLES)
def test_raw_files_parse_to_the_committed_snapshot(raw_root, name):
    text = to_csv_text(TABLES[name].parse(raw_root), TABLES[name])
    assert text.encode("utf-8") == (SNAPSHOT_DIR / TABLES[name].file_name).read_bytes()


@pytest.mark.parametrize(
    "name, edited, old, new, reported, reported_line, column, reason",
    [
        pytest.param("ghs2015_dwelling_religion_sex", 0, '2015,Islam,Males,"HDB Dwellings",220.2',
                     '2015,Islam,Males,"HDB Dwellings",-220.2', 0, None, "value", "negative figure",
                     id="religion-negative"),
        pytest.param("ghs2015_dwelling_education_households", 1,
                     "2015,University,HDB Dwellings,4-Room Flats,77.3", "2015,University,HDB Dwellings,4-Room Flats,97",
                     0, '2015,University,"HDB Dwellings"', "value", "less than the sum of its flat types",
                     id="education-flat-types-exceed-hdb"),
        pytest.param("ghs2015_dwelling_occupation_households", 0, '2015,Professionals,"Total",176.5',
                     '2015,Profesionals,"Total",176.5', 0, None, "level_1", "unknown label 'Profesionals'",
                     id="occupation-label"),
        pytest.param("ghs2015_dwelling_marital_tenancy_households", 0, '2015,Widowed,Owner,"Others",0.5',
                     '2015,Widowed,Tenant,"Others",0.5', 0, None, "level_2", "unknown label 'Tenant'",
                     id="tenancy-label"),
        pytest.param("census2020_income_dwelling_households", 0, '"  9,000 - 9,999",59781,51603',
                     '"  9,000 - 9,999",59781,5I603', 0, None, "HDB Dwellings / Total", "not a number",
                     id="income-cell"),
    ],
)  # fmt: skip
def test_corrupted_raw_file_names_file_row_and_column(
    raw_root, tmp_path, name, edited, old, new, reported, reported_line, column, reason
):
    """Edit one raw file; the error names the file and line where the defect shows (for a flat type that exceeds
    its HDB total: the HDB-total row of the broad file)."""
    root = raw_copy(raw_root, tmp_path, name)
    path = root / TABLES[name].raw_files[edited]
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    bad = root / TABLES[name].raw_files[reported]
    marker = reported_line or new
    line = next(i for i, t in enumerate(bad.read_text(encoding="utf-8").split("\n"), start=1) if t.startswith(marker))
    with pytest.raises(SourceTableError) as exc:
        TABLES[name].parse(root)
    assert_located(exc.value, bad, line, column)
    assert reason in exc.value.reason


def test_uncorrupted_raw_copies_parse(raw_root, tmp_path):
    for name in NEW_TABLES:
        assert len(TABLES[name].parse(raw_copy(raw_root, tmp_path / name, name))) == len(load_table(name))


# ---------------------------------------------------------------------------------------------- strict loader


def test_unknown_dwelling_type_in_the_snapshot_names_row_and_column(tmp_path):
    name = "ghs2015_dwelling_education_households"
    rows = rows_of(name)
    i = find(rows, "University", "Landed Properties")
    rows[i][1] = "Caravans"
    path = malformed_snapshot(tmp_path, name, to_bytes(rows))
    with pytest.raises(SourceTableError) as exc:
        load_table(name, snapshot_dir=path.parent)
    assert_located(exc.value, path, i + 1, "dwelling_type")
    assert "unknown value 'Caravans'" in exc.value.reason


def test_cross_tab_totals_that_do_not_reconcile_fail(tmp_path):
    name = "ghs2015_dwelling_religion_sex"
    rows = rows_of(name)
    i = find(rows, "Islam", "Male", "HDB 4-Room Flats")
    rows[i][3] = str(int(rows[i][3]) + 50_000)
    path = malformed_snapshot(tmp_path, name, to_bytes(rows))
    with pytest.raises(SourceTableError, match="totals do not reconcile") as exc:
        load_table(name, snapshot_dir=path.parent)
    assert exc.value.file == str(path) and exc.value.column == "count"


def test_known_published_totals_of_the_cross_tabs():
    edu = load_table("ghs2015_dwelling_education_households").set_index(["education", "dwelling_type"])["count"]
    assert edu[("Total", "Total")] == 1_223_500 and edu[("University", "Condominiums and Other Apartments")] == 109_000
    occ = load_table("ghs2015_dwelling_occupation_households").set_index(["occupation", "dwelling_type"])["count"]
    assert occ[("Managers & Administrators", "Total")] == 222_700
    rel = load_table("ghs2015_dwelling_religion_sex").set_index(["religion", "sex", "dwelling_type"])["count"]
    assert rel[("Total", "Total", "Total")] == 3_275_900
    inc = load_table("census2020_income_dwelling_households").set_index(["income_band", "dwelling_type"])["count"]
    assert inc[("20,000 & Over", "Condominiums and Other Apartments")] == 84_772
    lf = load_table("mom_labour_force_education_sex_2015").set_index(["sex", "education"])["count"]
    assert lf[("Total", "Degree")] == 719_400
