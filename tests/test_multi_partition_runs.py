"""Several partitions in one run, as a backfill policy groups them (``persona_assets/partitions.py``): one run of
``census/area_population``, ``residents`` and ``persona_narratives`` over a range of three planning areas (one of
them without residents) writes the same bytes, per partition, as three single-partition runs; each partition's
materialisation carries its own metadata (records, file); the checks cover the whole range."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from _helpers import copy_warehouse, materialize_upstream, warehouse_resources
from dagster import AssetKey, DagsterInstance, materialize
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from persona_assets.census.assets import area_population, census_assets, planning_areas
from persona_assets.core import storage
from persona_assets.model.assets import persona_network
from persona_assets.names.assets import name_tokens
from persona_assets.narratives.assets import persona_narratives
from persona_assets.narratives.resources import NarrativeLLM
from persona_assets.sample.assets import residents
from persona_assets.testing.llm_server import LLMTestServer

pytestmark = pytest.mark.slow

#: Consecutive in partition order (a range); Boon Lay has no residents aged 15+.
AREAS = ["Bishan", "Boon Lay", "Bukit Batok"]
UPSTREAM = [*census_assets, planning_areas, persona_network, name_tokens]
ALL = [area_population, residents, persona_narratives, *UPSTREAM]
OUTPUTS = [("census", "area_population"), ("sample", "residents"), ("narratives", "persona_narratives")]
SETTINGS = {"total_records": 20_000, "base_seed": 11, "records_per_partition": "3"}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return materialize_upstream(tmp_path_factory.mktemp("upstream"))


def _run(data: Path, server: LLMTestServer, selection: list, **kwargs: object):
    llm = NarrativeLLM(model="openai/test-model", api_base=server.base_url, api_key="sk-test", backoff_base_s=0.01)
    return materialize(
        ALL,
        selection=selection,
        resources={**warehouse_resources(data, **SETTINGS), "llm": llm},
        instance=DagsterInstance.ephemeral(),
        **kwargs,
    )


def test_one_run_over_a_partition_range_writes_what_single_partition_runs_write(upstream: Path, tmp_path: Path) -> None:
    grouped, single = copy_warehouse(upstream, tmp_path / "grouped"), copy_warehouse(upstream, tmp_path / "single")
    server = LLMTestServer().start()
    try:
        span = {ASSET_PARTITION_RANGE_START_TAG: AREAS[0], ASSET_PARTITION_RANGE_END_TAG: AREAS[-1]}
        result = _run(grouped, server, [area_population, residents, persona_narratives], tags=span)
        assert result.success
        for area in AREAS:
            assert _run(single, server, [area_population, residents, persona_narratives], partition_key=area).success
    finally:
        server.stop()

    for schema, table in OUTPUTS:
        for area in AREAS:
            name = storage.partition_file_name(area)
            a, b = (storage.asset_dir(root, schema, table) / name for root in (grouped, single))
            assert _sha(a) == _sha(b), f"{schema}.{table} {area}: a grouped run wrote other bytes"

    mats = {(e.asset_key, e.partition): e.materialization.metadata for e in result.get_asset_materialization_events()}
    assert {p for k, p in mats if k == AssetKey("residents")} == set(AREAS)
    for area in AREAS:
        meta = mats[(AssetKey("residents"), area)]
        path = storage.asset_dir(grouped, "sample", "residents") / storage.partition_file_name(area)
        assert meta["path"].value == str(path)  # each partition names its own file
        assert meta["records"].value == len(storage.read_parquet(path))
        assert meta["dataset_settings"].value == {"total_records": 20_000, "base_seed": 11}
    assert mats[(AssetKey("residents"), "Boon Lay")]["records"].value == 0
    narr = mats[(AssetKey("persona_narratives"), "Bishan")]
    assert narr["records"].value == 3 and narr["partitions_in_run"].value == 3
    # one evaluation per check and partition of the run, each naming its area (not one for the whole range)
    checks = {(c.check_name, c.partition): c for c in result.get_asset_check_evaluations()}
    names = ("residents_fidelity", "residents_gx_suite", "residents_privacy", "narratives_accounted")
    assert {(n, a) for n in names for a in AREAS} <= set(checks)
    assert all(checks[(n, a)].passed and checks[(n, a)].description.startswith(f"{a}: ") for n in names for a in AREAS)
    assert checks[("narratives_accounted", "Bishan")].metadata["rows"].value == 3
    assert checks[("narratives_accounted", "Boon Lay")].metadata["rows"].value == 0
