"""Code versions are content digests (``persona_assets/code_versions.py``): in a copy of the repository, editing a
file of each stage changes the versions of exactly the assets whose code reaches that file, and nothing else."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from census_sources import TABLES
from persona_assets.code_versions import list_code_versions
from persona_assets.definitions import defs
from persona_assets.narratives.resources import DEFAULT_MODEL as MODEL

ROOT = Path(__file__).resolve().parents[1]
CENSUS = {f"census/{t}" for t in TABLES}
#: Every asset whose code reaches the record schema (and so the model's vocabulary).
SCHEMA_USERS = {
    "residents",
    "persona_narratives",
    "narrative_report",
    "name_tokens",
    "name_report",
    "personas_candidate",
    "personas_dataset",
}
#: Every asset whose code reaches the network's tables (the harmonisation and its IPF).
NETWORK_USERS = {"persona_network", "fit_report", "residents", "personas_dataset"}

EDITS = {
    "census_sources/parsers/mom.py": CENSUS,
    "census_sources/snapshot.py": CENSUS,
    "persona_assets/core/census.py": {"census/planning_areas", "census/area_population"},
    "persona_assets/core/ipf.py": NETWORK_USERS,
    "persona_assets/core/model/tables.py": NETWORK_USERS,
    "persona_assets/core/model/network.py": NETWORK_USERS,
    "persona_assets/core/model/report.py": {"fit_report"},
    "persona_assets/core/model/seeds.py": {"residents"},
    "persona_assets/core/model/sampler.py": {"residents"},
    "persona_assets/core/model/vocab.py": NETWORK_USERS | SCHEMA_USERS,
    "persona_assets/core/schema.py": SCHEMA_USERS,
    "persona_assets/core/names.py": {"name_tokens", "name_report", "residents", "personas_candidate"},
    "census_sources/annotations/english_given_names_sex.csv": {"name_tokens"},
    "persona_assets/core/narratives/prompts.py": {"persona_narratives", "narrative_report"},
    "persona_assets/core/narratives/validate.py": {"persona_narratives", "narrative_report"},
    "persona_assets/core/narratives/report.py": {"narrative_report"},
    "census_sources/annotations/sg_landmarks.csv": {"persona_narratives", "narrative_report"},
    "persona_assets/core/quality.py": {"personas_candidate"},
    "expectations/personas_dataset.json": {"personas_candidate"},
    "persona_assets/core/publish/join.py": {"personas_candidate", "personas_dataset"},
    "persona_assets/core/publish/card.py": {"personas_dataset"},
    "persona_assets/core/publish/release.py": {"personas_dataset"},
    # thin Dagster wrappers and code no asset output depends on
    "persona_assets/sample/assets.py": set(),
    "persona_assets/core/narratives/client.py": set(),
    "README.md": set(),
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the files the versions digest (plus the README, which none does)."""
    copy = tmp_path_factory.mktemp("repo")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("persona_assets", "census_sources", "expectations"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=ignore)
    shutil.copy(ROOT / "README.md", copy / "README.md")
    return copy


@pytest.fixture(scope="module")
def baseline(repo: Path) -> dict[str, str]:
    return list_code_versions(repo, MODEL)


def _edit(path: Path) -> bytes:
    original = path.read_bytes()
    comment = b"\n# edited by test_code_versions\n" if path.suffix == ".py" else b"\n"
    if path.suffix == ".json":
        path.write_bytes(original.rstrip() + b"\n\n")
    else:
        path.write_bytes(original + comment)
    return original


def test_versions_are_those_of_the_definitions_and_stable(repo: Path, baseline: dict[str, str]) -> None:
    assert list_code_versions(ROOT, MODEL) == baseline  # a copy elsewhere digests the same
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == set(baseline)  # one version per asset, none left out
    for key in keys - {"persona_narratives"}:  # the narratives' depends on the configured model (next test)
        assert (
            graph.get(next(k for k in graph.get_all_asset_keys() if k.to_user_string() == key)).code_version
            == (baseline[key])
        )
    assert len({baseline[k] for k in CENSUS}) == len(CENSUS)  # each table's own snapshot checksum


@pytest.mark.parametrize("rel", sorted(EDITS), ids=lambda r: r.replace("/", "_"))
def test_editing_a_file_changes_exactly_the_assets_that_depend_on_it(repo: Path, baseline, rel: str) -> None:
    path = repo / rel
    original = _edit(path)
    try:
        after = list_code_versions(repo, MODEL)
    finally:
        path.write_bytes(original)
    changed = {k for k in baseline if after[k] != baseline[k]}
    assert changed == EDITS[rel]
    assert list_code_versions(repo, MODEL) == baseline  # restored: the versions are the content's


def test_another_model_changes_only_the_narratives(repo: Path, baseline) -> None:
    after = list_code_versions(repo, "openai/gpt-4o-mini")
    assert {k for k in baseline if after[k] != baseline[k]} == {"persona_narratives"}


def test_another_prompt_profile_changes_only_the_narratives(repo: Path, baseline) -> None:
    from persona_assets.core.narratives.prompts import FULL, select_profile

    assert select_profile(MODEL) != FULL  # the embedded model gets the compact profile
    after = list_code_versions(repo, MODEL, FULL.prompt_version)
    assert {k for k in baseline if after[k] != baseline[k]} == {"persona_narratives"}


def test_the_narratives_version_follows_the_model_configured_in_the_environment(tmp_path: Path) -> None:
    """``SG_PERSONAS_LLM_MODEL`` at definitions load: the UI shows every narratives partition stale after a switch
    of model."""
    script = (
        "from dagster import AssetKey; from persona_assets.definitions import defs; "
        "print(defs.resolve_asset_graph().get(AssetKey('persona_narratives')).code_version)"
    )

    def version(model: str | None) -> str:
        import os
        import sys

        env = {k: v for k, v in os.environ.items() if k != "SG_PERSONAS_LLM_MODEL"}
        if model:
            env["SG_PERSONAS_LLM_MODEL"] = model
        env["PYTHONPATH"] = str(ROOT)
        out = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout.strip().splitlines()[-1]

    default, other = version(None), version("openai/gpt-4o-mini")
    assert re.fullmatch(r"[0-9a-f]{16}", default) and default != other
    assert default == list_code_versions(ROOT, MODEL)["persona_narratives"]
    assert other == list_code_versions(ROOT, "openai/gpt-4o-mini")["persona_narratives"]


def test_one_policy_for_every_code_version() -> None:
    """Every ``code_version=`` in the code location comes from ``code_versions.code_version``."""
    uses = []
    for path in (ROOT / "persona_assets").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if "code_version=" in line and not line.lstrip().startswith("#"):
                uses.append((path.relative_to(ROOT).as_posix(), line.strip()))
    assert uses, "no code versions found"
    for where, line in uses:
        assert re.match(r"code_version=code_version\(", line), f"{where}: {line}"
