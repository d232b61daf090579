"""A pass/fail pair for every Great Expectations gate on the census tables."""

import json
from pathlib import Path

import pandas as pd
import pytest

from census_sources import TABLES, load_table
from census_sources.validate import reconcile
from persona_assets.census.checks import evaluate_census_table
from persona_assets.core.gx_suites import load_suite, run_suite

EXPECTATIONS = Path(__file__).resolve().parents[1] / "expectations"
NAMES = sorted(TABLES)


def test_every_table_has_a_suite_and_no_orphans() -> None:
    files = {p.stem for p in (EXPECTATIONS / "census").glob("*.json")}
    assert files == set(NAMES) | {"_reconciliation"}
    for name in files:
        suite = json.loads((EXPECTATIONS / "census" / f"{name}.json").read_text())
        assert suite["expectations"], name


@pytest.mark.parametrize("name", NAMES)
def test_suite_passes_on_the_snapshot(name: str) -> None:
    passed, metadata, summary = evaluate_census_table(load_table(name), TABLES[name])
    assert passed, summary
    assert metadata["expectations_failed"] == 0


@pytest.mark.parametrize("name", NAMES)
def test_suite_fails_on_a_negative_figure(name: str) -> None:
    spec = TABLES[name]
    df = load_table(name)
    df.loc[0, spec.value] = -1
    report = run_suite(df, f"census/{name}")
    assert not report.success
    assert [f.column for f in report.failures] == [spec.value]
    assert "-1" in report.failures[0].observed


@pytest.mark.parametrize("name", NAMES)
def test_suite_fails_on_a_missing_column(name: str) -> None:
    spec = TABLES[name]
    report = run_suite(load_table(name).drop(columns=[spec.keys[-1]]), f"census/{name}")
    assert not report.success
    assert any(f.expectation == "expect_table_columns_to_match_ordered_list" for f in report.failures)


@pytest.mark.parametrize("name", [n for n in NAMES if "planning_area" in TABLES[n].keys])
def test_suite_fails_on_an_unknown_planning_area(name: str) -> None:
    df = load_table(name)
    df.loc[0, "planning_area"] = "Atlantis"
    report = run_suite(df, f"census/{name}")
    assert not report.success
    assert any(f.column == "planning_area" and "Atlantis" in f.observed for f in report.failures)


RECONCILED = [n for n in NAMES if TABLES[n].totals]


@pytest.mark.parametrize("name", RECONCILED)
def test_reconciliation_gate_pass_and_fail(name: str) -> None:
    spec = TABLES[name]
    df = load_table(name)
    assert run_suite(reconcile(df, spec), "census/_reconciliation").success
    recon = reconcile(df, spec)
    row = int(recon.iloc[0]["row"]) - 2  # line → frame index
    df.loc[row, spec.value] = df.loc[row, spec.value] + 10 * (recon.iloc[0]["tolerance"] + 1000)
    report = run_suite(reconcile(df, spec), "census/_reconciliation")
    assert not report.success
    assert report.failures[0].column == "excess"


def test_suites_are_loaded_from_json_not_code(tmp_path: Path) -> None:
    suite = load_suite("census/respop_2025")
    suite["expectations"] = [
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "count", "max_value": 5}}
    ]
    (tmp_path / "census").mkdir()
    (tmp_path / "census" / "respop_2025.json").write_text(json.dumps(suite))
    report = run_suite(load_table("respop_2025"), "census/respop_2025", base=tmp_path)
    assert not report.success  # the edited file, not a copy in code, decided


def test_report_records_are_json_safe() -> None:
    report = run_suite(
        pd.DataFrame({"count": [1, 2]}),
        {
            "name": "t",
            "expectations": [
                {"type": "expect_column_values_to_be_between", "kwargs": {"column": "count", "min_value": 0}}
            ],
        },
    )
    json.dumps(report.as_records())
    assert report.success and report.evaluated == 1
