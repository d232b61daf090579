"""The dataset-level joint-fidelity gate through Dagster: ``fit_report``'s blocking check passes on a sampled
dataset, and fails (skipping what depends on the report in the same run) when the records lose a tie the official
cross-tabs hold."""

from pathlib import Path

import pandas as pd
import pytest
from _helpers import warehouse_resources
from dagster import AssetIn, AssetSpec, DagsterInstance, asset, materialize

from persona_assets.core.census import area_adult_population, summarise_planning_areas
from persona_assets.core.model.allocation import allocate_areas
from persona_assets.core.model.residents import sample_residents
from persona_assets.core.storage import store_partition, store_table
from persona_assets.model.assets import REPORT_INPUTS, fit_report
from persona_assets.partitions import planning_area_partitions

TOTAL = 3_000


@asset(ins={"fit": AssetIn(key="fit_report")})
def after_the_report(fit: pd.DataFrame) -> pd.DataFrame:
    """Stands for publication: it runs only when the report's blocking checks pass."""
    return pd.DataFrame({"report_rows": [len(fit)]})


@pytest.fixture(scope="module")
def residents(network, census_frames) -> dict[str, pd.DataFrame]:
    respop, ura = census_frames["respop_2025"], census_frames["ura_planning_areas"]
    alloc = allocate_areas(summarise_planning_areas(respop, ura).set_index("planning_area")["residents_15plus"], TOTAL)
    return {
        a: sample_residents(network, a, area_adult_population(respop, ura, a), int(alloc[a]), 7) for a in alloc.index
    }


def _run(tmp_path: Path, network, census_frames, residents: dict[str, pd.DataFrame]):
    data = tmp_path / "data"
    db = data / "sg_personas.duckdb"
    for name in REPORT_INPUTS:
        store_table(census_frames[name], data, db, "census", name)
    for area, df in residents.items():
        store_partition(df.drop(columns=["big_five"]), data, db, "sample", "residents", area)
    # the layout NetworkIOManager reads: models/persona_network/versions/<n> and CURRENT
    network.save(data / "models" / "persona_network" / "versions" / "1")
    (data / "models" / "persona_network" / "CURRENT").write_text("1", encoding="utf-8")
    upstream = [
        AssetSpec("persona_network").with_io_manager_key("network_io_manager"),
        AssetSpec("residents", partitions_def=planning_area_partitions, metadata={"schema": "sample"}),
        *[AssetSpec(["census", n]) for n in REPORT_INPUTS],
    ]
    return materialize(
        [*upstream, fit_report, after_the_report],
        selection=[fit_report, after_the_report],
        resources=warehouse_resources(data),
        run_config={"ops": {"fit_report": {"config": {"report_dir": str(tmp_path / "report")}}}},
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


@pytest.mark.slow
def test_joint_gate_passes_on_a_sample_and_blocks_on_broken_ties(tmp_path, network, census_frames, residents):
    ok = _run(tmp_path / "ok", network, census_frames, residents)
    checks = {e.check_name: e for e in ok.get_asset_check_evaluations()}
    assert ok.success and checks["fit_report_joint_fidelity"].passed
    assert (tmp_path / "ok" / "report" / "joint.csv").exists()
    assert list((tmp_path / "ok" / "report").glob("joint__dwelling_type___education_level.png"))
    materialised = {e.asset_key.path[-1] for e in ok.get_asset_materialization_events()}
    assert {"fit_report", "after_the_report"} <= materialised

    # every degree holder moved into a 1-2 room HDB flat: the dwelling x qualification tie is broken
    broken = {a: df.copy() for a, df in residents.items()}
    for df in broken.values():
        df.loc[df["education_level"] == "Degree", "dwelling_type"] = "HDB 1- and 2-Room Flats"
    bad = _run(tmp_path / "bad", network, census_frames, broken)
    checks = {e.check_name: e for e in bad.get_asset_check_evaluations()}
    assert not bad.success and not checks["fit_report_joint_fidelity"].passed
    assert "dwelling_type | education_level" in checks["fit_report_joint_fidelity"].description
    materialised = {e.asset_key.path[-1] for e in bad.get_asset_materialization_events()}
    assert "after_the_report" not in materialised
