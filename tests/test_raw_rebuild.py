"""Rebuild the snapshot from the raw official files (../shared/data/raw) and check it against the committed one.

Skipped, with the reason, where the raw folder is absent. Besides the byte-for-byte comparison, a few headline
totals are recomputed straight from the raw files with plain csv/pandas (not the project's parsers), and a
corrupted raw file must fail with an error naming the file, the row and the column.
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

from census_sources import SNAPSHOT_DIR, TABLES, SourceTableError, load_manifest
from census_sources.build import build, main
from census_sources.registry import SPEC_FILES
from census_sources.snapshot import MANIFEST, sha256_file

pytestmark = pytest.mark.raw


@pytest.fixture(scope="module")
def rebuilt(raw_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rebuilt-snapshot")
    build(raw_root, out)
    return out


def test_rebuild_writes_exactly_the_committed_files(rebuilt):
    assert sorted(p.name for p in rebuilt.iterdir()) == sorted(p.name for p in SNAPSHOT_DIR.iterdir())


@pytest.mark.parametrize("name", sorted(TABLES))
def test_rebuilt_table_is_byte_identical_to_the_snapshot(rebuilt, name):
    file_name = TABLES[name].file_name
    assert (rebuilt / file_name).read_bytes() == (SNAPSHOT_DIR / file_name).read_bytes(), (
        f"{file_name}: rebuilding from the raw files gives a different table; run `python -m census_sources.build`"
    )


def test_rebuilt_manifest_matches_the_committed_one(rebuilt):
    assert json.loads((rebuilt / MANIFEST).read_text(encoding="utf-8")) == load_manifest()
    assert (rebuilt / MANIFEST).read_bytes() == (SNAPSHOT_DIR / MANIFEST).read_bytes()


def test_manifest_source_checksums_match_the_raw_files(raw_root):
    for name, entry in load_manifest()["tables"].items():
        assert [f["path"] for f in entry["source_files"]] == list(TABLES[name].raw_files)
        for f in entry["source_files"]:
            assert sha256_file(raw_root / f["path"]) == f["sha256"], f"{name}: {f['path']} changed since the build"


# ---------------------------------------------------------------------------------------------- independent totals


def _raw(raw: Path, name: str, i: int = 0) -> Path:
    return raw / SPEC_FILES[name].split("|")[i]


def respop_total(raw: Path) -> int:
    with open(_raw(raw, "respop_2025"), newline="", encoding="utf-8-sig") as fh:
        return sum(int(r["Pop"]) for r in csv.DictReader(fh))


def datagovsg_cell(name: str, label: str, column: str) -> Callable[[Path], int]:
    def read(raw: Path) -> int:
        df = pd.read_csv(_raw(raw, name), encoding="utf-8-sig", dtype=str)
        return int(df.loc[df["Number"] == label, column].item())

    return read


def mom_total_employed_2024(raw: Path) -> int:
    with open(_raw(raw, "mom_employed_occupation_age_sex"), newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    header = next(r for r in rows if r and r[0] == "Data Series")
    year = [c.strip() for c in header].index("2024")
    total = next(r for r in rows if r and r[0].startswith("All Occupation Groups"))
    assert total[year] == "2365.6"
    return round(float(total[year]) * 1000)


def ghs_t1_total(raw: Path) -> int:
    t1 = pd.read_excel(_raw(raw, "ghs2015_age_ethnicity_sex"), sheet_name="T1", header=None, engine="xlrd")
    first_total = next(i for i in range(len(t1)) if str(t1.iat[i, 1]).strip() == "Total")
    return int(t1.iat[first_total, 2])


def snapshot_value(name: str, **keys: str) -> int | float:
    df = pd.read_csv(SNAPSHOT_DIR / TABLES[name].file_name, dtype=str, keep_default_na=False)
    for k, v in keys.items():
        df = df[df[k] == v]
    assert len(df) == 1, keys
    return int(df[TABLES[name].value].item())


TOTALS = [
    pytest.param(
        respop_total,
        4_217_720,
        lambda: int(pd.read_csv(SNAPSHOT_DIR / "respop_2025.csv")["count"].sum()),
        id="respop-2025-population",
    ),
    pytest.param(
        datagovsg_cell("census2020_ethnicity_sex", "Total", "Total_Total"),
        4_044_210,
        lambda: snapshot_value(
            "census2020_ethnicity_sex", planning_area="Total", subzone="Total", ethnicity="Total", sex="Total"
        ),
        id="census2020-residents",
    ),
    pytest.param(
        datagovsg_cell("census2020_religion_pa", "Total", "Total"),
        3_459_093,
        lambda: snapshot_value("census2020_religion_pa", planning_area="Total", religion="Total"),
        id="census2020-residents-15plus-religion",
    ),
    pytest.param(
        datagovsg_cell("census2020_dwelling_households_pa", "Total", "Total"),
        1_372_559,
        lambda: snapshot_value("census2020_dwelling_households_pa", planning_area="Total", dwelling_type="Total"),
        id="census2020-households",
    ),
    pytest.param(
        mom_total_employed_2024,
        2_365_600,
        lambda: snapshot_value("mom_employed_occupation_age_sex", sex="Total", age_group="Total", occupation="Total"),
        id="mom-employed-residents-2024",
    ),
    pytest.param(
        ghs_t1_total,
        3_902_690,
        lambda: snapshot_value("ghs2015_age_ethnicity_sex", age_group="Total", ethnicity="Total", sex="Total"),
        id="ghs2015-residents",
    ),
]


@pytest.mark.parametrize("from_raw, expected, from_snapshot", TOTALS)
def test_headline_total_recomputed_from_raw(raw_root, from_raw, expected, from_snapshot):
    assert from_raw(raw_root) == expected
    assert from_snapshot() == expected


# ---------------------------------------------------------------------------------------------- corrupted raw files


def corrupt(path: Path, match: Callable[[list[str]], bool], field: int, value: str) -> int:
    """Set ``field`` of the first CSV line whose fields satisfy ``match`` to ``value`` (other lines byte-identical);
    return that line's 1-based number."""
    lines = path.read_bytes().split(b"\n")
    for i, line in enumerate(lines):
        text = line.decode("utf-8-sig" if i == 0 else "utf-8")
        ending = "\r" if text.endswith("\r") else ""
        fields = next(csv.reader([text.removesuffix("\r")]), [])
        if fields and match(fields):
            fields[field] = value
            buf = io.StringIO()
            csv.writer(buf, lineterminator="").writerow(fields)
            lines[i] = (buf.getvalue() + ending).encode("utf-8")
            path.write_bytes(b"\n".join(lines))
            return i + 1
    raise AssertionError(f"no line of {path} matches")


def raw_copy(raw_root: Path, tmp_path: Path, name: str) -> Path:
    """A raw root holding copies of just this table's raw files."""
    root = tmp_path / "raw"
    for rel in TABLES[name].raw_files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(raw_root / rel, root / rel)
    return root


RAW_CASES = [
    pytest.param(
        "respop_2025", 0, lambda f: f[:4] == ["Bedok", "Bedok North", "30", "Females"], 4, "-10", "Pop",
        "negative figure", id="respop-negative",
    ),
    pytest.param(
        "respop_2025", 0, lambda f: f[:4] == ["Bedok", "Bedok North", "30", "Females"], 4, "1O0", "Pop",
        "not a number: '1O0'", id="respop-non-numeric",
    ),
    pytest.param(
        "census2020_ethnicity_sex", 0, lambda f: f[0] == "Cheng San", 5, "n/a", "Chinese_Males",
        "not a number: 'n/a'", id="census-ethnicity-non-numeric",
    ),
    pytest.param(
        "census2020_dwelling_households_pa", 0, lambda f: f[0] == "Bedok", 4, "-24087", "HDBDwellings_3_RoomFlats",
        "negative figure", id="census-dwelling-negative",
    ),
    pytest.param(
        "ghs2015_marital_sex_pa", 0, lambda f: f[1:5] == ["Single", "Males", "Total", "Bedok"], 5, "4O.1", "value",
        "not a number", id="ghs-long-pa-file",
    ),
    pytest.param(
        "ghs2015_marital_sex_pa", 1, lambda f: f[1:3] == ["Married", "Females"], 4, "-1", "value",
        "negative figure", id="ghs-long-national-file",
    ),
    pytest.param(
        "mom_labour_force_education_sex", 0, lambda f: f[0] == "  Degree", 1, "-1060.5", "2024",
        "negative figure", id="mom-tablebuilder-negative",
    ),
    pytest.param(
        "mom_labour_force_status_age_sex", 0, lambda f: f[:3] == ["2023", "female", "25-29"], 4, "107,9OO",
        "employed", "not a number", id="mom-datagovsg-non-numeric",
    ),
]  # fmt: skip


@pytest.mark.parametrize("name, file_index, match, field, value, column, reason", RAW_CASES)
def test_corrupted_raw_file_names_file_row_and_column(
    raw_root, tmp_path, name, file_index, match, field, value, column, reason
):
    root = raw_copy(raw_root, tmp_path, name)
    bad = root / TABLES[name].raw_files[file_index]
    line = corrupt(bad, match, field, value)
    with pytest.raises(SourceTableError) as exc:
        TABLES[name].parse(root)
    err = exc.value
    assert (err.file, err.row, err.column) == (str(bad), line, column), str(err)
    assert str(err).startswith(f"{bad}, row {line}, column {column!r}: ")
    assert reason in err.reason


def test_uncorrupted_raw_copy_parses(raw_root, tmp_path):
    """Control for the cases above: the copies parse as they are."""
    for name in dict.fromkeys(p.values[0] for p in RAW_CASES):
        spec = TABLES[name]
        df = spec.parse(raw_copy(raw_root, tmp_path / name, name))
        if spec.drop_zero_rows:  # the parser keeps them for the completeness checks; the snapshot does not
            df = df[df[spec.value] != 0]
        assert len(df) == load_manifest()["tables"][name]["rows"]


def test_build_reports_the_corrupted_raw_file(raw_root, tmp_path, capsys):
    root = raw_copy(raw_root, tmp_path, "respop_2025")
    bad = root / TABLES["respop_2025"].raw_files[0]
    line = corrupt(bad, lambda f: f[:2] == ["Yishun", "Yishun West"], 4, "-20")
    out = tmp_path / "out"
    with pytest.raises(SourceTableError, match=f"row {line}, column 'Pop': negative figure"):
        build(root, out, ["respop_2025"])
    assert not (out / MANIFEST).exists()  # nothing half-built
    assert main(["--raw", str(root), "--out", str(out), "--only", "respop_2025"]) == 1
    assert f"error: {bad}, row {line}, column 'Pop'" in capsys.readouterr().err
