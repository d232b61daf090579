"""The strict loader on the committed snapshot, and on malformed copies of it.

Every malformed copy is written into a temporary snapshot folder together with a manifest whose checksum matches
the malformed file, so that what fails is the loader's validation (which must name the file, the row and the
column), not the checksum. The checksum has its own test.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from _helpers import assert_located

from census_sources import SNAPSHOT_DIR, TABLES, SourceTableError, load_manifest, load_table
from census_sources.snapshot import MANIFEST, sha256_file
from census_sources.validate import reconcile


@pytest.fixture(scope="module")
def manifest() -> dict:
    return load_manifest()


@pytest.fixture(scope="module")
def loaded() -> dict[str, pd.DataFrame]:
    return {name: load_table(name) for name in TABLES}


# ---------------------------------------------------------------------------------------------- committed snapshot


def test_manifest_lists_exactly_the_registered_tables(manifest):
    assert sorted(manifest["tables"]) == sorted(TABLES)
    assert sorted(p.stem for p in SNAPSHOT_DIR.glob("*.csv")) == sorted(TABLES)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_table_loads_and_matches_its_manifest_entry(name, manifest, loaded):
    spec, entry, df = TABLES[name], manifest["tables"][name], loaded[name]
    assert list(df.columns) == list(spec.columns) == entry["columns"]
    assert len(df) == entry["rows"] > 0
    assert sha256_file(SNAPSHOT_DIR / spec.file_name) == entry["sha256"]
    assert str(df[spec.value].dtype) == ("Int64" if spec.integer else "Float64")
    assert not df.duplicated(list(spec.keys)).any()
    # value_total: the sum over rows that are not published totals, recomputed here
    parts = pd.Series(True, index=df.index)
    for key, label in spec.totals.items():
        parts &= df[key] != label
    total = df.loc[parts, spec.value].sum()
    assert total == pytest.approx(entry["value_total"], abs=1e-6)
    for field in ("title", "agency", "url", "licence", "attribution", "universe"):
        assert entry[field], field
    assert entry["source_files"] and all(len(f["sha256"]) == 64 for f in entry["source_files"])


@pytest.mark.parametrize("name", sorted(TABLES))
def test_reconcile_excess_is_never_positive(name, manifest, loaded):
    spec = TABLES[name]
    frame = reconcile(loaded[name], spec)
    assert len(frame) == manifest["tables"][name]["reconciled_totals"]
    if spec.totals:
        assert len(frame) > 0, "a table with published totals must have totals to reconcile"
    assert (frame["excess"] <= 0).all(), frame[frame["excess"] > 0].head().to_string()
    assert (frame["abs_diff"] <= frame["tolerance"]).all()
    if len(frame):
        assert frame["abs_diff"].max() == pytest.approx(manifest["tables"][name]["max_reconciliation_diff"])


def test_known_published_totals_in_the_snapshot(loaded):
    eth = loaded["census2020_ethnicity_sex"]
    row = eth[
        (eth.planning_area == "Total") & (eth.subzone == "Total") & (eth.ethnicity == "Total") & (eth.sex == "Total")
    ]
    assert row["count"].tolist() == [4044210]
    assert loaded["respop_2025"]["count"].sum() == 4217720


# ---------------------------------------------------------------------------------------------- malformed copies

Rows = list[list[str]]
URA = ("ura_planning_areas", "ura_subzones")


def rows_of(name: str) -> Rows:
    with open(SNAPSHOT_DIR / TABLES[name].file_name, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def to_bytes(rows: Rows) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


def find(rows: Rows, *prefix: str) -> int:
    """0-based index of the first row that starts with these fields (its line number is index + 1)."""
    return next(i for i, r in enumerate(rows) if r[: len(prefix)] == list(prefix))


def malformed_snapshot(tmp_path: Path, name: str, content: bytes) -> Path:
    """A snapshot folder with this table's file replaced by ``content`` and a manifest entry whose checksum matches
    ``content`` (plus the URA lists, as they are); returns the table's path."""
    folder = tmp_path / "snapshot"
    folder.mkdir()
    committed = load_manifest()
    tables = {}
    for ref in URA:  # the lists every table's planning areas and subzones are checked against
        shutil.copy2(SNAPSHOT_DIR / TABLES[ref].file_name, folder)
        tables[ref] = committed["tables"][ref]
    path = folder / TABLES[name].file_name
    path.write_bytes(content)
    tables[name] = {**committed["tables"][name], "sha256": sha256_file(path)}
    (folder / MANIFEST).write_text(json.dumps({"format": committed["format"], "tables": tables}))
    return path


@pytest.mark.parametrize("name", ["census2020_religion_pa", "respop_2025", "mom_employed_occupation_age_sex"])
def test_csv_round_trip_reproduces_the_committed_file(name):
    """The edits below go through csv.reader/writer: unedited, that round trip must change nothing."""
    assert to_bytes(rows_of(name)) == (SNAPSHOT_DIR / TABLES[name].file_name).read_bytes()


RELIGION = "census2020_religion_pa"

# Each edit takes the committed rows and returns (file content, line of the defect or None, column or None, reason).
Edit = Callable[[Rows], tuple[bytes, int | None, str | None, str]]


def _set(rows: Rows, prefix: tuple[str, ...], column: int, value: str) -> int:
    i = find(rows, *prefix)
    rows[i][column] = value
    return i + 1


AMK_BUDDHISM = ("Ang Mo Kio", "Buddhism")


def missing_column(rows: Rows):
    return to_bytes([[r[0], r[2]] for r in rows]), 1, "religion", "missing column 'religion'"


def extra_column(rows: Rows):
    return to_bytes([r + (["note"] if i == 0 else [""]) for i, r in enumerate(rows)]), 1, "note", "unexpected column"


def duplicated_column(rows: Rows):
    return to_bytes([r + [r[2]] for r in rows]), 1, "count", "column 'count' appears twice"


def figure(value: str, reason: str) -> Edit:
    def edit(rows: Rows):
        line = _set(rows, AMK_BUDDHISM, 2, value)
        return to_bytes(rows), line, "count", reason

    return edit


def duplicated_key(rows: Rows):
    i = find(rows, *AMK_BUDDHISM)
    rows.insert(i + 1, list(rows[i]))
    key = {"planning_area": "Ang Mo Kio", "religion": "Buddhism"}
    return to_bytes(rows), i + 2, "planning_area, religion", f"duplicated key {key} (first seen on row {i + 1})"


def totals_do_not_reconcile(rows: Rows):
    i = find(rows, *AMK_BUDDHISM)
    rows[i][2] = str(int(rows[i][2]) + 10000)
    # the first total that no longer matches its parts: the national Buddhism figure (planning_area=Total)
    line = find(rows, "Total", "Buddhism") + 1
    return to_bytes(rows), line, "count", "totals do not reconcile"


def unknown_religion(rows: Rows):
    line = _set(rows, AMK_BUDDHISM, 1, "Jedi")
    return to_bytes(rows), line, "religion", "unknown value 'Jedi' (expected one of: Total, No Religion"


def empty_key(rows: Rows):
    line = _set(rows, AMK_BUDDHISM, 0, " ")
    return to_bytes(rows), line, "planning_area", "empty key"


def short_row(rows: Rows):
    i = find(rows, *AMK_BUDDHISM)
    rows[i] = rows[i][:2]
    return to_bytes(rows), i + 1, "count", "row has 2 fields, expected 3"


def long_row(rows: Rows):
    i = find(rows, *AMK_BUDDHISM)
    rows[i] = [*rows[i], "49544"]
    return to_bytes(rows), i + 1, "#4", "row has 4 fields, expected 3"


def latin1_byte(rows: Rows):
    i = find(rows, *AMK_BUDDHISM)
    data = to_bytes(rows).replace(b"Ang Mo Kio,Buddhism,", "Ang Mo Kio,Buddhïsm,".encode("latin-1"))
    return data, i + 1, "religion", "not valid UTF-8 (byte 0xef)"


def utf16(rows: Rows):
    return to_bytes(rows).decode("utf-8").encode("utf-16"), 1, None, "encoded as UTF-16"


def empty_file(rows: Rows):
    return b"", None, None, "file is empty"


def header_only(rows: Rows):
    return to_bytes(rows[:1]), 2, None, "file has a header but no data rows"


def blank_header(rows: Rows):
    return b"\n" + to_bytes(rows[1:]), 1, None, "file has no header row"


def respop_unknown_sex(rows: Rows):
    line = _set(rows, ("Ang Mo Kio", "Ang Mo Kio Town Centre", "0", "Female"), 3, "Unknown")
    return to_bytes(rows), line, "sex", "unknown value 'Unknown' (expected one of: Male, Female)"


def flag_on_a_figure(rows: Rows):
    line = _set(rows, ("Total", "Total", "Total"), 4, "na")
    return to_bytes(rows), line, "flag", "flag 'na' set on a row that has a figure"


def missing_figure_without_flag(rows: Rows):
    line = _set(rows, ("Male", "15-19", "Managers & Administrators"), 4, "")
    return to_bytes(rows), line, "count", "missing figure"


def non_finite_rate(rows: Rows):
    line = _set(rows, ("Male", "Total", "Single"), 3, "inf")
    return to_bytes(rows), line, "value", "not a finite number: 'inf'"


CASES = [
    pytest.param(RELIGION, missing_column, id="missing-column"),
    pytest.param(RELIGION, extra_column, id="extra-column"),
    pytest.param(RELIGION, duplicated_column, id="duplicated-column"),
    pytest.param(RELIGION, figure("forty-nine", "not a whole number: 'forty-nine'"), id="non-numeric-count"),
    pytest.param(RELIGION, figure("49,544", "not a whole number: '49,544'"), id="thousands-separator-count"),
    pytest.param(RELIGION, figure("49544.5", "not a whole number: '49544.5'"), id="fractional-count"),
    pytest.param(RELIGION, figure("-49544", "negative figure -49544"), id="negative-count"),
    pytest.param(RELIGION, figure("", "missing figure"), id="empty-count"),
    pytest.param(RELIGION, duplicated_key, id="duplicated-key"),
    pytest.param(RELIGION, totals_do_not_reconcile, id="totals-do-not-reconcile"),
    pytest.param(RELIGION, unknown_religion, id="unknown-closed-key-value"),
    pytest.param(RELIGION, empty_key, id="empty-key"),
    pytest.param(RELIGION, short_row, id="row-with-too-few-fields"),
    pytest.param(RELIGION, long_row, id="row-with-too-many-fields"),
    pytest.param(RELIGION, latin1_byte, id="latin-1-byte"),
    pytest.param(RELIGION, utf16, id="utf-16-file"),
    pytest.param(RELIGION, empty_file, id="empty-file"),
    pytest.param(RELIGION, header_only, id="header-only"),
    pytest.param(RELIGION, blank_header, id="blank-header-line"),
    pytest.param("respop_2025", respop_unknown_sex, id="respop-sex-unknown"),
    pytest.param("mom_employed_occupation_age_sex", flag_on_a_figure, id="flag-on-a-figure"),
    pytest.param("mom_employed_occupation_age_sex", missing_figure_without_flag, id="missing-figure-without-flag"),
    pytest.param("mom_employment_rate_age_sex_marital", non_finite_rate, id="non-finite-rate"),
]


@pytest.mark.parametrize("name, edit", CASES)
def test_malformed_table_names_file_row_and_column(tmp_path, name, edit):
    content, row, column, reason = edit(rows_of(name))
    path = malformed_snapshot(tmp_path, name, content)
    with pytest.raises(SourceTableError) as exc:
        load_table(name, snapshot_dir=path.parent)
    assert_located(exc.value, path, row, column)
    assert reason in exc.value.reason
    assert "does not match the manifest" not in str(exc.value)  # validation failed, not the checksum


def test_totals_failure_reports_every_failing_total(tmp_path):
    content, *_ = totals_do_not_reconcile(rows_of(RELIGION))
    path = malformed_snapshot(tmp_path, RELIGION, content)
    with pytest.raises(SourceTableError) as exc:
        load_table(RELIGION, snapshot_dir=path.parent)
    # the national Buddhism total and Ang Mo Kio's total both miss their parts by 10000
    assert "(planning_area=Total, religion=Buddhism) differs from the sum of its 31 parts" in exc.value.reason
    assert "by 10000" in exc.value.reason
    assert "2 total(s) fail" in exc.value.reason


def test_unedited_copy_with_its_own_manifest_loads(tmp_path):
    """Control for the cases above: the helper itself produces a loadable snapshot."""
    path = malformed_snapshot(tmp_path, RELIGION, to_bytes(rows_of(RELIGION)))
    pd.testing.assert_frame_equal(load_table(RELIGION, snapshot_dir=path.parent), load_table(RELIGION))


# ---------------------------------------------------------------------------------------------- checksum / manifest


@pytest.fixture
def snapshot_copy(tmp_path) -> Path:
    folder = tmp_path / "snapshot"
    folder.mkdir()
    for name in ("chinese_surnames_2000", RELIGION, *URA):
        shutil.copy2(SNAPSHOT_DIR / TABLES[name].file_name, folder)
    shutil.copy2(SNAPSHOT_DIR / MANIFEST, folder)
    return folder


def test_file_changed_after_the_manifest_was_built_fails_the_checksum(snapshot_copy):
    name = "chinese_surnames_2000"
    load_table(name, snapshot_dir=snapshot_copy)  # the untouched copy loads
    path = snapshot_copy / TABLES[name].file_name
    path.write_text(path.read_text(encoding="utf-8").replace("Tan,237800", "Tan,237810"), encoding="utf-8")
    changed = load_table(name, snapshot_dir=snapshot_copy, verify_checksum=False)  # still a valid table...
    assert changed.loc[changed.surname == "Tan", "count"].tolist() == [237810]
    with pytest.raises(SourceTableError) as exc:  # ...but not the one the manifest recorded
        load_table(name, snapshot_dir=snapshot_copy)
    assert exc.value.file == str(path)
    assert "file does not match the manifest" in exc.value.reason
    assert "changed after the snapshot was built" in exc.value.reason
    assert sha256_file(path)[:12] in exc.value.reason


def test_table_missing_from_the_manifest(snapshot_copy):
    manifest = json.loads((snapshot_copy / MANIFEST).read_text(encoding="utf-8"))
    del manifest["tables"][RELIGION]
    (snapshot_copy / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(SourceTableError, match="is not in the snapshot manifest"):
        load_table(RELIGION, snapshot_dir=snapshot_copy)


@pytest.mark.parametrize(
    "manifest_text, reason, row",
    [
        pytest.param(None, "snapshot manifest not found", None, id="absent"),
        pytest.param('{\n  "format": 1,\n  "tables": {,}\n}', "manifest is not valid JSON", 3, id="bad-json"),
        pytest.param('{"format": 2, "tables": {}}', "unsupported snapshot format 2", None, id="format"),
    ],
)
def test_unusable_manifest(snapshot_copy, manifest_text, reason, row):
    path = snapshot_copy / MANIFEST
    if manifest_text is None:
        path.unlink()
    else:
        path.write_text(manifest_text, encoding="utf-8")
    with pytest.raises(SourceTableError) as exc:
        load_table(RELIGION, snapshot_dir=snapshot_copy)
    assert exc.value.file == str(path)
    assert exc.value.row == row
    assert reason in exc.value.reason


def test_reconciliation_catches_lost_rows_and_na_overruns() -> None:
    from census_sources import TABLES, load_table
    from census_sources.validate import reconcile

    spec = TABLES["census2020_ethnicity_sex"]
    df = load_table("census2020_ethnicity_sex")
    lost = df[~((df.planning_area == "Bedok") & (df.subzone != "Total"))].reset_index(drop=True)
    assert (reconcile(lost, spec)["excess"] > 0).any()  # Bedok's subzones are gone: its totals have no parts
    spec = TABLES["mom_employed_occupation_age_sex"]
    df = load_table("mom_employed_occupation_age_sex")
    prof = df["occupation"] == "Professionals"
    df.loc[prof, "count"] = pd.NA
    df.loc[prof, "flag"] = "na"
    assert (reconcile(df, spec)["excess"] <= 0).all()  # missing parts: only an upper bound, which holds
    df.loc[df["occupation"] == "Managers & Administrators", "count"] *= 10
    assert (reconcile(df, spec)["excess"] > 0).any()  # known parts now exceed their totals
