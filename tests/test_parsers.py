"""Unit tests for every parser family, on tiny fixture files written to ``tmp_path``.

Each family is checked on a well-formed file (labels normalised, figures scaled, publisher quirks handled) and on
malformed ones: every failure must be a ``SourceTableError`` naming the file, the row and the column.
"""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from _helpers import assert_located

from census_sources.errors import WHERE, SourceLocation, SourceTableError
from census_sources.locate import visible
from census_sources.parsers import datagovsg as dg
from census_sources.parsers import mom, other, spreadsheets
from census_sources.parsers.common import ETHNICITY, TOTAL
from census_sources.parsers.tablebuilder import TBRow, blocks, leaves, read_tablebuilder
from census_sources.readers import parse_number, read_csv_rows, read_text
from census_sources.registry import MARITAL, _const, _label

# ---------------------------------------------------------------------------------------------- helpers


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    """Write ``content`` byte for byte (str is encoded as UTF-8, line endings untouched)."""
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def record(df: pd.DataFrame, **keys: str) -> pd.Series:
    """The one row of ``df`` with these key values."""
    mask = pd.Series(True, index=df.index)
    for k, v in keys.items():
        mask &= df[k] == v
    hits = df[mask]
    assert len(hits) == 1, f"{keys}: {len(hits)} rows"
    return hits.iloc[0]


# ---------------------------------------------------------------------------------------------- readers


def test_read_text_strips_utf8_bom_and_csv_rows_normalise_crlf(tmp_path):
    path = write(tmp_path, "bom.csv", b"\xef\xbb\xbfPA,Pop\r\nBedok,10\r\n")
    assert read_text(path) == "PA,Pop\r\nBedok,10\r\n"
    assert read_csv_rows(path) == [["PA", "Pop"], ["Bedok", "10"]]


def test_read_text_keeps_non_ascii_utf8(tmp_path):
    path = write(tmp_path, "names.csv", "rank,pinyin\n1,Chén\n")
    assert read_csv_rows(path)[1] == ["1", "Chén"]


@pytest.mark.parametrize(
    "content, name",
    [
        pytest.param(b"\xff\xfe" + "PA,Pop\n".encode("utf-16-le"), "UTF-16 (little-endian)", id="utf-16-le"),
        pytest.param(b"\xfe\xff" + "PA,Pop\n".encode("utf-16-be"), "UTF-16 (big-endian)", id="utf-16-be"),
        pytest.param("PA,Pop\n".encode("utf-16"), "UTF-16", id="utf-16-python-default"),
        pytest.param(b"\xff\xfe\x00\x00" + "PA,Pop\n".encode("utf-32-le"), "UTF-32 (little-endian)", id="utf-32"),
    ],
)
def test_read_text_refuses_utf16_and_utf32(tmp_path, content, name):
    path = write(tmp_path, "wide.csv", content)
    with pytest.raises(SourceTableError) as exc:
        read_text(path)
    assert_located(exc.value, path, 1, None)
    assert name in exc.value.reason
    assert "expected UTF-8" in exc.value.reason


@pytest.mark.parametrize(
    "content, row, column",
    [
        pytest.param(b"PA,SZ,Pop\nBedok,Bedok North,10\nBedok,Caf\xe9 Row,20\n", 3, "SZ", id="second-column"),
        pytest.param(b"PA,SZ,Pop\n\xe9Bedok,X,10\n", 2, "PA", id="first-column"),
        pytest.param(b"PA,SZ,Pop\r\nA,B,1\r\nBedok,X,1\xff\r\n", 3, "Pop", id="last-column-crlf"),
        pytest.param(b'PA,SZ,Pop\n"Bedok, East",X\xe9,1\n', 2, "SZ", id="after-quoted-comma"),
        pytest.param(b"\xef\xbb\xbfPA,SZ\nA,B,\xe9\n", 2, "#3", id="beyond-header-after-bom"),
    ],
)
def test_read_text_invalid_utf8_names_row_and_column(tmp_path, content, row, column):
    path = write(tmp_path, "latin1.csv", content)
    with pytest.raises(SourceTableError) as exc:
        read_text(path)
    assert_located(exc.value, path, row, column)
    assert "not valid UTF-8" in exc.value.reason


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="zero-bytes"),
        pytest.param(b"  \r\n\n", id="whitespace"),
        pytest.param(b"\xef\xbb\xbf", id="bom-only"),
        pytest.param(b"\xef\xbb\xbf\r\n", id="bom-and-newline"),
    ],
)
def test_read_text_refuses_empty_files(tmp_path, content):
    path = write(tmp_path, "empty.csv", content)
    with pytest.raises(SourceTableError, match="file is empty") as exc:
        read_text(path)
    assert exc.value.file == str(path)


def test_read_text_missing_file(tmp_path):
    with pytest.raises(SourceTableError, match="file not found"):
        read_text(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    "cell, kwargs, expected",
    [
        pytest.param("505,000", {}, 505000, id="thousands-separator"),
        pytest.param("1,234,567", {}, 1234567, id="two-separators"),
        pytest.param("  42 ", {}, 42, id="padded"),
        pytest.param("-", {}, 0, id="dash-is-nil"),
        pytest.param("–", {}, 0, id="en-dash-is-nil"),
        pytest.param("-", {"integer": False}, 0.0, id="dash-float"),
        pytest.param("2365.6", {"scale": 1000}, 2365600, id="thousands-scaled"),
        pytest.param("0.1", {"scale": 1000}, 100, id="tenth-of-thousand"),
        pytest.param(157.2, {"scale": 1000}, 157200, id="spreadsheet-float-scaled"),
        pytest.param(7, {}, 7, id="int-cell"),
        pytest.param(3.0, {}, 3, id="whole-float-cell"),
        pytest.param("66.5", {"integer": False}, 66.5, id="percent"),
    ],
)
def test_parse_number_values(cell, kwargs, expected):
    value, flag = parse_number(cell, file="t.csv", row=5, column="Pop", **kwargs)
    assert value == expected
    assert type(value) is type(expected)
    assert flag == ""


@pytest.mark.parametrize(
    "cell, flag",
    [pytest.param("na", "na", id="na"), pytest.param("NA", "na", id="NA"), pytest.param("s", "s", id="suppressed")],
)
def test_parse_number_flags(cell, flag):
    assert parse_number(cell, file="t.csv", row=5, column="2024", allow_flags=True) == (None, flag)


@pytest.mark.parametrize(
    "cell, kwargs, reason",
    [
        pytest.param("-5", {}, "negative figure", id="negative-text"),
        pytest.param(-3, {}, "negative figure", id="negative-int"),
        pytest.param("-0.1", {"integer": False}, "negative figure", id="negative-float"),
        pytest.param("abc", {}, "not a number: 'abc'", id="text"),
        pytest.param("12a", {}, "not a number: '12a'", id="trailing-letter"),
        pytest.param("S", {"allow_flags": True}, "not a number: 'S'", id="upper-s-is-not-a-flag"),
        pytest.param("", {}, "empty cell", id="empty"),
        pytest.param("   ", {}, "empty cell", id="blank"),
        pytest.param(None, {}, "empty cell", id="none"),
        pytest.param(float("nan"), {}, "empty cell", id="nan-cell"),
        pytest.param("inf", {}, "not a finite number", id="inf"),
        pytest.param("10.5", {}, "expected a whole count", id="fraction-of-a-person"),
        pytest.param("na", {}, "not available/suppressed", id="na-not-allowed"),
        pytest.param("s", {}, "not available/suppressed", id="s-not-allowed"),
    ],
)
def test_parse_number_refusals_name_row_and_column(cell, kwargs, reason):
    with pytest.raises(SourceTableError) as exc:
        parse_number(cell, file="data/t.csv", row=7, column="Pop", **kwargs)
    assert_located(exc.value, "data/t.csv", 7, "Pop")
    assert reason in exc.value.reason


def test_parse_number_names_the_sheet():
    with pytest.raises(SourceTableError) as exc:
        parse_number("x", file="book.xlsx", row=3, column="D", sheet="G4")
    assert_located(exc.value, "book.xlsx", 3, "D", sheet="G4")
    assert str(exc.value).startswith("book.xlsx, sheet 'G4', row 3, column 'D': ")


# ---------------------------------------------------------------------------------------------- data.gov.sg wide

RELIGION_COLS = {
    "Total": {"religion": "Total"},
    "NoReligion": {"religion": "No Religion"},
    "Buddhism": {"religion": "Buddhism"},
    "Taoism1": {"religion": "Taoism"},  # footnote digit glued to the name
}
RELIGION_CSV = (
    "\ufeffNumber,Total,NoReligion,Buddhism,Taoism1\r\n"
    'Total,"1,000",200,500,300\r\n'
    "Ang Mo Kio,400,100,200,100\r\n"
    "\r\n"
    "Others,600,100,300,200\r\n"
)


def test_parse_wide_planning_area_table(tmp_path):
    path = write(tmp_path, "religion.csv", RELIGION_CSV)
    df = dg.parse_wide(path, RELIGION_COLS)
    assert visible(list(df.columns)) == ["planning_area", "religion", "count"]
    assert len(df) == 3 * 4  # blank line skipped
    assert record(df, planning_area="Total", religion="Total")["count"] == 1000
    assert record(df, planning_area="Others", religion="Taoism")["count"] == 200
    assert set(df["religion"]) == {"Total", "No Religion", "Buddhism", "Taoism"}


ETH_HEADER = "Number,Total_Total,Total_Males,Total_Females\n"
ETH_COLS = {
    "Total_Total": {"sex": "Total"},
    "Total_Males": {"sex": "Male"},
    "Total_Females": {"sex": "Female"},
}
ETH_CSV = ETH_HEADER + (
    "Total,2000,990,1010\n"
    "Ang Mo Kio - Total,1200,590,610\n"
    "Ang Mo Kio Town Centre,200,100,100\n"
    "Cheng San,1000,490,510\n"
    "Changi- Total,800,400,400\n"
    "Changi Airport,10,-,-\n"
    "Changi Point,790,400,390\n"
)


def test_parse_wide_subzone_table_with_pa_total_rows_and_changi_quirk(tmp_path):
    path = write(tmp_path, "eth.csv", ETH_CSV)
    df = dg.parse_wide(path, ETH_COLS, geography="subzone")
    geo = list(dict.fromkeys(zip(df["planning_area"], df["subzone"], strict=True)))
    assert geo == [
        ("Total", "Total"),
        ("Ang Mo Kio", "Total"),
        ("Ang Mo Kio", "Ang Mo Kio Town Centre"),
        ("Ang Mo Kio", "Cheng San"),
        ("Changi", "Total"),  # 'Changi- Total' (no space before the dash)
        ("Changi", "Changi Airport"),
        ("Changi", "Changi Point"),
    ]
    assert record(df, planning_area="Changi", subzone="Total", sex="Female")["count"] == 400
    assert record(df, planning_area="Changi", subzone="Changi Airport", sex="Male")["count"] == 0  # '-'
    assert record(df, planning_area="Changi", subzone="Changi Airport", sex="Total")["count"] == 10


def test_parse_wide_values_in_thousands(tmp_path):
    path = write(tmp_path, "inc.csv", "Thousands,Total,Below_1_000\nTotal,2151.9,173.7\nBedok,150.3,0.1\n")
    cols = {"Total": {"income_band": "Total"}, "Below_1_000": {"income_band": "Below 1,000"}}
    df = dg.parse_wide(path, cols, label_col="Thousands", scale=1000)
    assert record(df, planning_area="Total", income_band="Total")["count"] == 2151900
    assert record(df, planning_area="Bedok", income_band="Below 1,000")["count"] == 100


DWELLING_CSV = "Number,Total,HDB_Total,HDB_3,HDB_4,Landed\nTotal,100,80,30,50,20\nBedok,50,{hdb},20,20,9\n"
DWELLING_COLS = {
    "Total": {"dwelling_type": "Total"},
    "HDB_Total": {},  # accounted for, checked, dropped
    "HDB_3": {"dwelling_type": "HDB 3-Room Flats"},
    "HDB_4": {"dwelling_type": "HDB 4-Room Flats"},
    "Landed": {"dwelling_type": "Landed Properties"},
}


@pytest.mark.parametrize("hdb", [40, 42, 38], ids=["exact", "within-tolerance-high", "within-tolerance-low"])
def test_parse_wide_check_sum_passes_within_tolerance_and_drops_mapped_out_columns(tmp_path, hdb):
    path = write(tmp_path, "dwelling.csv", DWELLING_CSV.format(hdb=hdb))
    df = dg.parse_wide(path, DWELLING_COLS, checks=dg.check_sum("HDB_Total", ["HDB_3", "HDB_4"], tolerance=2))
    assert len(df) == 2 * 4
    assert "HDB_Total" not in set(df["dwelling_type"])


@pytest.mark.parametrize("hdb", [43, 37], ids=["over", "under"])
def test_parse_wide_row_level_check_sum_failure(tmp_path, hdb):
    path = write(tmp_path, "dwelling.csv", DWELLING_CSV.format(hdb=hdb))
    with pytest.raises(SourceTableError) as exc:
        dg.parse_wide(path, DWELLING_COLS, checks=dg.check_sum("HDB_Total", ["HDB_3", "HDB_4"], tolerance=2))
    assert_located(exc.value, path, 3, "HDB_Total")
    assert f"HDB_Total = {hdb} but its parts (HDB_3, HDB_4) sum to 40" in exc.value.reason


def test_parse_wide_all_checks_runs_every_check(tmp_path):
    path = write(tmp_path, "dwelling.csv", DWELLING_CSV.format(hdb=40))
    checks = dg.all_checks(
        dg.check_sum("HDB_Total", ["HDB_3", "HDB_4"]),
        dg.check_sum("Total", ["HDB_Total", "Landed"]),  # Bedok: 50 != 40 + 9
    )
    with pytest.raises(SourceTableError) as exc:
        dg.parse_wide(path, DWELLING_COLS, checks=checks)
    assert_located(exc.value, path, 3, "Total")


@pytest.mark.parametrize(
    "content, geography, row, column, reason",
    [
        pytest.param(
            "Number,Total_Total,Total_Males,Total_Females,Total_Unknown\nTotal,1,1,0,0\n",
            "planning_area",
            1,
            "Total_Unknown",
            "unexpected column",
            id="unexpected-column",
        ),
        pytest.param(
            "Number,Total_Total,Total_Males\nTotal,1,1\n",
            "planning_area",
            1,
            "Total_Females",
            "missing column",
            id="missing-column",
        ),
        pytest.param(
            "Label,Total_Total,Total_Males,Total_Females\nTotal,1,1,0\n",
            "planning_area",
            1,
            "Label",
            "first column to be 'Number'",
            id="wrong-label-column",
        ),
        pytest.param(
            ETH_HEADER + "Total,2,1,1\nCheng San,2,1,1\n",
            "subzone",
            3,
            "Number",
            "before any planning-area total row",
            id="subzone-before-pa-total",
        ),
        pytest.param(
            ETH_HEADER + "Total,2,1,1\n,2,1,1\n", "planning_area", 3, "Number", "empty row label", id="empty-label"
        ),
        pytest.param(
            ETH_HEADER + "Total,2,1,1\nBedok,2,1\n",
            "planning_area",
            3,
            "Total_Females",
            "row has 3 fields, expected 4",
            id="short-row",
        ),
        pytest.param(
            ETH_HEADER + "Total,2,1,1,9\n", "planning_area", 2, "#5", "row has 5 fields, expected 4", id="long-row"
        ),
        pytest.param(
            ETH_HEADER + "Total,2,1,1\nBedok,2,one,1\n",
            "planning_area",
            3,
            "Total_Males",
            "not a number: 'one'",
            id="non-numeric",
        ),
        pytest.param(
            ETH_HEADER + "Total,2,1,1\nBedok,2,-1,3\n",
            "planning_area",
            3,
            "Total_Males",
            "negative figure",
            id="negative",
        ),
        pytest.param(ETH_HEADER + "\n", "planning_area", 2, None, "no data rows", id="header-only"),
    ],
)
def test_parse_wide_malformed(tmp_path, content, geography, row, column, reason):
    path = write(tmp_path, "bad.csv", content)
    with pytest.raises(SourceTableError) as exc:
        dg.parse_wide(path, ETH_COLS, geography=geography)
    assert_located(exc.value, path, row, column)
    assert reason in exc.value.reason


# ---------------------------------------------------------------------------------------------- data.gov.sg long

PA_LONG = (
    "year,level_1,level_2,level_3,level_4,value\n"
    "2015,Total,Total,Total,Ang Mo Kio,157.2\n"
    "2015,Single,Males,Total,Ang Mo Kio,30.1\n"
    "2015,Total,Total,Total,Bedok,235.9\n"
    "2015,Single,Females,Total,Bedok,-\n"
)
NAT_LONG = 'year,level_1,level_2,level_3,value\n2015,Total,Total,"Total",3275.9\n2015,Single,Males,"Total",1034.5\n'
SEX_LABELS = {"total": "Total", "males": "Male", "females": "Female"}
LONG_LEVELS = {"marital_status": _label(MARITAL, "marital"), "sex": _label(SEX_LABELS, "sex"), "_total": _const(TOTAL)}


def long_files(tmp_path: Path, pa: str = PA_LONG, nat: str = NAT_LONG) -> tuple[Path, Path]:
    return write(tmp_path, "by-pa.csv", pa), write(tmp_path, "by-pa-total.csv", nat)


def test_parse_long_thousands_pa_and_national_files(tmp_path):
    pa, nat = long_files(tmp_path)
    df = dg.parse_long_thousands(pa, nat, LONG_LEVELS)
    # '_total' is checked, not kept
    assert visible(list(df.columns)) == ["marital_status", "sex", "planning_area", "count"]
    assert len(df) == 4 + 2
    assert record(df, marital_status="Total", sex="Total", planning_area="Ang Mo Kio")["count"] == 157200
    assert record(df, marital_status="Single", sex="Male", planning_area="Ang Mo Kio")["count"] == 30100
    assert record(df, marital_status="Single", sex="Female", planning_area="Bedok")["count"] == 0
    assert record(df, marital_status="Total", sex="Total", planning_area="Total")["count"] == 3275900
    assert record(df, marital_status="Single", sex="Male", planning_area="Total")["count"] == 1034500


def test_parse_long_thousands_normaliser_may_drop_rows(tmp_path):
    pa, nat = long_files(tmp_path)
    levels = {**LONG_LEVELS, "marital_status": lambda s: None if s == "Single" else s}
    df = dg.parse_long_thousands(pa, nat, levels)
    assert set(df["marital_status"]) == {"Total"}
    assert len(df) == 3


@pytest.mark.parametrize(
    "which, old, new, row, column, reason",
    [
        pytest.param("pa", "Single,Males", "Engaged,Males", 3, "level_1", "unknown label 'Engaged'", id="bad-label"),
        pytest.param("nat", 'Males,"Total"', 'Males,"Males"', 3, "level_3", "expected 'Total'", id="bad-constant"),
        pytest.param(
            "pa", "2015,Total,Total,Total,Bedok", "2014,Total,Total,Total,Bedok", 4, "year", "2014", id="year"
        ),
        pytest.param("pa", "Bedok,235.9", "Bedok,-235.9", 4, "value", "negative figure", id="negative"),
        pytest.param("nat", "3275.9", "3275.9.1", 2, "value", "not a number", id="non-numeric"),
        pytest.param("pa", "Bedok,235.9", "235.9", 4, "value", "row has 5 fields, expected 6", id="short-row"),
    ],
)
def test_parse_long_thousands_malformed(tmp_path, which, old, new, row, column, reason):
    files = {"pa": PA_LONG, "nat": NAT_LONG}
    assert old in files[which]
    files[which] = files[which].replace(old, new, 1)
    pa, nat = long_files(tmp_path, files["pa"], files["nat"])
    with pytest.raises(SourceTableError) as exc:
        dg.parse_long_thousands(pa, nat, LONG_LEVELS)
    assert_located(exc.value, pa if which == "pa" else nat, row, column)
    assert reason in exc.value.reason


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("year,level_1,level_2,level_3,value", id="one-level-missing"),
        pytest.param("level_1,level_2,level_3,level_4,value", id="no-year"),
        pytest.param("\nyear,level_1,level_2,level_3,level_4,value", id="blank-first-line"),
    ],
)
def test_parse_long_thousands_unexpected_header(tmp_path, header):
    pa, nat = long_files(tmp_path, header + "\n" + PA_LONG.split("\n", 1)[1])
    with pytest.raises(SourceTableError, match="unexpected header") as exc:
        dg.parse_long_thousands(pa, nat, LONG_LEVELS)
    assert exc.value.file == str(pa)
    assert exc.value.row == 1


# ---------------------------------------------------------------------------------------------- Table Builder

TB_META = (
    ",,,\n"
    "Theme: Economy & Prices,,,\n"
    '"Subject: Labour, Employment, Wages and Productivity",,,\n'
    '"Table Title: Employed Residents Aged 15 Years And Over By Occupation And Age Group, (June), Annual",,,\n'
    ",,,\n"
    "Data last updated: 28/01/2025,,,\n"
    "Source: MINISTRY OF MANPOWER,,,\n"
    ",,,\n"
    ",,,Thousand\n"
)  # 9 lines: the 'Data Series' header is line 10
TB_FOOTER = (
    ",,,\n"
    "Footnotes:,,,\n"
    "Numbers may not add up to the totals due to rounding.,,,\n"
    "Notation:,,,\n"
    "na   not available or not applicable,,,\n"
    " -     nil or negligible or not significant,,,\n"
)
TB_OCC = (
    TB_META
    + "Data Series,2024 ,2023 ,2022 \n"
    + '"All Occupation Groups, (Total Employed Residents)",100.5,99,98\n'  # line 11
    + "  Professionals,60.2,59,58\n"
    + "  Other Occupation Groups Nes,40.3,40,40\n"
    + "Employed Residents Aged 15 - 19 Years,10,9,8\n"  # line 14
    + "  Professionals,na,1,1\n"
    + "  Other Occupation Groups Nes,-,8,7\n"
    + "Employed Residents Aged 65 Years & Over,5,5,5\n"  # line 17
    + "  Professionals,2,2,2\n"
    + '"  Cleaners, Labourers & Related Workers",3,3,3\n'  # line 19
    + TB_FOOTER
)


def test_read_tablebuilder_layout(tmp_path):
    path = write(tmp_path, "M182171.csv", TB_OCC.replace("\n", "\r\n"))
    table = read_tablebuilder(path)
    assert table.title == "Employed Residents Aged 15 Years And Over By Occupation And Age Group, (June), Annual"
    assert table.unit == "Thousand"
    assert table.year == "2024"  # newest year; trailing space stripped
    assert len(table.rows) == 9  # footnotes after the blank line are not data
    assert table.rows[0] == TBRow(11, "All Occupation Groups, (Total Employed Residents)", 0, 100500, "")
    assert table.rows[1] == TBRow(12, "Professionals", 2, 60200, "")
    assert table.rows[4] == TBRow(15, "Professionals", 2, None, "na")
    assert table.rows[5] == TBRow(16, "Other Occupation Groups Nes", 2, 0, "")
    assert table.rows[8].label == "Cleaners, Labourers & Related Workers"
    assert [r.value for r in read_tablebuilder(path, year="2023").rows[:2]] == [99000, 59000]
    assert read_tablebuilder(path, scale=1, integer=False).rows[0].value == 100.5


def test_blocks_group_rows_under_unindented_headers(tmp_path):
    table = read_tablebuilder(write(tmp_path, "M182171.csv", TB_OCC))
    groups = blocks(table)
    assert [h.label for h, _ in groups] == [
        "All Occupation Groups, (Total Employed Residents)",
        "Employed Residents Aged 15 - 19 Years",
        "Employed Residents Aged 65 Years & Over",
    ]
    assert [[r.line for r in rows] for _, rows in groups] == [[12, 13], [15, 16], [18, 19]]


@pytest.mark.parametrize(
    "content, year, row, column, reason",
    [
        pytest.param(TB_OCC, "2019", 10, None, "year 2019 not in the table", id="year-absent"),
        pytest.param(
            TB_OCC.replace("  Professionals,60.2,", "  Professionals,6O.2,"),
            None,
            12,
            "2024",
            "not a number: '6O.2'",
            id="non-numeric",
        ),
        pytest.param(
            TB_OCC.replace("  Professionals,60.2,", "  Professionals,-60.2,"),
            None,
            12,
            "2024",
            "negative figure",
            id="negative",
        ),
        pytest.param(
            TB_OCC.replace("  Professionals,60.2,59,58\n", "  Professionals\n"),
            None,
            12,
            "2024",
            "row has 1 fields",
            id="short-row",
        ),
        pytest.param(TB_META + "Data Series,2024 \n,\n", None, 11, None, "no data rows", id="no-data"),
        pytest.param(TB_META + "Data Series\nTotal\n", None, 10, None, "no year columns", id="no-years"),
    ],
)
def test_read_tablebuilder_malformed(tmp_path, content, year, row, column, reason):
    path = write(tmp_path, "tb.csv", content)
    with pytest.raises(SourceTableError) as exc:
        read_tablebuilder(path, year=year)
    assert_located(exc.value, path, row, column)
    assert reason in exc.value.reason


def test_read_tablebuilder_without_data_series_header(tmp_path):
    path = write(tmp_path, "tb.csv", TB_META + "Series,2024\nTotal,1\n")
    with pytest.raises(SourceTableError, match="no 'Data Series' header row") as exc:
        read_tablebuilder(path)
    assert exc.value.file == str(path)


def test_blocks_refuse_indented_row_before_any_header(tmp_path):
    path = write(tmp_path, "tb.csv", TB_META + "Data Series,2024 \n  Professionals,1\nTotal,1\n")
    with pytest.raises(SourceTableError, match="before any block header") as exc:
        blocks(read_tablebuilder(path))
    assert_located(exc.value, path, 11, None)


def tb_rows(*rows: tuple[int, str, float | None]) -> list[TBRow]:
    return [
        TBRow(line=10 + i, label=label, indent=indent, value=v, flag="") for i, (indent, label, v) in enumerate(rows)
    ]


def test_leaves_drop_checked_subtotals():
    rows = tb_rows(
        (2, "Manufacturing", 20000),
        (2, "Services", 75100),  # 75.1 thousand vs 75.0: within the rounding of 3 figures to 0.1 thousand
        (4, "Wholesale", 45000),
        (4, "Finance", 30000),
        (2, "Others", 5000),
    )
    assert [r.label for r in leaves(rows, Path("x.csv"), 100)] == ["Manufacturing", "Wholesale", "Finance", "Others"]


@pytest.mark.parametrize("services", [75200, 74800, 80000], ids=["over-by-2-units", "under-by-2-units", "far-off"])
def test_leaves_sub_total_mismatch(services):
    rows = tb_rows(
        (2, "Manufacturing", 20000), (2, "Services", services), (4, "Wholesale", 45000), (4, "Finance", 30000)
    )
    with pytest.raises(SourceTableError) as exc:
        leaves(rows, Path("x.csv"), 100)  # tolerance: half a unit per published figure = 150
    assert_located(exc.value, "x.csv", 11, None)
    assert f"sub-total 'Services' = {services} but its 2 parts sum to 75000" in exc.value.reason


def test_leaves_skip_the_check_when_a_figure_is_missing():
    rows = tb_rows((2, "Services", None), (4, "Wholesale", 45000), (4, "Finance", 30000))
    assert [r.label for r in leaves(rows, Path("x.csv"), 100)] == ["Wholesale", "Finance"]


# ---------------------------------------------------------------------------------------------- MOM Table Builder


def test_mom_occupation_age(tmp_path):
    df = mom.occupation_age(write(tmp_path, "M182181.csv", TB_OCC), "Male", "2024")
    assert visible(list(df.columns)) == ["sex", "age_group", "occupation", "count", "flag"]
    assert set(df["sex"]) == {"Male"}
    assert list(dict.fromkeys(df["age_group"])) == ["Total", "15-19", "65+"]
    assert record(df, age_group="Total", occupation="Total")["count"] == 100500
    assert record(df, age_group="Total", occupation="Others")["count"] == 40300
    na = record(df, age_group="15-19", occupation="Professionals")
    assert pd.isna(na["count"]) and na["flag"] == "na"
    assert record(df, age_group="15-19", occupation="Others")["count"] == 0
    assert record(df, age_group="65+", occupation="Cleaners, Labourers & Related Workers")["count"] == 3000


@pytest.mark.parametrize(
    "old, new, row, column, reason",
    [
        pytest.param("  Professionals,60.2", "  Astronauts,60.2", 12, "Data Series", "unknown occupation", id="occ"),
        pytest.param("Aged 15 - 19 Years", "Aged Unknown", 14, None, "cannot read an age group", id="age"),
    ],
)
def test_mom_occupation_age_malformed(tmp_path, old, new, row, column, reason):
    path = write(tmp_path, "M182171.csv", TB_OCC.replace(old, new, 1))
    with pytest.raises(SourceTableError) as exc:
        mom.occupation_age(path, "Total", "2024")
    assert_located(exc.value, path, row, column)
    assert reason in exc.value.reason


TB_IND = (
    TB_META
    + "Data Series,2024 ,2023 \n"
    + "All Industries (Employed Female Residents),100,1\n"  # line 11
    + "  Manufacturing,20,1\n"
    + "  Services,{services},1\n"  # line 13
    + "    Wholesale & Retail Trade,45,1\n"
    + "    Financial & Insurance Services,30,1\n"
    + "  Others,5,1\n"
    + "Employed Female Residents Aged 70 Years & Over,10,1\n"
    + "  Manufacturing,1,1\n"
    + "  Services,9,1\n"
    + "    Health & Social Services,9,1\n"
    + "  Others,-,1\n"
    + TB_FOOTER
)


def test_mom_industry_age_drops_checked_services_subtotal(tmp_path):
    df = mom.industry_age(write(tmp_path, "M182151.csv", TB_IND.format(services="75.1")), "Female", "2024")
    assert set(df["sex"]) == {"Female"}
    assert "Services" not in set(df["industry"])
    assert list(df[df.age_group == "Total"]["industry"]) == [
        "Total",
        "Manufacturing",
        "Wholesale & Retail Trade",
        "Financial & Insurance Services",
        "Others",
    ]
    assert record(df, age_group="70+", industry="Health & Social Services")["count"] == 9000
    assert record(df, age_group="70+", industry="Others")["count"] == 0


def test_mom_industry_age_services_subtotal_mismatch(tmp_path):
    path = write(tmp_path, "M182151.csv", TB_IND.format(services="77"))
    with pytest.raises(SourceTableError, match="sub-total 'Services'") as exc:
        mom.industry_age(path, "Female", "2024")
    assert_located(exc.value, path, 13, None)


TB_IND_OCC = (
    TB_META
    + "Data Series,2024 \n"
    + '"All Occupation Groups, (Total Employed Residents)",100\n'
    + "  Manufacturing,30\n"
    + "  Services,60\n"
    + "    Wholesale & Retail Trade,60\n"
    + "  Other Industries Nes,10\n"
    + "Professionals,50\n"  # line 16
    + "  Manufacturing,10\n"
    + "  Services,40\n"
    + "    Public Administration & Education Services,40\n"
    + "  Other Industries Nes,-\n"
)


def test_mom_industry_occupation(tmp_path):
    df = mom.industry_occupation(write(tmp_path, "M182081.csv", TB_IND_OCC), "2024")
    assert list(dict.fromkeys(df["occupation"])) == ["Total", "Professionals"]
    assert record(df, occupation="Total", industry="Total")["count"] == 100000
    assert record(df, occupation="Total", industry="Others")["count"] == 10000
    assert record(df, occupation="Professionals", industry="Public Administration & Education")["count"] == 40000
    assert "Services" not in set(df["industry"])


def test_mom_industry_occupation_unknown_occupation_block(tmp_path):
    path = write(tmp_path, "M182081.csv", TB_IND_OCC.replace("Professionals,50", "Astronauts,50"))
    with pytest.raises(SourceTableError, match="unknown occupation label 'Astronauts'") as exc:
        mom.industry_occupation(path, "2024")
    assert_located(exc.value, path, 16, "Data Series")


TB_HQA = (
    TB_META
    + "Data Series,2024 ,2023 \n"
    + "Total Residents In The Labour Force,10,1\n"
    + "  Below Secondary,4,1\n"
    + "  Degree,6,1\n"
    + "Male Residents In The Labour Force,5,1\n"
    + "  Below Secondary,2,1\n"
    + "  Degree,3,1\n"
    + "Female Residents In The Labour Force,5,1\n"  # line 17
    + "  Below Secondary,2,1\n"
    + "  Degree,3,1\n"
)


def test_mom_labour_force_hqa(tmp_path):
    df = mom.labour_force_hqa(write(tmp_path, "M182271.csv", TB_HQA), "2024")
    assert visible(list(df.columns)) == ["sex", "education", "count"]
    assert list(dict.fromkeys(df["sex"])) == ["Total", "Male", "Female"]
    assert record(df, sex="Female", education="Total")["count"] == 5000
    assert record(df, sex="Male", education="Degree")["count"] == 3000


@pytest.mark.parametrize(
    "old, new, row, column",
    [
        pytest.param("Female Residents", "Foreign Residents", 17, None, id="block"),
        pytest.param("  Degree,3,1\n", "  Doctorate,3,1\n", 16, "Data Series", id="qualification"),
    ],
)
def test_mom_labour_force_hqa_malformed(tmp_path, old, new, row, column):
    path = write(tmp_path, "M182271.csv", TB_HQA.replace(old, new, 1))
    with pytest.raises(SourceTableError) as exc:
        mom.labour_force_hqa(path, "2024")
    assert_located(exc.value, path, row, column)


TB_INCOME = (
    ",,\n,,Dollars\n"
    + "Data Series,2023 ,2022 \n"  # line 3
    + "Professionals - Male,8620,8190\n"
    + "Professionals - Female,7520,7220\n"
    + "Managers & Administrators (Including Working Proprietors) - Female,na,9800\n"
)


def test_mom_median_income_in_dollars(tmp_path):
    df = mom.median_income(write(tmp_path, "M920131.csv", TB_INCOME), "2023")
    assert visible(list(df.columns)) == ["occupation", "sex", "value", "flag"]
    assert record(df, occupation="Professionals", sex="Male")["value"] == 8620  # dollars, not thousands
    row = record(df, occupation="Managers & Administrators", sex="Female")
    assert pd.isna(row["value"]) and row["flag"] == "na"
    assert (
        record(
            mom.median_income(write(tmp_path, "M.csv", TB_INCOME), "2022"), sex="Female", occupation="Professionals"
        )["value"]
        == 7220
    )


def test_mom_median_income_unknown_sex(tmp_path):
    path = write(tmp_path, "M920131.csv", TB_INCOME.replace("Professionals - Female", "Professionals - Both"))
    with pytest.raises(SourceTableError, match="unknown sex label 'Both'") as exc:
        mom.median_income(path, "2023")
    assert_located(exc.value, path, 5, "Data Series")


# ---------------------------------------------------------------------------------------------- spreadsheets

B2_ROWS: list[list[object]] = [
    ["TABLE B2"],
    ["RESIDENT EMPLOYMENT RATE BY AGE, SEX AND MARITAL STATUS, 2024"],
    ["Per Cent"],
    [None, None, "Total", "Single", "Married"],  # row 4: category header
    ["Total", "Total", 66, 59.8, 71.2],  # row 5
    [None, "15 - 19", 12, 12, "s"],
    [None, "70 & Over", 22.4, 24.9, "-"],
    [None, None, None, None, None],  # row 8: blank row before the aggregate ages
    [None, "15 - 24", 31.2, 30.7, 71.5],
    ["Male", "Total", 71.5, 59.7, 78.2],  # row 10
    [None, "15 - 19", 15.2, 15.2, "s"],
    ["Female", "Total", 60.8, 59.9, 64.3],  # row 12
    [None, "15 - 19", 8.5, 8.5, "s"],
    [None],
    ["Source: Comprehensive Labour Force Survey, Manpower Research & Statistics Department, MOM"],
]
MARITAL_CATS = {"Total": "Total", "Single": "Single", "Married": "Married"}


def xlsx(tmp_path: Path, sheet: str, rows: list[list[object]], name: str = "lfs.xlsx") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    path = tmp_path / name
    wb.save(path)
    return path


def test_parse_mom_block_sheet_percent(tmp_path):
    path = xlsx(tmp_path, "B2", B2_ROWS)
    df = spreadsheets.parse_mom_block_sheet(
        path, "B2", category_key="marital_status", categories=MARITAL_CATS, scale=1, integer=False
    )
    assert visible(list(df.columns)) == ["sex", "age_group", "marital_status", "value", "flag"]
    assert len(df) == (3 + 2 + 2) * 3  # aggregate '15 - 24' dropped
    assert "15-24" not in set(df["age_group"])
    assert record(df, sex="Total", age_group="Total", marital_status="Married")["value"] == pytest.approx(71.2)
    suppressed = record(df, sex="Female", age_group="15-19", marital_status="Married")
    assert pd.isna(suppressed["value"]) and suppressed["flag"] == "s"
    assert record(df, sex="Total", age_group="70+", marital_status="Married")["value"] == 0.0  # '-'
    assert list(dict.fromkeys(df["sex"])) == ["Total", "Male", "Female"]


def test_parse_mom_block_sheet_keeps_aggregate_ages_on_request(tmp_path):
    path = xlsx(tmp_path, "B2", B2_ROWS)
    df = spreadsheets.parse_mom_block_sheet(
        path,
        "B2",
        category_key="marital_status",
        categories=MARITAL_CATS,
        scale=1,
        integer=False,
        keep_aggregate_ages=True,
    )
    assert record(df, sex="Total", age_group="15-24", marital_status="Single")["value"] == pytest.approx(30.7)


def test_parse_mom_block_sheet_thousands(tmp_path):
    rows = [r[:] for r in B2_ROWS]
    rows[4] = ["Total", "Total", 2365.6, 624.6, 1741]
    path = xlsx(tmp_path, "G7", rows)
    df = spreadsheets.parse_mom_block_sheet(
        path, "G7", category_key="marital_status", categories=MARITAL_CATS, scale=1000, integer=True
    )
    assert record(df, sex="Total", age_group="Total", marital_status="Total")["value"] == 2365600
    assert record(df, sex="Total", age_group="Total", marital_status="Married")["value"] == 1741000


@pytest.mark.parametrize(
    "row_index, new_row, row, column, reason",
    [
        pytest.param(3, [None, None, "Total", "Single", "Divorced"], 4, "E", "unexpected category", id="category"),
        pytest.param(9, ["Males?", "Total", 1, 1, 1], 10, "A", "unexpected sex label", id="sex"),
        pytest.param(5, [None, "Teenagers", 1, 1, 1], 6, "B", "unexpected age label", id="age"),
        pytest.param(5, [None, "15 - 19", 12, -1, 1], 6, "D", "negative figure", id="negative"),
        pytest.param(5, [None, "15 - 19", 12, "twelve", 1], 6, "D", "not a number", id="non-numeric"),
        pytest.param(4, [None, "Total", 66, 59.8, 71.2], 5, "A", "data row before any sex label", id="no-sex"),
    ],
)
def test_parse_mom_block_sheet_malformed(tmp_path, row_index, new_row, row, column, reason):
    rows = [r[:] for r in B2_ROWS]
    rows[row_index] = new_row
    path = xlsx(tmp_path, "B2", rows)
    with pytest.raises(SourceTableError) as exc:
        spreadsheets.parse_mom_block_sheet(
            path, "B2", category_key="marital_status", categories=MARITAL_CATS, scale=1, integer=False
        )
    assert_located(exc.value, path, row, column, sheet="B2")
    assert reason in exc.value.reason


def test_parse_mom_block_sheet_without_category_header(tmp_path):
    rows = [r[:] for r in B2_ROWS]
    rows[3] = [None, None, "All", "Single", "Married"]
    path = xlsx(tmp_path, "B2", rows)
    with pytest.raises(SourceTableError, match="category header row not found") as exc:
        spreadsheets.parse_mom_block_sheet(
            path, "B2", category_key="marital_status", categories=MARITAL_CATS, scale=1, integer=False
        )
    assert exc.value.sheet == "B2"


@pytest.mark.parametrize(
    "content, sheet, reason",
    [
        pytest.param(None, "B2", "file not found", id="missing"),
        pytest.param(b"", "B2", "file is empty", id="empty"),
        pytest.param(b"PK\x03\x04 not really a workbook", "B2", "cannot open as a spreadsheet", id="corrupt"),
        pytest.param("ok", "G9", "sheet 'G9' not found (sheets: B2)", id="no-such-sheet"),
    ],
)
def test_read_sheet_refusals(tmp_path, content, sheet, reason):
    if content == "ok":
        path = xlsx(tmp_path, "B2", B2_ROWS)
    else:
        path = tmp_path / "lfs.xlsx"
        if content is not None:
            path.write_bytes(content)
    with pytest.raises(SourceTableError) as exc:
        spreadsheets.read_sheet(path, sheet)
    assert exc.value.file == str(path)
    assert reason in exc.value.reason


def frame(rows: list[list[object]], width: int) -> pd.DataFrame:
    return pd.DataFrame([r + [None] * (width - len(r)) for r in rows], dtype=object)


T1_ROWS: list[list[object]] = [
    [69],
    [None, "GENERAL HOUSEHOLD SURVEY 2015"],
    [None, "Table 1  Resident Population by Age Group, Ethnic Group, Sex and Residential Status"],
    [],
    [None, "Age Group (Years)", "Total", None, None, "Chinese"],  # row 5 (index 4)
    [None, None, "Total", "Males", "Females", "Total", "Males", "Females"],
    [None, None, "Total"],  # residential status
    [None, "Total", 300, 140, 160, 200, 90, 110],  # row 8
    [None, "0 - 4", 100, 40, 60, 70, 30, 40],
    [None, "5 - 9        ", 150, 70, 80, 100, 40, 60],
    [None, "85 & Over", 50, 30, 20, 30, 20, "-"],  # row 11
    [],
    [None, None, "Citizens"],
    [None, "Total", 1, 1, 1, 1, 1, 1],
]


def test_parse_ghs_t1(monkeypatch):
    monkeypatch.setattr(spreadsheets, "read_sheet", lambda path, sheet: frame(T1_ROWS, 8))
    df = spreadsheets.parse_ghs_t1(Path("t1-9.xls"))
    assert visible(list(df.columns)) == ["age_group", "ethnicity", "sex", "count"]
    assert len(df) == 4 * 6  # first block only
    assert list(dict.fromkeys(df["age_group"])) == ["Total", "0-4", "5-9", "85+"]
    assert record(df, age_group="Total", ethnicity="Total", sex="Total")["count"] == 300
    assert record(df, age_group="5-9", ethnicity="Chinese", sex="Male")["count"] == 40
    assert record(df, age_group="85+", ethnicity="Chinese", sex="Female")["count"] == 0


@pytest.mark.parametrize(
    "index, new_row, row, column, reason",
    [
        pytest.param(9, [None, "Age unknown", 1, 1, 1, 1, 1, 1], 10, "B", "unexpected age-group label", id="age"),
        pytest.param(9, [None, "5 - 9", 1, "x", 1, 1, 1, 1], 10, "D", "not a number", id="non-numeric"),
        pytest.param(6, [None, None, "Citizens"], 7, "C", "residential status 'Total'", id="first-block"),
        pytest.param(4, [None, "Age Group (Years)", "Total", None, None, "Eurasians"], 5, "F", "ethnic", id="eth"),
        pytest.param(5, [None, None, "Total", "Males", "Female", "Total", "Boys", "Females"], 6, "G", "sex", id="sex"),
    ],
)
def test_parse_ghs_t1_malformed(monkeypatch, index, new_row, row, column, reason):
    rows = [r[:] for r in T1_ROWS]
    rows[index] = new_row
    monkeypatch.setattr(spreadsheets, "read_sheet", lambda path, sheet: frame(rows, 8))
    with pytest.raises(SourceTableError) as exc:
        spreadsheets.parse_ghs_t1(Path("t1-9.xls"))
    assert_located(exc.value, "t1-9.xls", row, column, sheet="T1")
    assert reason in exc.value.reason


def test_parse_ghs_t1_without_header(monkeypatch):
    monkeypatch.setattr(spreadsheets, "read_sheet", lambda path, sheet: frame(T1_ROWS[:4], 8))
    with pytest.raises(SourceTableError, match="'Age Group \\(Years\\)' not found"):
        spreadsheets.parse_ghs_t1(Path("t1-9.xls"))


T9_ROWS: list[list[object]] = [
    [133],
    [None, None, "GENERAL HOUSEHOLD SURVEY 2015"],
    [None, None, "Planning Area", "Subzone", "Total", "HDB Dwellings"],
    # cols:       PA              SZ       Total HDB  1-2R 3R   4R   5R+E Condo Landed Others
    [None, None, "Total", "Total", 1000, 700, 100, 200, 250, 140, 200, 90, 10],  # row 4: national
    [None, None, "Ang Mo Kio", "Total", 600, 400, 50, 100, 150, 90, 150, 40, 10],  # row 5
    [None, None, None, "Cheng San", 600, 400, 50, 100, 150, 90, 150, 40, 10],
    [None, None, "Bedok", "Total", 310, 300, 50, 100, 100, 50, 10, "-", "-"],  # row 7
    [None, None, "Lim Chu Kang", "Total", 90, "-", "-", "-", "-", "-", "-", "-", "-"],  # row 8
]


def test_parse_ghs_t9(monkeypatch):
    monkeypatch.setattr(spreadsheets, "read_sheet", lambda path, sheet: frame(T9_ROWS, 13))
    df = spreadsheets.parse_ghs_t9(Path("t1-9.xls"))
    assert visible(list(df.columns)) == ["planning_area", "dwelling_type", "count"]
    assert list(dict.fromkeys(df["planning_area"])) == ["Ang Mo Kio", "Bedok", "Lim Chu Kang"]  # national dropped
    assert len(df) == 3 * 10
    amk = df[df.planning_area == "Ang Mo Kio"].set_index("dwelling_type")["count"]
    assert amk[spreadsheets.HDB_OTHER] == 10  # Total HDB 400 - flat types 390 (footnote 1/)
    assert amk[spreadsheets.NOT_SHOWN] == 0
    assert amk["Total"] == 600
    assert amk["HDB 4-Room Flats"] == 150
    lck = df[df.planning_area == "Lim Chu Kang"].set_index("dwelling_type")["count"]
    assert lck[spreadsheets.NOT_SHOWN] == 90  # a row of dashes under a non-zero total
    assert lck.drop([spreadsheets.NOT_SHOWN, "Total"]).sum() == 0


@pytest.mark.parametrize(
    "index, col, value, row, column, reason",
    [
        pytest.param(4, 5, 350, 5, "F", "Total HDB 350 is less than the sum of flat types 390", id="hdb"),
        pytest.param(4, 4, 700, 5, "E", "Total 700 != HDB + condominiums", id="shortfall-without-dashes"),
        pytest.param(4, 4, 550, 5, "E", "Total 550 != HDB + condominiums", id="total-too-small"),
        pytest.param(6, 7, "n/a", 7, "H", "not a number", id="non-numeric"),
    ],
)
def test_parse_ghs_t9_malformed_rows(monkeypatch, index, col, value, row, column, reason):
    rows = [r[:] for r in T9_ROWS]
    rows[index][col] = value
    monkeypatch.setattr(spreadsheets, "read_sheet", lambda path, sheet: frame(rows, 13))
    with pytest.raises(SourceTableError) as exc:
        spreadsheets.parse_ghs_t9(Path("t1-9.xls"))
    assert_located(exc.value, "t1-9.xls", row, column, sheet="T9")
    assert reason in exc.value.reason


def test_parse_ghs_t9_national_total_must_match_planning_areas(monkeypatch):
    rows = [r[:] for r in T9_ROWS]
    rows[3] = [None, None, "Total", "Total", 1200, 700, 100, 200, 250, 140, 400, 90, 10]
    monkeypatch.setattr(spreadsheets, "read_sheet", lambda path, sheet: frame(rows, 13))
    with pytest.raises(SourceTableError, match="national total 1200 != sum of planning areas 1000") as exc:
        spreadsheets.parse_ghs_t9(Path("t1-9.xls"))
    assert (exc.value.sheet, exc.value.column) == ("T9", "E")


def test_parse_ghs_t9_without_national_row(monkeypatch):
    monkeypatch.setattr(spreadsheets, "read_sheet", lambda path, sheet: frame(T9_ROWS[:3] + T9_ROWS[4:], 13))
    with pytest.raises(SourceTableError, match="national 'Total' row not found"):
        spreadsheets.parse_ghs_t9(Path("t1-9.xls"))


GHS_XLS = "ghs2015/GHS2015_BasicDemographicCharacteristics_t1-9.xls"


@pytest.mark.raw
def test_parse_ghs_t1_real_file(raw_root):
    df = spreadsheets.parse_ghs_t1(raw_root / GHS_XLS)
    assert len(df) == 19 * 5 * 3  # Total + 18 age groups, 5 ethnic groups (with Total), 3 sexes
    assert record(df, age_group="Total", ethnicity="Total", sex="Total")["count"] == 3902690
    assert record(df, age_group="85+", ethnicity="Total", sex="Total")["count"] == 41663
    assert set(df["ethnicity"]) == set(ETHNICITY.values())


@pytest.mark.raw
def test_parse_ghs_t9_real_file(raw_root):
    df = spreadsheets.parse_ghs_t9(raw_root / GHS_XLS)
    assert df["planning_area"].nunique() == 55
    assert record(df, planning_area="Ang Mo Kio", dwelling_type="Total")["count"] == 174770
    assert record(df, planning_area="Lim Chu Kang", dwelling_type=spreadsheets.NOT_SHOWN)["count"] == 90


# ---------------------------------------------------------------------------------------------- other layouts

RESPOP = (
    b"\xef\xbb\xbfPA,SZ,Age,Sex,Pop,Time\r\n"
    b"Ang Mo Kio,Cheng San,0,Males,10,2025\r\n"  # line 2
    b"Ang Mo Kio,Cheng San,0,Females,0,2025\r\n"  # zero row: kept (the snapshot drops it after the checks)
    b'Ang Mo Kio,Cheng San,89,Females,"1,230",2025\r\n'
    b"Ang Mo Kio,Cheng San,90_and_Over,Females,-,2025\r\n"  # '-' is nil: 0
    b"Bedok,Bedok North,90_and_Over,Males,20,2025\r\n"  # line 6
)


def test_parse_respop_bom_crlf_90_and_over_zero_rows(tmp_path):
    df = other.parse_respop(write(tmp_path, "respopagesex2025.csv", RESPOP), "2025")
    assert visible(list(df.columns)) == ["planning_area", "subzone", "age", "sex", "count"]
    assert df.drop(columns=WHERE).values.tolist() == [
        ["Ang Mo Kio", "Cheng San", "0", "Male", 10],
        ["Ang Mo Kio", "Cheng San", "0", "Female", 0],
        ["Ang Mo Kio", "Cheng San", "89", "Female", 1230],
        ["Ang Mo Kio", "Cheng San", "90", "Female", 0],
        ["Bedok", "Bedok North", "90", "Male", 20],
    ]
    # every row knows its raw line, and each key its raw column
    where = df[WHERE].iloc[-1]
    assert where == SourceLocation(str(tmp_path / "respopagesex2025.csv"), 6, "Pop")
    assert (where.column_of("subzone"), where.column_of("count")) == ("SZ", "Pop")


@pytest.mark.parametrize(
    "old, new, row, column, reason",
    [
        pytest.param(b"Males,20,2025", b"Males,20,2024", 6, "Time", "Time is '2024', expected 2025", id="time"),
        pytest.param(b"90_and_Over,Males", b"91,Males", 6, "Age", "unexpected age '91'", id="age-over-90"),
        pytest.param(b"90_and_Over,Males", b"90+,Males", 6, "Age", "unexpected age '90+'", id="age-label"),
        pytest.param(b"0,Males,10", b"0,Unknown,10", 2, "Sex", "unexpected sex 'Unknown'", id="sex"),
        pytest.param(b"0,Males,10", b"0,Males,-10", 2, "Pop", "negative figure", id="negative"),
        pytest.param(b"0,Males,10", b"0,Males,ten", 2, "Pop", "not a number", id="non-numeric"),
        pytest.param(b"Bedok,Bedok North", b",Bedok North", 6, "PA", "empty planning area", id="empty-pa"),
        pytest.param(b"Males,20,2025", b"Males,20", 6, "Time", "row has 5 fields, expected 6", id="short-row"),
        pytest.param(b"Males,20,2025", b"Males,20,2025,x", 6, "#7", "row has 7 fields", id="long-row"),
        pytest.param(b"Pop,Time", b"Pop,Year", 1, "Time", "missing column 'Time'", id="missing-column"),
    ],
)
def test_parse_respop_malformed(tmp_path, old, new, row, column, reason):
    assert old in RESPOP
    path = write(tmp_path, "respopagesex2025.csv", RESPOP.replace(old, new, 1))
    with pytest.raises(SourceTableError) as exc:
        other.parse_respop(path, "2025")
    assert_located(exc.value, path, row, column)
    assert reason in exc.value.reason


def test_parse_respop_header_only(tmp_path):
    path = write(tmp_path, "respop.csv", "PA,SZ,Age,Sex,Pop,Time\n\n")
    with pytest.raises(SourceTableError, match="no data rows"):
        other.parse_respop(path, "2025")


def geojson(tmp_path: Path, name: str, props: list[dict[str, object]]) -> Path:
    features = [{"type": "Feature", "geometry": None, "properties": p} for p in props]
    return write(tmp_path, name, json.dumps({"type": "FeatureCollection", "features": features}, indent=1))


PA_PROPS = [
    {"OBJECTID": 1, "PLN_AREA_N": "ANG MO KIO", "PLN_AREA_C": "AM", "REGION_N": "NORTH-EAST REGION", "REGION_C": "NER"},
    {"OBJECTID": 2, "PLN_AREA_N": "BUKIT TIMAH", "PLN_AREA_C": "BT", "REGION_N": "CENTRAL REGION", "REGION_C": "CR"},
]
SZ_PROPS = [
    {"SUBZONE_N": "CHENG SAN", "SUBZONE_C": "AMSZ02", "PLN_AREA_N": "ANG MO KIO"},
    {"SUBZONE_N": "TOWNSVILLE", "SUBZONE_C": "AMSZ03", "PLN_AREA_N": "ANG MO KIO"},
    {"SUBZONE_N": "HOLLAND ROAD", "SUBZONE_C": "BTSZ01", "PLN_AREA_N": "BUKIT TIMAH"},
]


def test_parse_ura_planning_areas(tmp_path):
    df = other.parse_ura_planning_areas(
        geojson(tmp_path, "pa.geojson", PA_PROPS), geojson(tmp_path, "sz.geojson", SZ_PROPS)
    )
    assert df.drop(columns=WHERE).values.tolist() == [
        ["Ang Mo Kio", "AM", "North-East", "NER", 2],
        ["Bukit Timah", "BT", "Central", "CR", 1],
    ]


def test_parse_ura_subzones(tmp_path):
    df = other.parse_ura_subzones(geojson(tmp_path, "sz.geojson", SZ_PROPS))
    assert df.drop(columns=WHERE).values.tolist() == [
        ["Ang Mo Kio", "Cheng San", "AMSZ02", 1],
        ["Ang Mo Kio", "Townsville", "AMSZ03", 1],
        ["Bukit Timah", "Holland Road", "BTSZ01", 1],
    ]


@pytest.mark.parametrize(
    "pa_props, sz_props, bad, column, reason",
    [
        pytest.param(PA_PROPS, SZ_PROPS[2:], "pa", "PLN_AREA_N", "'ANG MO KIO' has no subzones", id="pa-no-subzones"),
        pytest.param([{**PA_PROPS[0], "REGION_C": ""}], SZ_PROPS, "pa", "REGION_C", "feature 1 lacks", id="region"),
        pytest.param(PA_PROPS, [*SZ_PROPS, {"PLN_AREA_N": "BEDOK"}], "sz", "PLN_AREA_N", "feature 4 lacks", id="sz"),
    ],
)
def test_parse_ura_planning_areas_malformed(tmp_path, pa_props, sz_props, bad, column, reason):
    paths = {"pa": geojson(tmp_path, "pa.geojson", pa_props), "sz": geojson(tmp_path, "sz.geojson", sz_props)}
    with pytest.raises(SourceTableError) as exc:
        other.parse_ura_planning_areas(paths["pa"], paths["sz"])
    assert_located(exc.value, paths[bad], None, column)
    assert reason in exc.value.reason


@pytest.mark.parametrize("key", ["PLN_AREA_N", "SUBZONE_N", "SUBZONE_C"])
def test_parse_ura_subzones_missing_property(tmp_path, key):
    props = [dict(p) for p in SZ_PROPS]
    del props[1][key]
    path = geojson(tmp_path, "sz.geojson", props)
    with pytest.raises(SourceTableError, match=f"feature 2 lacks {key}") as exc:
        other.parse_ura_subzones(path)
    assert_located(exc.value, path, None, key)


@pytest.mark.parametrize(
    "content, row, reason",
    [
        pytest.param('{\n "type": "FeatureCollection",\n "features": [,]\n}', 3, "not valid JSON", id="json"),
        pytest.param("[1, 2]", None, "not a GeoJSON FeatureCollection", id="not-a-collection"),
    ],
)
@pytest.mark.parametrize("parser", ["planning_areas", "subzones"])
def test_ura_geojson_not_valid(tmp_path, content, row, reason, parser):
    path = write(tmp_path, "bad.geojson", content)
    good = geojson(tmp_path, "sz.geojson", SZ_PROPS)
    with pytest.raises(SourceTableError) as exc:
        if parser == "planning_areas":
            other.parse_ura_planning_areas(path, good)
        else:
            other.parse_ura_subzones(path)
    assert_located(exc.value, path, row, None)
    assert reason in exc.value.reason


RELIGION_ETH = "Ethnic,Buddhism,Taoism,No Religion\nChinese,1064700,325500,586400\n\nIndians,1800,100,3700\n"
RELIGION_ETH_COLS = {"Buddhism": "Buddhism", "Taoism": "Taoism", "No Religion": "No Religion"}


def test_parse_simple_wide(tmp_path):
    path = write(tmp_path, "derived.csv", RELIGION_ETH)
    df = other.parse_simple_wide(path, "Ethnic", "ethnicity", ETHNICITY, "religion", RELIGION_ETH_COLS)
    assert visible(list(df.columns)) == ["ethnicity", "religion", "count"]
    assert len(df) == 2 * 3
    assert record(df, ethnicity="Indian", religion="Buddhism")["count"] == 1800  # 'Indians' mapped
    assert record(df, ethnicity="Chinese", religion="No Religion")["count"] == 586400


@pytest.mark.parametrize(
    "old, new, row, column, reason",
    [
        pytest.param("Indians,", "Eurasians,", 4, "Ethnic", "unknown label 'Eurasians'", id="label"),
        pytest.param("No Religion\n", "Jedi\n", 1, "Jedi", "unexpected column 'Jedi'", id="column"),
        pytest.param("Ethnic,", "Ethnicity,", 1, "Ethnicity", "first column should be 'Ethnic'", id="first-column"),
        pytest.param("1800,100,", "1800,1OO,", 4, "Taoism", "not a number", id="non-numeric"),
        pytest.param("1800,100,3700", "1800,100", 4, "No Religion", "row has 3 fields, expected 4", id="short-row"),
    ],
)
def test_parse_simple_wide_malformed(tmp_path, old, new, row, column, reason):
    path = write(tmp_path, "derived.csv", RELIGION_ETH.replace(old, new, 1))
    with pytest.raises(SourceTableError) as exc:
        other.parse_simple_wide(path, "Ethnic", "ethnicity", ETHNICITY, "religion", RELIGION_ETH_COLS)
    assert_located(exc.value, path, row, column)
    assert reason in exc.value.reason


LF_STATUS = (
    "year,sex,age,labour_force,employed,unemployed,outside_labour_force\n"
    "2022,male,15-19,1,1,0,1\n"
    "2023,male,15-19,17600,16900,700,130000\n"  # line 3
    "2023,female,70_and_over,20000,19900,100,200000\n"  # line 4
)


def test_parse_lf_status_keeps_one_year(tmp_path):
    df = other.parse_lf_status(write(tmp_path, "lf.csv", LF_STATUS), "2023")
    assert visible(list(df.columns)) == ["sex", "age_group", "labour_force_status", "count"]
    assert df.drop(columns=WHERE).values.tolist() == [
        ["Male", "15-19", "employed", 16900],
        ["Male", "15-19", "unemployed", 700],
        ["Male", "15-19", "outside_labour_force", 130000],
        ["Female", "70+", "employed", 19900],
        ["Female", "70+", "unemployed", 100],
        ["Female", "70+", "outside_labour_force", 200000],
    ]


@pytest.mark.parametrize(
    "old, new, row, column, reason",
    [
        pytest.param("2023,male,15-19,17600", "2023,male,15-19,17800", 3, "labour_force", "labour_force !=", id="lf"),
        pytest.param("2023,male", "2023,other", 3, "sex", "unknown sex 'other'", id="sex"),
        pytest.param("70_and_over", "70_plus", 4, "age", "unknown age group '70_plus'", id="age"),
        pytest.param("19900", "-19900", 4, "employed", "negative figure", id="negative"),
        pytest.param(",200000\n", "\n", 4, "outside_labour_force", "row has 6 fields", id="short-row"),
    ],
)
def test_parse_lf_status_malformed(tmp_path, old, new, row, column, reason):
    path = write(tmp_path, "lf.csv", LF_STATUS.replace(old, new, 1))
    with pytest.raises(SourceTableError) as exc:
        other.parse_lf_status(path, "2023")
    assert_located(exc.value, path, row, column)
    assert reason in exc.value.reason


def test_parse_lf_status_year_absent(tmp_path):
    path = write(tmp_path, "lf.csv", LF_STATUS)
    with pytest.raises(SourceTableError, match="no rows for year 2024") as exc:
        other.parse_lf_status(path, "2024")
    assert_located(exc.value, path, 2, "year")


SURNAMES = (
    "rank,mandarin_pinyin_as_shown,dialect_romanisation,number,pct_of_chinese_population\n"
    "1,Chén,Tan,237800,9.5\n"
    '7,,"Goh, Ng",56200,2.2\n'
)


def test_parse_surnames(tmp_path):
    df = other.parse_surnames(write(tmp_path, "surnames.csv", SURNAMES))
    assert df.drop(columns=WHERE).values.tolist() == [["Tan", 237800], ["Goh, Ng", 56200]]


@pytest.mark.parametrize(
    "old, new, row, column, reason",
    [
        pytest.param("Chén,Tan,", "Chén,,", 2, "dialect_romanisation", "empty surname", id="empty"),
        pytest.param("237800", "237800.5", 2, "number", "expected a whole count", id="fraction"),
        pytest.param("56200,2.2", "56200", 3, "pct_of_chinese_population", "row has 4 fields", id="short-row"),
    ],
)
def test_parse_surnames_malformed(tmp_path, old, new, row, column, reason):
    path = write(tmp_path, "surnames.csv", SURNAMES.replace(old, new, 1))
    with pytest.raises(SourceTableError) as exc:
        other.parse_surnames(path)
    assert_located(exc.value, path, row, column)
    assert reason in exc.value.reason


TIMLRX = (
    "survey,Year,content,Level_1,Level_2,Level_3,Value\n"
    "GHS2015,2015,resident_hh_dwelling, Total, Total,Total,1225.3\n"  # other content: ignored
    "GHS2015,2015,resident_pop_industry, Total, Total,Total,2151.9\n"
    "GHS2015,2015,resident_pop_industry, Services- Total, Total,Total,1778.7\n"  # sub-total: dropped
    'GHS2015,2015,resident_pop_industry," Services- Arts, Entertainment & Recreation", Total, Bedok,3.1\n'
    "GHS2015,2015,resident_pop_industry, Manufacturing, Total, Ang Mo Kio,12.5\n"  # line 6
    "Census2010,2010,resident_pop_industry, Total, Total,Total,1898042.0\n"  # other survey: ignored
)


def test_parse_timlrx_industry(tmp_path):
    df = other.parse_timlrx_industry(write(tmp_path, "timlrx.csv", TIMLRX))
    assert df.drop(columns=WHERE).values.tolist() == [
        ["Total", "Total", 2151900],
        ["Bedok", "Services - Arts, Entertainment & Recreation", 3100],
        ["Ang Mo Kio", "Manufacturing", 12500],
    ]


@pytest.mark.parametrize(
    "old, new, row, column, reason",
    [
        pytest.param(" Total, Ang Mo Kio", " Males, Ang Mo Kio", 6, "Level_2", "unexpected Level_2", id="level-2"),
        pytest.param("Ang Mo Kio,12.5", "Ang Mo Kio,n.a.", 6, "Value", "not a number", id="non-numeric"),
        pytest.param("Ang Mo Kio,12.5", "Ang Mo Kio", 6, "Value", "row has 6 fields", id="short-row"),
    ],
)
def test_parse_timlrx_industry_malformed(tmp_path, old, new, row, column, reason):
    path = write(tmp_path, "timlrx.csv", TIMLRX.replace(old, new, 1))
    with pytest.raises(SourceTableError) as exc:
        other.parse_timlrx_industry(path)
    assert_located(exc.value, path, row, column)
    assert reason in exc.value.reason


def test_parse_timlrx_industry_without_ghs_rows(tmp_path):
    path = write(tmp_path, "timlrx.csv", TIMLRX.replace("GHS2015", "GHS2010"))
    with pytest.raises(SourceTableError, match="no GHS2015 resident_pop_industry rows"):
        other.parse_timlrx_industry(path)


@pytest.mark.parametrize(
    "parse",
    [
        pytest.param(lambda p: dg.parse_wide(p, ETH_COLS), id="parse_wide"),
        pytest.param(lambda p: dg.parse_long_thousands(p, p, LONG_LEVELS), id="parse_long_thousands"),
        pytest.param(lambda p: read_tablebuilder(p), id="read_tablebuilder"),
        pytest.param(lambda p: other.parse_respop(p, "2025"), id="parse_respop"),
        pytest.param(lambda p: other.parse_simple_wide(p, "Ethnic", "e", None, "r", {}), id="parse_simple_wide"),
        pytest.param(lambda p: other.parse_lf_status(p, "2023"), id="parse_lf_status"),
        pytest.param(other.parse_surnames, id="parse_surnames"),
        pytest.param(other.parse_timlrx_industry, id="parse_timlrx_industry"),
        pytest.param(other.parse_ura_subzones, id="parse_ura_subzones"),
    ],
)
@pytest.mark.parametrize(
    "content",
    [pytest.param(b"\xef\xbb\xbf", id="bom-only"), pytest.param(b"\xff\xfePA\x00", id="utf-16")],
)
def test_every_csv_parser_refuses_empty_and_utf16_files_with_a_source_table_error(tmp_path, parse, content):
    path = write(tmp_path, "bad.csv", content)
    with pytest.raises(SourceTableError) as exc:
        parse(path)
    assert exc.value.file == str(path)
