"""The code location loads; its asset and check keys match the committed golden list; the census assets carry
provenance; the planning-area partitions are the 55 URA MP2019 areas."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetKey

from census_sources import TABLES
from persona_assets.definitions import defs
from persona_assets.partitions import PLANNING_AREAS, planning_area_partitions

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "definitions_keys.json"


def current_keys() -> dict[str, list[str]]:
    graph = defs.resolve_asset_graph()
    assets = sorted(k.to_user_string() for k in graph.get_all_asset_keys())
    checks = sorted(f"{c.asset_key.to_user_string()}:{c.name}" for c in graph.asset_check_keys)
    jobs = sorted(j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__"))
    return {"assets": assets, "checks": checks, "jobs": jobs}


def test_asset_and_check_keys_match_golden() -> None:
    keys = current_keys()
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(keys, indent=2) + "\n")
    assert keys == json.loads(GOLDEN.read_text()), "definitions changed: rerun with UPDATE_GOLDEN=1 and review"


def test_every_census_table_is_an_asset_with_a_blocking_check() -> None:
    graph = defs.resolve_asset_graph()
    for name in TABLES:
        assert graph.get(AssetKey(["census", name])).group_name == "census"
    from persona_assets.census.checks import census_checks

    specs = {spec.name: spec for check in census_checks for spec in check.check_specs}
    for name in TABLES:
        assert specs[f"{name}_gx_suite"].blocking
        assert specs[f"{name}_gx_suite"].asset_key == AssetKey(["census", name])


@pytest.mark.parametrize("name", sorted(TABLES))
def test_census_assets_carry_provenance_metadata(name: str) -> None:
    meta = defs.resolve_asset_graph().get(AssetKey(["census", name])).metadata
    for field in ("title", "agency", "reference", "url", "licence", "attribution", "snapshot_sha256"):
        assert meta.get(field), f"{name} lacks {field}"
    assert "Singapore Open Data Licence" in str(meta["attribution"]) or name == "chinese_surnames_2000"


def test_planning_area_partitions_are_the_55_ura_areas() -> None:
    keys = planning_area_partitions.get_partition_keys()
    assert len(keys) == 55 == len(set(keys))
    assert keys == PLANNING_AREAS
    assert {"Ang Mo Kio", "Yishun", "North-Eastern Islands", "Central Water Catchment"} <= set(keys)
    assert (
        defs.resolve_asset_graph().get(AssetKey(["census", "area_population"])).partitions_def
        == planning_area_partitions
    )


def test_workspace_and_pyproject_point_at_the_same_module() -> None:
    workspace = (ROOT / "workspace.yaml").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert "module_name: persona_assets.definitions" in workspace
    assert 'module_name = "persona_assets.definitions"' in pyproject


@pytest.mark.slow
def test_dagster_cli_validates_the_code_location() -> None:
    dagster = Path(sys.executable).with_name("dagster")
    proc = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Validation successful" in proc.stdout + proc.stderr


def test_owners_match_groups_and_descriptions_render() -> None:
    """The UI shows each asset's owner next to its group, and renders descriptions as Markdown: an owner is the
    group's team, and a placeholder such as <version> is in a code span (bare, it is swallowed as an HTML tag)."""
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        assert list(node.owners) == [f"team:{node.group_name}"], (key, node.owners, node.group_name)
        outside_code = "".join((node.description or "").split("`")[::2])
        assert "<" not in outside_code, (key, node.description)


def test_checks_of_partitioned_assets_are_partitioned() -> None:
    """So each result carries its planning area (the UI's check history shows it instead of "Partition —")."""
    from persona_assets.narratives.assets import persona_narratives
    from persona_assets.sample.assets import residents

    specs = [*residents.check_specs, *persona_narratives.check_specs]
    assert len(specs) == 5 and all(s.partitions_def == planning_area_partitions for s in specs)
