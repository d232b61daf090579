"""In-process Dagster runs of the census group against a temporary warehouse and DuckDB file, including the
bad-input paths: a malformed table fails its asset with file/row/column, a table that fails its Great
Expectations gate blocks everything downstream in the same run."""

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance, materialize

from census_sources import SNAPSHOT_DIR, TABLES
from census_sources.snapshot import sha256_file
from persona_assets.census.assets import area_population, census_assets, planning_areas
from persona_assets.census.checks import census_checks
from persona_assets.io_managers import WarehouseIOManager
from persona_assets.resources import CensusSnapshot
from persona_assets.settings import DatasetSettings

pytestmark = pytest.mark.slow

UNPARTITIONED = [*census_assets, planning_areas]


def resources(data: Path, snapshot: Path | None = None) -> dict[str, object]:
    return {
        "io_manager": WarehouseIOManager(settings=DatasetSettings(data_dir=str(data))),
        "census_snapshot": CensusSnapshot(path=str(snapshot) if snapshot else ""),
    }


def materialised_keys(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def corrupt_snapshot(tmp_path: Path, table: str, edit) -> Path:
    """Copy the snapshot, apply ``edit(text) -> text`` to one table and re-sign the manifest so that the
    table's content (not its checksum) is what the run rejects."""
    snap = tmp_path / "snapshot"
    shutil.copytree(SNAPSHOT_DIR, snap)
    path = snap / f"{table}.csv"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    manifest = json.loads((snap / "manifest.json").read_text())
    manifest["tables"][table]["sha256"] = sha256_file(path)
    (snap / "manifest.json").write_text(json.dumps(manifest))
    return snap


def test_census_group_materialises_into_duckdb(tmp_path: Path) -> None:
    instance = DagsterInstance.ephemeral()
    result = materialize([*UNPARTITIONED, *census_checks], resources=resources(tmp_path), instance=instance)
    assert result.success
    expected = {f"census/{n}" for n in TABLES} | {"census/planning_areas"}
    assert materialised_keys(result) == expected
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == len(TABLES)
    assert all(e.passed for e in evaluations)
    with duckdb.connect(str(tmp_path / "sg_personas.duckdb"), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        assert tables == {n for n in TABLES} | {"planning_areas"}
        total = con.execute("select sum(count) from census.respop_2025 where cast(age as int) >= 15").fetchone()
        assert total == (3_643_840,)
        areas = con.execute("select count(*), sum(residents_15plus) from census.planning_areas").fetchone()
        assert areas == (55, 3_643_840)

    # one populated and one empty planning area
    for area, populated in (("Ang Mo Kio", True), ("Central Water Catchment", False)):
        part = materialize(
            [area_population, *census_assets],
            selection=[area_population],
            partition_key=area,
            resources=resources(tmp_path),
            instance=instance,
        )
        assert part.success
        mat = part.get_asset_materialization_events()[0].materialization
        assert ("no residents" in mat.metadata["note"].value) is not populated
    view = pd.read_parquet(tmp_path / "warehouse" / "census" / "area_population" / "ang_mo_kio.parquet")
    assert set(view["planning_area"]) == {"Ang Mo Kio"} and view["age"].min() >= 15
    assert (tmp_path / "warehouse" / "census" / "area_population" / "central_water_catchment.parquet").exists()


def test_malformed_table_fails_with_file_row_column_and_nothing_downstream_runs(tmp_path: Path) -> None:
    def negative_count(text: str) -> str:
        lines = text.splitlines()
        fields = lines[4].split(",")
        fields[-1] = "-40"
        lines[4] = ",".join(fields)
        return "\n".join(lines) + "\n"

    snap = corrupt_snapshot(tmp_path, "respop_2025", negative_count)
    result = materialize(
        [*UNPARTITIONED, *census_checks],
        resources=resources(tmp_path / "d", snap),
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    failures = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    assert len(failures) == 1
    message = failures[0].event_specific_data.error.message
    assert "respop_2025.csv" in message and "row 5" in message and "column 'count'" in message
    assert "negative figure -40" in message
    done = materialised_keys(result)
    assert "census/respop_2025" not in done
    assert "census/planning_areas" not in done  # downstream of the broken table
    assert "census/ura_planning_areas" in done  # unrelated tables still load


def test_a_planning_area_not_in_ura_fails_the_table_at_load(tmp_path: Path) -> None:
    snap = corrupt_snapshot(
        tmp_path,
        "respop_2025",
        lambda t: t.replace("Ang Mo Kio,Ang Mo Kio Town Centre", "Atlantis,Ang Mo Kio Town Centre"),
    )
    result = materialize(
        [*UNPARTITIONED, *census_checks],
        resources=resources(tmp_path / "d", snap),
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    failures = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    message = failures[0].event_specific_data.error.message
    assert "respop_2025.csv, row 2, column 'planning_area': planning area 'Atlantis' is not a URA MP2019" in message
    assert "census/planning_areas" not in materialised_keys(result)


def test_failing_quality_gate_blocks_downstream(tmp_path: Path) -> None:
    # A name token with a space: the loader's checks pass (tokens are an open set), the GX suite's pattern does not.
    from persona_assets.names.assets import NameSources, name_tokens

    snap = corrupt_snapshot(tmp_path, "cea_name_tokens", lambda t: t.replace(",Aabel,", ",Aa bel,", 1))
    result = materialize(
        [*UNPARTITIONED, *census_checks, name_tokens],
        resources={**resources(tmp_path / "d", snap), "name_sources": NameSources()},
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    evaluation = {e.check_name: e for e in result.get_asset_check_evaluations()}["cea_name_tokens_gx_suite"]
    assert not evaluation.passed
    assert "Aa bel" in evaluation.description
    assert evaluation.asset_key == AssetKey(["census", "cea_name_tokens"])
    done = materialised_keys(result)
    assert "census/cea_name_tokens" in done and "name_tokens" not in done  # stored, but nothing downstream ran
