"""Code versions of every asset: one policy, content-derived.

An asset's ``code_version`` is a digest (``core/fingerprint.py``) of the pure modules it runs, with every module
they import (followed statically), plus the spec and data files it reads and named values (the census table's
snapshot checksum; the narrative model, the shared prompt version and the prompt profile's version). Nothing is
bumped by hand: edit a file and exactly the assets whose code reaches it get a new version, so the Dagster UI marks
them, and through their data versions everything downstream, stale. The Dagster wrappers
(``persona_assets/<stage>/assets.py``) stay thin and are not part of the digests.

Where imports are followed: a census table digests the source layer (``census_sources``: the strict loader, the
registry and every parser); every other asset digests its closure in ``persona_assets.core``. Code of
``census_sources`` that a later stage calls (e.g. the name normalisation of the privacy gate) is in every census
table's digest, and every later stage is downstream of a census table, so a change there marks it stale through
its inputs.

``tests/test_code_versions.py`` edits a file of each stage in a copy of the repository and checks which versions
change; ``tests/test_staleness.py`` shows the UI's stale status after a network-code change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from census_sources import TABLES
from persona_assets.core.fingerprint import digest_sources
from persona_assets.core.names import ENGLISH_LABELS
from persona_assets.core.narratives.places import LANDMARKS
from persona_assets.core.narratives.prompts import PROMPT_VERSION, select_profile
from persona_assets.core.paths import REPO_ROOT

NARRATIVES = "persona_narratives"
LANDMARKS_FILE = LANDMARKS.relative_to(REPO_ROOT).as_posix()


@dataclass(frozen=True)
class AssetSources:
    """What an asset's output depends on besides its inputs (those are Dagster's data versions)."""

    modules: tuple[str, ...] = ()  # pure entry modules; their imports within ``packages`` are followed
    files: tuple[str, ...] = ()  # spec and data files, relative to the repository root
    values: dict[str, str] = field(default_factory=dict)
    needs: tuple[str, ...] = ()  # values only known when the definitions load (given to ``code_version``)
    packages: tuple[str, ...] = ("persona_assets.core",)


def _census_sources(root: Path) -> dict[str, AssetSources]:
    """One entry per census table: the loader (``census_sources.snapshot``, which reaches the registry and the
    parsers) and the table's snapshot checksum from the manifest under ``root``."""
    manifest = json.loads((root / "census_sources" / "snapshot" / "manifest.json").read_text(encoding="utf-8"))
    manifest = manifest["tables"]
    return {
        f"census/{name}": AssetSources(
            modules=("census_sources.snapshot",),
            values={"snapshot_sha256": manifest[name]["sha256"]},
            packages=("census_sources",),
        )
        for name in TABLES
    }


SUITES = ("expectations/residents.json", "expectations/narratives.json", "expectations/personas_dataset.json")


@cache
def asset_sources(root: Path = REPO_ROOT) -> dict[str, AssetSources]:
    """Asset key (user string) -> what its code version digests."""
    return {
        **_census_sources(root),
        "census/planning_areas": AssetSources(modules=("persona_assets.core.census",)),
        "census/area_population": AssetSources(modules=("persona_assets.core.census",)),
        "persona_network": AssetSources(
            modules=("persona_assets.core.model.tables", "persona_assets.core.model.network")
        ),
        "fit_report": AssetSources(modules=("persona_assets.core.model.report", "persona_assets.core.model.joint")),
        "name_tokens": AssetSources(
            modules=("persona_assets.core.names",), files=(ENGLISH_LABELS.relative_to(REPO_ROOT).as_posix(),)
        ),
        "name_report": AssetSources(modules=("persona_assets.core.names",)),
        "residents": AssetSources(
            modules=("persona_assets.core.model.residents", "persona_assets.core.model.allocation")
        ),
        NARRATIVES: AssetSources(
            modules=("persona_assets.core.narratives.partition", "persona_assets.core.dataset_settings"),
            files=(LANDMARKS_FILE,),
            values={"prompt_version": PROMPT_VERSION},
            needs=("llm_model", "prompt_profile"),
        ),
        "narration_plan": AssetSources(modules=("persona_assets.core.narratives.plan",)),
        "narrative_report": AssetSources(modules=("persona_assets.core.narratives.report",), files=(LANDMARKS_FILE,)),
        "personas_candidate": AssetSources(
            modules=(
                "persona_assets.core.publish.join",
                "persona_assets.core.quality",
                "persona_assets.core.data_docs",
                "persona_assets.core.dataset_settings",
            ),
            files=SUITES,
        ),
        "personas_dataset": AssetSources(
            modules=(
                "persona_assets.core.publish.join",
                "persona_assets.core.publish.release",
                "persona_assets.core.publish.card",
            )
        ),
    }


def code_version(asset: str, root: Path = REPO_ROOT, **values: str) -> str:
    """The code version of ``asset`` (its key as a user string, e.g. ``census/respop_2025``) for the repository
    at ``root``. ``values`` supply what the asset ``needs`` (the narratives: ``llm_model`` and ``prompt_profile``,
    the profile's version string ``PromptProfile.prompt_version``)."""
    sources = asset_sources(root)[asset]
    missing = sorted(set(sources.needs) - set(values))
    if missing:
        raise ValueError(f"the code version of {asset} needs {', '.join(missing)}")
    return digest_sources(root, sources.modules, sources.files, {**sources.values, **values}, sources.packages)


def list_code_versions(root: Path = REPO_ROOT, llm_model: str = "", prompt_profile: str = "") -> dict[str, str]:
    """Every asset's code version for the repository at ``root`` (``prompt_profile``: a profile's version string;
    default: that of the profile chosen for ``llm_model``)."""
    given = {"llm_model": llm_model, "prompt_profile": prompt_profile or select_profile(llm_model).prompt_version}
    return {
        asset: code_version(asset, root, **{k: v for k, v in given.items() if k in src.needs})
        for asset, src in asset_sources(root).items()
    }
